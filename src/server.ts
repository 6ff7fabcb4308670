import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga } from 'graphql-yoga';
import { sql } from 'drizzle-orm';
import { ApiKeyAuthenticator, type Principal } from './auth.js';
import { ApiKeyRepository } from './db/api-keys.js';
import type { AppConfig } from './config.js';
import type { Context } from './context.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { CheckoutRepository } from './db/repository.js';
import { CheckoutService } from './domain/checkout-service.js';
import { CheckoutLifecycle } from './domain/lifecycle.js';
import { Maintenance } from './domain/maintenance.js';
import { createLogger, type Logger } from './logger.js';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { AppMetrics } from './metrics.js';
import { createProviderAdapters, createResilience, hasStatusEndpoint, sandboxedProviders, testModeProviders } from './providers/index.js';
import { startSandboxes, type RunningSandboxes } from './providers/sandboxes.js';
import { Poller } from './realtime/poller.js';
import { createRealtimeBus, type RealtimeBus } from './realtime/pubsub.js';
import { useSharedEventExecution } from './realtime/shared-execution.js';
import { currentRequestId, requestIdFrom, runWithRequestId } from './request-context.js';
import { attachGraphQLWebSocket, type GraphQLWebSocket } from './realtime/websocket.js';
import { schema } from './schema/index.js';
import { bodyTooLarge, limitPlugins, malformedGetParameter, RateLimiter, setSecurityHeaders } from './security.js';
import { startTracing } from './telemetry.js';

/** A built application: one HTTP server carrying GraphQL (with GraphiQL) and /health. */
export interface App {
  /** Listens on `config.host:config.port`; resolves to the base URL, e.g. `http://127.0.0.1:4000`. */
  start(): Promise<string>;
  /** Stops taking requests, lets in-flight ones finish, then closes the database and sandboxes. */
  stop(): Promise<void>;
  /** The database, for tests that count statements or inspect rows. */
  readonly database: DatabaseHandle;
  /** Origins of the built-in provider sandboxes that were started. */
  readonly sandboxUrls: RunningSandboxes['urls'];
  readonly logger: Logger;
  /** The shared status poller (started by `start()` unless POLLER=off). */
  readonly poller: Poller;
  /** Open graphql-ws sockets. */
  readonly webSocket: GraphQLWebSocket;
  /** PENDING and OPEN sweeps and idempotency-key pruning (runs on its own; `runOnce` for tests). */
  readonly maintenance: Maintenance;
}

/** Options for tests and embedding. */
export interface BuildAppOptions {
  /** Where logs go (default stdout). */
  logDestination?: Parameters<typeof createLogger>[1];
}

/** How long `stop()` waits for in-flight requests before cutting connections. */
const DRAIN_TIMEOUT_MS = 8_000;

