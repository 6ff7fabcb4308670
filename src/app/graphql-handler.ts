import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contextCacheSymbol } from '@pothos/core';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { AppConfig } from '../config/index.js';
import type { Context } from '../context.js';
import type { Principal } from '../http/auth.js';
import { useRateLimitHeaders } from '../http/rate-limit.js';
import { limitPlugins } from '../http/security.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics.js';
import { useSharedEventExecution } from '../realtime/shared-execution.js';
import { requestIdOf } from '../request-context.js';
import { GRAPHIQL_EXAMPLE, schema } from '../schema/index.js';
import type { Tracing } from '../telemetry.js';
import { useJitQueries } from './jit.js';
import type { AppResources } from './resources.js';
import { useOperationMetrics } from './operation-metrics.js';
import { maskErrorTellingOutages } from './service-unavailable.js';
import type { AppServices } from './services.js';
import { useTrustedDocuments } from './trusted-documents.js';
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

/** Documents Yoga keeps parsed, and validation results it keeps per parsed document (an LRU each, 1 h at most). */
const PARSED_DOCUMENTS = 1_000;

/**
 * Builds Yoga: one operation per request, the same limits and plugins for every transport, typed
 * context per operation (tenant, scope, loaders), metrics on /metrics and masked unexpected errors.
 * Every request of every shape (JSON or GET, any Accept, with or without an Origin) and every
 * graphql-ws operation goes through this one plugin chain; `plugins` are appended to it (tests
 * count what it serves).
 */
export function createGraphQLHandler(parts: GraphQLHandlerParts, plugins: Plugin[] = []): GraphQLHandler {
  const { config, logger, metrics, resources, services } = parts;
  const rateLimitHeaders = useRateLimitHeaders(services.rateLimiter);
  const unexpectedErrors = useUnexpectedErrorLog(logger);
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
            // Browsers may keep a preflight's answer this long (Chromium up to 2 h, Firefox 24 h);
            // without it they ask again every 5 s, a second request for most of a page's queries.
            maxAge: CORS_PREFLIGHT_MAX_AGE_S,
          },
    // Refused with 415 by the request listener before Yoga sees it: no parser to consult for every POST.
    multipart: false,
    plugins: [
      // First, so that every limit checks the published text a hash stands for.
      ...useTrustedDocuments(services.documentGate, services.authenticator),
      ...graphQLPlugins(config, metrics, resources.tracing, rateLimitHeaders.plugin),
      unexpectedErrors.plugin,
      ...plugins,
    ],
    // A source text is parsed once and a parsed document validated once (with every limit rule),
    // for the last PARSED_DOCUMENTS documents; refused sources are remembered too, so a client
    // repeating a bad document costs a lookup. Documents are at most LIMIT_MAX_QUERY_CHARS long.
    parserAndValidationCache: {
      documentCache: new LRUCache({ max: PARSED_DOCUMENTS, ttl: HOUR_MS }),
      errorCache: new LRUCache({ max: PARSED_DOCUMENTS, ttl: HOUR_MS }),
      validationCache: true,
    },
    // The request listener bounds every body already (Content-Length, or read up to the limit);
    // Yoga's own check would wrap each body in another stream.
    maxRequestBodySize: false,
    // GraphiQL's assets are served from this package rather than a CDN, so it works offline.
    // Imported on the first page asked for: the package is ~33 MB of heap and ~0.65 s of start-up,
    // which an API with GRAPHIQL=off (production) would otherwise pay for nothing.
    renderGraphiQL: (options) =>
      import('@graphql-yoga/render-graphiql').then(({ renderGraphiQL }) => renderGraphiQL(options)),
    logging: yogaLogging(logger, unexpectedErrors.alreadyLogged),
    // Unexpected errors reach clients as a bare "Unexpected error." without stack or cause; an
    // unreachable database as SERVICE_UNAVAILABLE (503, Retry-After), which says what to do.
    maskedErrors: { isDev: false, maskError: maskErrorTellingOutages },
    context: async (initial): Promise<Context> => {
      const requestId = requestIdOf(initial.req) ?? randomUUID();
      // graphql-ws checked the key in onConnect and passes the principal; HTTP sends it on every request.
      const address = initial.principal ? undefined : initial.req?.socket.remoteAddress;
      const principal =
        initial.principal ??
        (await services.authenticator.authenticate(initial.req?.headers.authorization ?? null, address));
      const decision = await services.rateLimiter.check(principal.keyId ?? `address:${address ?? 'unknown'}`);
      // graphql-ws operations have no HTTP answer to put the headers on.
      if (initial.request) rateLimitHeaders.remember(initial.request, decision);
      const { tenant, scope } = principal;
      return operationContext({ logger, metrics, resources, services }, { tenant, scope, requestId });
    },
  });
}

const HOUR_MS = 3_600_000;
/** How long (seconds) a browser may reuse a CORS preflight's answer. */
const CORS_PREFLIGHT_MAX_AGE_S = 600;

/**
 * The context of one operation of `caller`: the same for Yoga and for the bench's peer servers.
 * Built as one literal without spreads or getters: on Node 20, `{ ...caller, a, b, … }` and
 * accessors in a literal make a slow-mode object (~14 µs and ~6 µs per request measured, against
 * ~1 µs for this literal and 0.3 µs for the pino child).
 */
export function operationContext(
  { logger, metrics, resources, services }: Omit<GraphQLHandlerParts, 'config'>,
  { tenant, scope, requestId }: Pick<Context, 'tenant' | 'scope' | 'requestId'>,
): Context {
  return {
    // Pothos keeps each operation's DataLoaders on this object (patches/README.md), so they go with
    // the context instead of becoming WeakMap entries that outlive it in the young generation.
    [contextCacheSymbol]: {},
    tenant,
    scope,
    requestId,
    logger: logger.child({ requestId, tenant }),
    queries: services.queries,
    reads: services.readModel,
    onResync: (listener) => services.resync.listen(listener),
    checkouts: services.checkouts,
    lifecycle: services.lifecycle,
    pubsub: resources.bus.pubsub,
    openSubscriptions: metrics.openSubscriptions,
    webhooks: services.webhooks,
    operator: services.operator,
    documents: services.documents,
  };
}

/** The plugins, in order: limits first, tracing, graphql-jit, metrics, rate-limit headers, and shared subscription execution last. */
function graphQLPlugins(
  config: AppConfig,
  metrics: AppMetrics,
  tracing: Tracing | undefined,
  rateLimitHeaders: ReturnType<typeof useRateLimitHeaders>['plugin'],
) {
  return [
    ...limitPlugins(config),
    ...(tracing ? [tracing.plugin] : []),
    // Queries compiled by graphql-jit where it answers as graphql-js does (src/app/jit.ts).
    useJitQueries(),
    // GraphQL operation metrics on /metrics, next to the poller's and the providers' own.
    useOperationMetrics(metrics.registry),
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
