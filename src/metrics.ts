import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read on each scrape. */
export interface MetricSources {
  dueBacklog: () => Promise<number>;
  breakerStates: () => Record<string, 'closed' | 'open' | 'half-open'>;
  webSocketClients: () => number;
  readModelSize: () => number;
}

/**
 * The API's own Prometheus metrics, in a registry per app (tests run many apps in one process).
 * GraphQL operation metrics come from src/app/operation-metrics.ts on the same registry.
 */
export class AppMetrics {
  readonly registry = new Registry();
  private sources: MetricSources | undefined;

  /** Status polls by provider and outcome (changed, unchanged, error). */
  readonly polls = new Counter({
    name: 'checkout_poller_polls_total',
    help: 'Status polls by provider and outcome (changed, unchanged, error).',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  /** How late a poll started after its due time. */
  readonly scheduleLag = new Histogram({
    name: 'checkout_poller_schedule_lag_seconds',
    help: 'How late each status poll started after its due time.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  /** Duration of provider calls (retries included) by provider, method and outcome. */
  readonly providerLatency = new Histogram({
    name: 'checkout_provider_request_duration_seconds',
    help: 'Duration of provider calls, retries included, by provider, method and outcome (ok, error, rejected by the open breaker).',
    labelNames: ['provider', 'method', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /** Provider answers applied with a part we could not read exactly (left null and explained in the notes). */
  readonly unreadableAnswers = new Counter({
    name: 'checkout_provider_answer_unreadable_total',
    help: 'Provider answers recorded with a part that could not be read exactly (an amount or currency), left null and explained in the checkout notes.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  /** Checkouts whose lifecycle ended without a provider answer: expired, given up polling, recorded by the merchant. */
  readonly lifecycleEnds = new Counter({
    name: 'checkout_lifecycle_ends_total',
    help: 'Checkouts ended by us rather than by a provider answer, by reason (expired, polling_given_up, merchant_outcome).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** checkoutStatusChanged streams being served, over WebSocket and SSE alike. */
  readonly openSubscriptions = new Gauge({
    name: 'checkout_open_subscriptions',
    help: 'checkoutStatusChanged subscriptions being served (graphql-ws and SSE).',
    registers: [this.registry],
  });

  /** Checkouts and merchants served from the read model (hit) or loaded from the database (miss). */
  readonly readModelLookups = new Counter({
    name: 'checkout_read_model_lookups_total',
    help: 'Checkouts and merchants the read model served from memory (hit) or loaded from the database (miss).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Entries dropped from the read model, by reason (write, capacity, bus_outage). */
  readonly readModelEvictions = new Counter({
    name: 'checkout_read_model_evictions_total',
    help: 'Entries dropped from the read model: written (here or on another instance), for capacity, or because the bus was down.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  /** Connections refused or closed by the flood limits, by reason (see RefusalReason in src/http/connections.ts). */
  readonly connectionRefusals = new Counter({
    name: 'checkout_connections_refused_total',
    help: 'Connections refused or closed by the flood limits, by reason: instance_limit, address_limit, websocket_no_key, websocket_bad_key, websocket_auth_timeout.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    const metrics = this;
    new Gauge({
      name: 'checkout_poller_due_backlog',
      help: 'Poll schedules due now and not leased by any instance.',
      registers: [this.registry],
      async collect() {
        if (metrics.sources) this.set(await metrics.sources.dueBacklog().catch(() => -1));
      },
    });
    new Gauge({
      name: 'checkout_provider_breaker_state',
      help: 'Circuit breaker state per provider: 0 closed, 1 half-open, 2 open.',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const [provider, state] of Object.entries(metrics.sources?.breakerStates() ?? {})) {
          this.set({ provider }, state === 'open' ? 2 : state === 'half-open' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'checkout_read_model_entries',
      help: 'Checkouts held in the read model.',
      registers: [this.registry],
      collect() {
        this.set(metrics.sources?.readModelSize() ?? 0);
      },
    });
    new Gauge({
      name: 'checkout_websocket_clients',
      help: 'Open graphql-ws connections.',
      registers: [this.registry],
      collect() {
        this.set(metrics.sources?.webSocketClients() ?? 0);
      },
    });
  }

  /** Connects the gauges to what they read; called once the app's parts exist. */
  bind(sources: MetricSources): void {
    this.sources = sources;
  }
}
