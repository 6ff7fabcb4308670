import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { AppConfig } from '../config/index.js';
import type { Context } from '../context.js';
import type { Principal } from '../http/auth.js';
import { type RateLimitDecision, useRateLimitHeaders } from '../http/rate-limit.js';
import { limitPlugins } from '../http/security.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics.js';
import { useSharedEventExecution } from '../realtime/shared-execution.js';
import { requestIdOf } from '../request-context.js';
import { GRAPHIQL_EXAMPLE, schema } from '../schema/index.js';
import type { Tracing } from '../telemetry.js';
import { type Admission, FastQueryPath, ValidatedQueries } from './fast-query-path.js';
import type { AppResources } from './resources.js';
import { boundedOperationMetrics } from './operation-metrics.js';
import { maskErrorTellingOutages } from './service-unavailable.js';
import type { AppServices } from './services.js';
import { useUnexpectedErrorLog } from './unexpected-errors.js';

/** What Yoga's server context carries: the Node request and response, and a principal from graphql-ws. */
export interface ServerContext {
  req: IncomingMessage;
  res: ServerResponse;
  principal?: Principal;
}

/** The GraphQL handler: Yoga with its plugins, served over HTTP, SSE and graphql-ws. */
export type GraphQLHandler = YogaServerInstance<ServerContext, Context>;

/** What the handler is built from. */
export interface GraphQLHandlerParts {
  config: AppConfig;
  logger: Logger;
  metrics: AppMetrics;
  resources: AppResources;
  services: AppServices;
}

/**
 * Builds Yoga: one operation per request, the same limits and plugins for every transport, typed
 * context per operation (tenant, scope, loaders), metrics on /metrics and masked unexpected errors.
 */
export function createGraphQLHandler(parts: GraphQLHandlerParts): {
  yoga: GraphQLHandler;
  /** Serves known queries without Yoga's per-request machinery; undefined when tracing is on or it is turned off. */
  fastPath?: FastQueryPath<Principal, RateLimitDecision>;
} {
  const { config, logger, metrics, resources, services } = parts;
  const rateLimitHeaders = useRateLimitHeaders(services.rateLimiter);
  const admissions = new RequestAdmissions(services);
  const queries = new ValidatedQueries(schema);
  const unexpectedErrors = useUnexpectedErrorLog(logger);
  const operationMetrics = boundedOperationMetrics(metrics.registry);
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.graphiql && {
      title: 'Checkout graph',
      defaultQuery: GRAPHIQL_EXAMPLE,
      subscriptionsProtocol: 'WS',
    },
    // One operation per request: a batch would multiply every per-operation limit.
    batching: false,
    cors:
      config.corsOrigins.length === 0
        ? false
        : {
            origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
            methods: ['GET', 'POST'],
            credentials: false,
          },
    plugins: [
      ...graphQLPlugins(config, metrics, operationMetrics.metrics, resources.tracing, rateLimitHeaders.plugin),
      queries.plugin(),
      unexpectedErrors.plugin,
    ],
    // The request listener bounds every body already (Content-Length, or read up to the limit);
    // Yoga's own check would wrap each body in another stream.
    maxRequestBodySize: false,
    // GraphiQL's assets are served from this package rather than a CDN, so it works offline.
    renderGraphiQL,
    logging: yogaLogging(logger, unexpectedErrors.alreadyLogged),
    // Unexpected errors reach clients as a bare "Unexpected error." without stack or cause; an
    // unreachable database as SERVICE_UNAVAILABLE (503, Retry-After), which says what to do.
    maskedErrors: { isDev: false, maskError: maskErrorTellingOutages },
    context: async (initial): Promise<Context> => {
      const requestId = requestIdOf(initial.req) ?? randomUUID();
      // graphql-ws checked the key in onConnect and passes the principal; HTTP sends it on every
      // request, and a request the fast path handed back was admitted (and counted) there already.
      const { principal, decision } =
        initial.principal || !initial.req
          ? await admission(services, initial.principal, null, undefined)
          : await admissions.admit(initial.req);
      // graphql-ws operations have no HTTP answer to put the headers on.
      if (initial.request) rateLimitHeaders.remember(initial.request, decision);
      return operationContext({ logger, metrics, resources, services }, { ...principal, requestId });
    },
  });
  return { yoga, fastPath: createFastPath(parts, admissions, queries, operationMetrics.operationName) };
}

/**
 * Admits each HTTP request once: the fast path may admit a request and then hand it to Yoga (a
 * result with errors), whose context must not authenticate and count it a second time.
 */
class RequestAdmissions {
  private readonly admitted = new WeakMap<IncomingMessage, Promise<CallerAdmission>>();

  constructor(private readonly services: AppServices) {}

