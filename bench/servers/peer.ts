/**
 * The same Pothos schema and resolvers (src/schema/index.ts) served by a peer GraphQL server,
 * BENCH_PEER=apollo (@apollo/server 5, standalone), BENCH_PEER=mercurius (fastify 5 +
 * mercurius 16 with `jit: 1`) or BENCH_PEER=yoga (graphql-yoga 5 with its defaults and the same
 * graphql-jit plugin as ours, on node:http: what ours costs beside the framework it is built on),
 * for W1's side-by-side comparison.
 *
 * The context is built as src/app/graphql-handler.ts builds ours, from the same pieces: the same database
 * (PGlite in DATA_DIR or PostgreSQL at DATABASE_URL, migrated by openDatabase), repository,
 * checkout service with the built-in sandboxes (so the create mutations seed it), in-memory
 * pub/sub, and the same per-request checks: ApiKeyAuthenticator on `Authorization` and the
 * per-key OperationRateLimiter. What ours has and the peers do not (graphql-armor limits, query length
 * limit, Prometheus metrics, security headers, body-size check, request ids) is listed in
 * bench/README.md.
 *
 * CORS is configured on both as on ours, from CORS_ORIGINS, with the `cors` middleware Apollo's
 * standalone server uses (which allows every origin there, so Apollo is served here the way its
 * standalone server does it, with the origins configured); on fastify it runs in an onRequest hook.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { ApolloServer, HeaderMap } from '@apollo/server';
import Fastify from 'fastify';
import { createYoga } from 'graphql-yoga';
import mercurius from 'mercurius';
import { DisposalStack } from '../../src/app/disposal.js';
import { openResources } from '../../src/app/resources.js';
import { createServices } from '../../src/app/services.js';
import { loadConfig } from '../../src/config/index.js';
import type { Context } from '../../src/context.js';
import { operationContext } from '../../src/app/graphql-handler.js';
import { useJitQueries } from '../../src/app/jit.js';
import { createLogger } from '../../src/logger.js';
import { AppMetrics } from '../../src/metrics.js';
import { schema } from '../../src/schema/index.js';

const peer = process.env.BENCH_PEER;
if (peer !== 'apollo' && peer !== 'mercurius' && peer !== 'yoga')
  throw new Error('BENCH_PEER must be apollo, mercurius or yoga');

const config = loadConfig(process.env);
const logger = createLogger(config.logLevel);
const metrics = new AppMetrics();
const stack = new DisposalStack();
// The app's own resources and services (src/app/): the same database, providers, auth and rate limiter.
const resources = await openResources(config, logger, stack);
const services = createServices(config, resources, logger, metrics);
const { database } = resources;

/** Ours' context function (src/app/graphql-handler.ts), minus what is Yoga-specific. */
async function contextFor(authorization: string | undefined, address: string | undefined): Promise<Context> {
  const requestId = randomUUID();
  const principal = await services.authenticator.authenticate(authorization ?? null);
  await services.rateLimiter.check(principal.keyId ?? `address:${address ?? 'unknown'}`);
  const { tenant, scope } = principal;
  return operationContext({ logger, metrics, resources, services }, { tenant, scope, requestId });
}

/** Connect-style middleware, as `cors` and `body-parser` export them (neither ships types). */
type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
const require = createRequire(import.meta.url);
const cors = require('cors') as (options: Record<string, unknown>) => Middleware;
const bodyParser = require('body-parser') as { json(options: Record<string, unknown>): Middleware };
const corsHandler = cors({
  origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
  methods: ['GET', 'POST'],
  credentials: false,
});

let url: string;
let close: () => Promise<void>;
if (peer === 'apollo') {
  // Apollo Server caches parsed and validated documents (its documentStore) by default. Served as
  // @apollo/server/standalone serves it (cors, body-parser's JSON, executeHTTPGraphQLRequest), with
  // the configured origins instead of its fixed `cors()`.
  const server = new ApolloServer<Context>({ schema, introspection: false });
  await server.start();
  const jsonHandler = bodyParser.json({ limit: '50mb' });
  const httpServer = createServer((req, res) => {
    const fail = (error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    };
    corsHandler(req, res, (error) => {
      if (error) return fail(error);
      jsonHandler(req, res, (error) => {
        if (error) return fail(error);
        const headers = new HeaderMap();
        for (const [key, value] of Object.entries(req.headers))
          if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
        server
          .executeHTTPGraphQLRequest({
            httpGraphQLRequest: {
              method: req.method!.toUpperCase(),
              headers,
              search: new URL(req.url!, 'http://localhost').search,
              body: (req as IncomingMessage & { body?: unknown }).body,
            },
            context: () => contextFor(req.headers.authorization, req.socket.remoteAddress),
          })
          .then((response) => {
            for (const [key, value] of response.headers) res.setHeader(key, value);
            res.statusCode = response.status ?? 200;
            if (response.body.kind === 'complete') return void res.end(response.body.string);
            return fail('incremental delivery is not served here');
          })
          .catch(fail);
      });
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  close = async () => {
    await server.stop();
    await new Promise((resolve) => httpServer.close(resolve));
  };
} else if (peer === 'yoga') {
  // Yoga as its README starts it, with GraphiQL and the landing page off as in production, CORS
  // configured as on ours, and queries compiled by graphql-jit as on ours and Mercurius.
  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
    schema,
    landingPage: false,
    graphiql: false,
    cors: {
      origin: config.corsOrigins.includes('*') ? '*' : config.corsOrigins,
      methods: ['GET', 'POST'],
      credentials: false,
    },
    plugins: [useJitQueries()],
    context: ({ req }) => contextFor(req.headers.authorization, req.socket.remoteAddress),
  });
  const httpServer = createServer(yoga);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  close = async () => void (await new Promise((resolve) => httpServer.close(resolve)));
} else {
  const app = Fastify({ logger: false });
  // A preflight is answered by the middleware itself (fastify no longer owns the reply then).
  app.addHook('onRequest', (request, reply, done) => {
    if (request.method === 'OPTIONS') reply.hijack();
    corsHandler(request.raw, reply.raw, (error) => done(error as Error | undefined));
  });
  // Mercurius caches parsed and validated documents (an LRU) and, with jit: 1, compiles an
  // operation with graphql-jit from its second execution on.
  await app.register(mercurius, {
    schema,
    jit: 1,
    graphiql: false,
    path: '/graphql',
    context: (request) => contextFor(request.headers.authorization, request.socket.remoteAddress),
  });
  url = (await app.listen({ port: 0, host: '127.0.0.1' })).replace(/\/$/, '');
  close = () => app.close();
}

console.log(`READY ${JSON.stringify({ url, pid: process.pid, peer, database: database.kind })}`);
process.on('SIGTERM', () => {
  void (async () => {
    await close().catch(() => undefined);
    await stack.dispose();
    process.exit(0);
  })();
});
