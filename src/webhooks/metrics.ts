import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Webhook delivery metrics, registered on the app's registry next to AppMetrics. */
export class WebhookMetrics {
  private backlogSource: (() => Promise<number>) | undefined;

  /** Attempts by outcome: succeeded, retry (failed, tried again later), failed (given up). */
  readonly deliveries: Counter<'outcome'>;
  /** Duration of each attempt, connect to last byte. */
  readonly attemptDuration: Histogram<'outcome'>;

  constructor(registry: Registry) {
    this.deliveries = new Counter({
      name: 'checkout_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: succeeded, retry (failed; tried again later), failed (given up after the last attempt).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    this.attemptDuration = new Histogram({
      name: 'checkout_webhook_attempt_duration_seconds',
      help: 'Duration of webhook delivery attempts, connect to last byte, by outcome.',
      labelNames: ['outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    const metrics = this;
    new Gauge({
      name: 'checkout_webhook_backlog',
      help: 'Webhook deliveries waiting for an attempt (PENDING, of enabled endpoints), across instances.',
      registers: [registry],
      async collect() {
        if (metrics.backlogSource) this.set(await metrics.backlogSource().catch(() => -1));
      },
    });
  }

  /** Connects the backlog gauge to what it reads. */
  bindBacklog(source: () => Promise<number>): void {
    this.backlogSource = source;
  }
}
