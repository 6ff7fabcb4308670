import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { AppConfig } from '../config/index.js';
import type { Context } from '../context.js';
import type { Principal } from '../http/auth.js';
import { useRateLimitHeaders } from '../http/rate-limit.js';
import { limitPlugins } from '../http/security.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics.js';
import { useSharedEventExecution } from '../realtime/shared-execution.js';
import { currentRequestId } from '../request-context.js';
import { GRAPHIQL_EXAMPLE, schema } from '../schema/index.js';
import type { Tracing } from '../telemetry.js';
import type { AppResources } from './resources.js';
import type { AppServices } from './services.js';

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
export function createGraphQLHandler({
  config,
  logger,
  metrics,
  resources,
  services,
}: GraphQLHandlerParts): GraphQLHandler {
  const rateLimitHeaders = useRateLimitHeaders(services.rateLimiter);
  return createYoga<ServerContext, Context>({
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
    plugins: graphQLPlugins(config, metrics, resources.tracing, rateLimitHeaders.plugin),
    // GraphiQL's assets are served from this package rather than a CDN, so it works offline.
    renderGraphiQL,
    logging: yogaLogging(logger),
    // Unexpected errors reach clients as a bare "Unexpected error." without stack or cause.
    maskedErrors: { isDev: false },
    context: async (initial): Promise<Context> => {
      const requestId = currentRequestId() ?? randomUUID();
      // graphql-ws checked the key in onConnect and passes the principal; HTTP sends it on every request.
      const principal =
        initial.principal ?? (await services.authenticator.authenticate(initial.request.headers.get('authorization')));
      const { tenant, scope } = principal;
      const caller = principal.keyId ?? `address:${initial.req?.socket.remoteAddress ?? 'unknown'}`;
      const decision = await services.rateLimiter.check(caller);
      // graphql-ws operations have no HTTP answer to put the headers on.
      if (initial.request) rateLimitHeaders.remember(initial.request, decision);
      return operationContext({ logger, metrics, resources, services }, { tenant, scope, requestId });
    },
  });
}

/** The context of one operation of `tenant`: the same for Yoga and for the bench's peer servers. */
export function operationContext(
  { logger, metrics, resources, services }: Omit<GraphQLHandlerParts, 'config'>,
  caller: Pick<Context, 'tenant' | 'scope' | 'requestId'>,
): Context {
  return {
    ...caller,
    logger: logger.child({ requestId: caller.requestId, tenant: caller.tenant }),
    repository: services.repository,
    reads: services.readModel,
    onResync: (listener) => services.resync.listen(listener),
    checkouts: services.checkouts,
    lifecycle: services.lifecycle,
    pubsub: resources.bus.pubsub,
    openSubscriptions: metrics.openSubscriptions,
  };
}

/** The plugins, in order: limits first, tracing, metrics, rate-limit headers, and shared subscription execution last. */
function graphQLPlugins(
  config: AppConfig,
  metrics: AppMetrics,
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
        graphql_envelop_request: true,
        graphql_envelop_request_duration: true,
        graphql_envelop_error_result: true,
        graphql_envelop_phase_execute: true,
        graphql_envelop_phase_subscribe: true,
        graphql_yoga_http_duration: true,
      },
    }),
    rateLimitHeaders,
    // Last, so its subscribe is the one used: one execution per status change and selection.
    useSharedEventExecution(),
  ];
}

/** Yoga's log lines through pino, each with the request id of its request. */
function yogaLogging(logger: Logger) {
  const line =
    (level: 'debug' | 'info' | 'warn') =>
    (...args: unknown[]) =>
      logger[level]({ requestId: currentRequestId() }, args.map(String).join(' '));
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    // Yoga calls this once for every error it masks: log the original, with the request id.
    error: (...args: unknown[]) => {
      const error = args.find((arg) => arg instanceof Error) as (Error & { originalError?: unknown }) | undefined;
      logger.error(
        { requestId: currentRequestId(), err: error?.originalError ?? error ?? args.map(String).join(' ') },
        'unexpected error in a GraphQL operation',
      );
    },
  };
}