  admit(req: IncomingMessage): Promise<CallerAdmission> {
    const earlier = this.admitted.get(req);
    if (earlier) return earlier;
    const authorization = req.headers.authorization ?? null;
    const admitted = admission(this.services, undefined, authorization, req.socket.remoteAddress);
    this.admitted.set(req, admitted);
    return admitted;
  }
}

/** A caller admitted to run one operation. */
type CallerAdmission = Admission<Principal, RateLimitDecision>;

/** Authenticates the caller (unless graphql-ws did) and counts the operation against its rate limit. */
async function admission(
  services: AppServices,
  known: Principal | undefined,
  authorization: string | null,
  address: string | undefined,
): Promise<CallerAdmission> {
  const principal = known ?? (await services.authenticator.authenticate(authorization, address));
  const decision = await services.rateLimiter.check(principal.keyId ?? `address:${address ?? 'unknown'}`);
  return { principal, decision };
}

/** The lean path for known queries, sharing Yoga's admissions, validated documents and metrics. */
function createFastPath(
  { config, logger, metrics, resources, services }: GraphQLHandlerParts,
  admissions: RequestAdmissions,
  queries: ValidatedQueries,
  operationName: (name: string) => string,
): FastQueryPath<Principal, RateLimitDecision> | undefined {
  // Traced operations keep Yoga's spans; the fast path has none.
  if (resources.tracing || !config.fastQueryPath) return undefined;
  return new FastQueryPath({
    queries,
    admit: (req) => admissions.admit(req),
    context: ({ tenant, scope }, requestId) =>
      operationContext({ logger, metrics, resources, services }, { tenant, scope, requestId }),
    rateLimitHeaders: (decision) => services.rateLimiter.headers(decision),
    operationName,
    registry: metrics.registry,
  });
}

/** The context of one operation of `tenant`: the same for Yoga and for the bench's peer servers. */
export function operationContext(
  { logger, metrics, resources, services }: Omit<GraphQLHandlerParts, 'config'>,
  caller: Pick<Context, 'tenant' | 'scope' | 'requestId'>,
): Context {
  let operationLogger: Logger | undefined;
  return {
    ...caller,
    // Made on first use: most operations log nothing, and a pino child per operation is not free.
    get logger() {
      operationLogger ??= logger.child({ requestId: caller.requestId, tenant: caller.tenant });
      return operationLogger;
    },
    repository: services.repository,
    reads: services.readModel,
    onResync: (listener) => services.resync.listen(listener),
    checkouts: services.checkouts,
    lifecycle: services.lifecycle,
    pubsub: resources.bus.pubsub,
    openSubscriptions: metrics.openSubscriptions,
    webhooks: services.webhooks,
    operator: services.operator,
  };
}

/** The plugins, in order: limits first, tracing, metrics, rate-limit headers, and shared subscription execution last. */
function graphQLPlugins(
  config: AppConfig,
  metrics: AppMetrics,
  operationMetrics: ReturnType<typeof boundedOperationMetrics>['metrics'],
  tracing: Tracing | undefined,
  rateLimitHeaders: ReturnType<typeof useRateLimitHeaders>['plugin'],
) {
  return [
    ...limitPlugins(config),
    ...(tracing ? [tracing.plugin] : []),
    // GraphQL operation metrics on /metrics, next to the poller's and the providers' own.
    usePrometheus({
      registry: metrics.registry,
      endpoint: '/metrics',
      metrics: {
        // What operations cost and how many fail, with a bounded number of series (operation names
        // and error paths come from clients; src/app/operation-metrics.ts); the per-phase histograms
        // and the deprecated-field counter (a document walk per request) are left off, as they cost
        // more than they tell.
        ...operationMetrics,
        graphql_envelop_deprecated_field: false,
        graphql_envelop_schema_change: false,
      },
    }),
    rateLimitHeaders,
    // Last, so its subscribe is the one used: one execution per status change and selection.
    useSharedEventExecution(),
  ];
}

/** Yoga's log lines through pino; unexpected errors of operations are logged (with the request id) before it sees them. */
function yogaLogging(logger: Logger, alreadyLogged: (error: unknown) => boolean) {
  const line =
    (level: 'debug' | 'info' | 'warn') =>
    (...args: unknown[]) =>
      logger[level](args.map(String).join(' '));
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    // Yoga calls this once for every error it masks; the ones from outside an operation (the
    // context factory, a request Yoga could not parse) are logged here, without a request id.
    error: (...args: unknown[]) => {
      const error = args.find((arg) => arg instanceof Error) as (Error & { originalError?: unknown }) | undefined;
      if (error && alreadyLogged(error)) return;
      logger.error(
        { err: error?.originalError ?? error ?? args.map(String).join(' ') },
        'unexpected error in a GraphQL operation',
      );
    },
  };
}
