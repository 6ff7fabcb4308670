import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { createYoga, maskError, type Plugin } from 'graphql-yoga';
import { sql } from 'drizzle-orm';
import { ApiKeyAuthenticator } from './auth.js';
import type { AppConfig } from './config.js';
import type { Context } from './context.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { CheckoutRepository } from './db/repository.js';
import { CheckoutService } from './domain/checkout-service.js';
import { createLogger, type Logger } from './logger.js';
import { createProviderAdapters, sandboxedProviders } from './providers/index.js';
import { startSandboxes, type RunningSandboxes } from './providers/sandboxes.js';
import { schema } from './schema/index.js';

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
}

/** Options for tests and embedding. */
export interface BuildAppOptions {
  /** Where logs go (default stdout). */
  logDestination?: Parameters<typeof createLogger>[1];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** How long `stop()` waits for in-flight requests before cutting connections. */
const DRAIN_TIMEOUT_MS = 8_000;

/** Builds the app: database (migrated), provider sandboxes where needed, Yoga on one node:http server. */
export async function buildApp(config: AppConfig, options: BuildAppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const sandboxed = sandboxedProviders(config);
  let sandboxes: RunningSandboxes;
  try {
    sandboxes = await startSandboxes(config, sandboxed);
  } catch (error) {
    await database.close();
    throw error;
  }
  for (const [provider, url] of Object.entries(sandboxes.urls)) logger.info({ provider, url }, 'provider sandbox started');

  const repository = new CheckoutRepository(database.db);
  const service = new CheckoutService(
    repository,
    createProviderAdapters(config, sandboxes.urls),
    { sandboxed, stanCurrency: config.stan.currency },
    logger,
  );
  const authenticator = new ApiKeyAuthenticator(config.apiKeys);

  const requestIdPlugin: Plugin<Context> = {
    onResponse({ request, response }) {
      const id = requestIds.get(request);
      if (id) response.headers.set('x-request-id', id);
    },
  };
  const requestIds = new WeakMap<Request, string>();

  const yoga = createYoga<{ req: IncomingMessage; res: ServerResponse }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: config.nodeEnv !== 'production' && { title: 'Checkout graph', defaultQuery: DEFAULT_QUERY },
    // GraphiQL's assets are served from this package rather than a CDN, so it works offline.
    renderGraphiQL,
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      error: (...args) => logger.error(args.map(String).join(' ')),
    },
    maskedErrors: {
      // Unexpected errors are logged with the request id and reach clients as a bare message.
      maskError: (error, message) => {
        const masked = maskError(error, message, false);
        if (masked !== error) logger.error({ err: (error as { originalError?: unknown }).originalError ?? error }, 'unexpected error in a GraphQL operation');
        return masked;
      },
      isDev: false,
    },
    plugins: [requestIdPlugin],
    context: ({ request }): Context => {
      const headerId = request.headers.get('x-request-id');
      const requestId = headerId && REQUEST_ID.test(headerId) ? headerId : randomUUID();
      requestIds.set(request, requestId);
      const tenant = authenticator.tenantFor(request.headers.get('authorization'));
      return { tenant, requestId, logger: logger.child({ requestId, tenant }), repository, checkouts: service };
    },
  });

  const server: Server = createServer((req, res) => {
    if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD')) {
      void health(database).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
      });
      return;
    }
    void yoga.handle(req, res);
  });

  let stopping: Promise<void> | undefined;
  return {
    database,
    sandboxUrls: sandboxes.urls,
    logger,
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      logger.info({ url: `${url}/graphql`, database: database.kind }, 'checkout graph listening');
      return url;
    },
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS);
        await closed;
        clearTimeout(timer);
        await sandboxes.close();
        await database.close();
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

const DEFAULT_QUERY = /* GraphQL */ `# Start a purchase in the Smartcheckout sandbox, then refresh it until COMPLETED.
mutation Buy {
  createSmartCheckout(input: { productUrl: "https://shop.example/item?sandbox_amount=49.99", email: "ada@example.com" }) {
    __typename
    ... on CreateSmartCheckoutSuccess { checkout { id status merchant { name } } }
    ... on Error { message }
  }
}

query Recent {
  checkouts(first: 10) {
    edges { node { id provider status total { decimal currency } createdAt } }
  }
}
`;