/** Builds the app: database (migrated), provider sandboxes where needed, Yoga on one node:http server. */
export async function buildApp(config: AppConfig, options: BuildAppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    onIdleConnectionError: (error) => logger.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool replaces it'),
  });
  const sandboxed = sandboxedProviders(config);
  let sandboxes: RunningSandboxes;
  try {
    sandboxes = await startSandboxes(config, sandboxed, { faults: config.sandboxFaults });
  } catch (error) {
    await database.close();
    throw error;
  }
  for (const [provider, url] of Object.entries(sandboxes.urls)) logger.info({ provider, url }, 'provider sandbox started');

  let bus: RealtimeBus;
  try {
    bus = await createRealtimeBus(config.redisUrl);
  } catch (error) {
    await sandboxes.close();
    await database.close();
    throw error;
  }
  const { pubsub } = bus;

  const repository = new CheckoutRepository(database.db);
  const metrics = new AppMetrics();
  const tracing = config.tracing ? startTracing(config.tracing) : undefined;
  const providerLogger = logger.child({ component: 'provider' });
  const resilience = createResilience(config, (provider, method, outcome, seconds) => {
    metrics.providerLatency.observe({ provider, method, outcome }, seconds);
    // One line per provider call, carrying the id of the request (or poll) that made it.
    providerLogger.info({ requestId: currentRequestId(), provider, method, outcome, durationMs: Math.round(seconds * 1000) }, 'provider call');
  });
  const adapters = createProviderAdapters(config, sandboxes.urls, resilience);
  const lifecycle = new CheckoutLifecycle({
    repository,
    pubsub,
    isPolled: hasStatusEndpoint,
    logger: logger.child({ component: 'lifecycle' }),
    metrics,
  });
  const service = new CheckoutService(
    repository,
    adapters,
    { lifecycle, testModeProviders: testModeProviders(config), stanCurrency: config.stan.currency, pollIntervalMs: config.pollIntervalMs },
    logger,
  );
  const authenticator = new ApiKeyAuthenticator({
    bootstrapKeys: config.apiKeys,
    store: new ApiKeyRepository(database.db),
    requireKey: config.apiKeys !== undefined || config.nodeEnv === 'production',
  });
  const maintenance = new Maintenance(repository, lifecycle, logger.child({ component: 'maintenance' }), {
    pendingGraceMs: config.pendingGraceMs,
    idempotencyKeyTtlHours: config.idempotencyKeyTtlHours,
    openTtlSeconds: config.checkoutOpenTtlSeconds,
  });
  const rateLimiter = new RateLimiter(config.limits.ratePerMinute);
  const instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const poller = new Poller(repository, service, lifecycle, logger.child({ component: 'poller', instanceId }), {
    instanceId,
    maxAnswerErrors: config.pollMaxAnswerErrors,
    intervalMs: config.pollIntervalMs,
    maxIntervalMs: config.pollMaxIntervalMs,
    concurrency: config.pollConcurrency,
    leaseMs: config.providerTimeoutMs + 5_000,
    metrics,
  });

  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse; principal?: Principal }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.graphiql && { title: 'Checkout graph', defaultQuery: DEFAULT_QUERY, subscriptionsProtocol: 'WS' },
    // One operation per request: a batch would multiply every per-operation limit.
    batching: false,
    cors: config.corsOrigins.length === 0 ? false : { origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins, methods: ['GET', 'POST'], credentials: false },
    plugins: [
      ...limitPlugins(config),
      ...(tracing ? [tracing.plugin] : []),
      // GraphQL operation metrics on /metrics, next to the poller's and the providers' own.
      usePrometheus({
        registry: metrics.registry,
        endpoint: '/metrics',
        metrics: {
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_error_result: true,
          graphql_envelop_phase_execute: true,
          graphql_envelop_phase_subscribe: true,
          graphql_yoga_http_duration: true,
        },
      }),
      // Last, so its subscribe is the one used: one execution per status change and selection.
      useSharedEventExecution(),
    ],
    // GraphiQL's assets are served from this package rather than a CDN, so it works offline.
    renderGraphiQL,
    logging: {
      debug: (...args) => logger.debug({ requestId: currentRequestId() }, args.map(String).join(' ')),
      info: (...args) => logger.info({ requestId: currentRequestId() }, args.map(String).join(' ')),
      warn: (...args) => logger.warn({ requestId: currentRequestId() }, args.map(String).join(' ')),
      // Yoga calls this once for every error it masks: log the original, with the request id.
      error: (...args) => {
        const error = args.find((arg) => arg instanceof Error) as (Error & { originalError?: unknown }) | undefined;
        logger.error(
          { requestId: currentRequestId(), err: error?.originalError ?? error ?? args.map(String).join(' ') },
          'unexpected error in a GraphQL operation',
        );
      },
    },
    // Unexpected errors reach clients as a bare "Unexpected error." without stack or cause.
    maskedErrors: { isDev: false },
    context: async (initial): Promise<Context> => {
      const requestId = currentRequestId() ?? randomUUID();
      // graphql-ws checked the key in onConnect and passes the principal; HTTP sends it on every request.
      const principal = initial.principal ?? (await authenticator.authenticate(initial.request.headers.get('authorization')));
      const { tenant, scope } = principal;
      rateLimiter.check(principal.keyId ?? `address:${initial.req?.socket.remoteAddress ?? 'unknown'}`);
      return { tenant, scope, requestId, logger: logger.child({ requestId, tenant }), repository, checkouts: service, lifecycle, pubsub, openSubscriptions: metrics.openSubscriptions };
    },
  });

  // While stopping, no new work starts: requests that arrive on kept-alive connections get a 503
  // (a create would otherwise reach the provider after the stop began), and every answer closes its
  // connection so that idle sockets do not hold the shutdown.
  let draining = false;
  const inFlight = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    setSecurityHeaders(res);
    const oversized = bodyTooLarge(req, config.limits.maxBodyBytes);
    if (oversized) {
      res.writeHead(oversized === 'too-large' ? 413 : 411, { 'content-type': 'application/json', connection: 'close' });
      res.end(
        JSON.stringify({
          errors: [
            oversized === 'too-large'
              ? { message: `The request body is larger than ${config.limits.maxBodyBytes} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }
              : { message: 'A POST needs a Content-Length header', extensions: { code: 'LENGTH_REQUIRED' } },
          ],
        }),
      );
      return;
    }
    const malformed = malformedGetParameter(req);
    if (malformed) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: `The ${malformed} parameter is not valid JSON`, extensions: { code: 'BAD_REQUEST' } }] }));
      return;
    }
    if (draining) {
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close', 'retry-after': '1' });
      res.end(JSON.stringify({ errors: [{ message: 'The server is shutting down; retry the request', extensions: { code: 'SHUTTING_DOWN' } }] }));
      return;
    }
    inFlight.add(res);
    res.on('close', () => {
      inFlight.delete(res);
      if (draining) server.closeIdleConnections();
    });
    if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      void health(database).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
      });
      return;
    }
    // The request id is fixed before Yoga runs, so it is echoed on every answer (even one that
    // fails validation) and reaches every log line of the request through async context.
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    void runWithRequestId(requestId, () => yoga.handle(req, res));
  });

  const webSocket = attachGraphQLWebSocket(server, yoga, authenticator, logger, { maxSubscriptions: config.limits.wsMaxSubscriptions });
  metrics.bind({
    dueBacklog: () => repository.dueBacklog(),
    breakerStates: () => Object.fromEntries(Object.entries(resilience).map(([provider, policy]) => [provider, policy.state])),
    webSocketClients: () => webSocket.clientCount,
  });

  let stopping: Promise<void> | undefined;
  return {
    database,
    sandboxUrls: sandboxes.urls,
    logger,
    poller,
    webSocket,
    maintenance,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (config.poller) poller.start();
      maintenance.start();
      logger.info({ url: `${url}/graphql`, database: database.kind, pubsub: bus.kind, poller: config.poller }, 'checkout graph listening');
      return url;
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
        await Promise.all([webSocket.close(), poller.stop(), maintenance.stop()]);
        await closed;
        clearTimeout(timer);
        await bus.close();
        await sandboxes.close();
        await database.close();
        // Last, so that the spans of the operations that drained are exported too.
        await tracing?.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last traces'));
        logger.info('checkout graph stopped');
      })();
      return stopping;
    },
  };
}

async function health(database: DatabaseHandle): Promise<{ status: number; body: unknown }> {
  try {
    await database.db.execute(sql`select 1`);
    return { status: 200, body: { status: 'ok', database: database.kind } };
  } catch {
    return { status: 503, body: { status: 'unavailable', database: database.kind } };
  }
}

const DEFAULT_QUERY = /* GraphQL */ `# Start a purchase in the Smartcheckout sandbox, then watch it until COMPLETED:
# run Buy, copy the checkout id into Watch, run Watch (it streams over WebSocket).
mutation Buy {
  createSmartCheckout(input: { productUrl: "https://shop.example/item?sandbox_amount=49.99", email: "ada@example.com" }) {
    __typename
    ... on CreateSmartCheckoutSuccess { checkout { id status merchant { name } } }
    ... on Error { message }
  }
}

subscription Watch {
  checkoutStatusChanged(id: "<checkout id>") { status total { decimal currency } notes }
}

query Recent {
  checkouts(first: 10) {
    edges { node { id provider status total { decimal currency } createdAt } }
  }
}
`;
