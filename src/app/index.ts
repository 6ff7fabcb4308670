import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import type { AppConfig } from '../config/index.js';
import type { DatabaseHandle } from '../db/client.js';
import { ConnectionGuard, serverOptions } from '../http/connections.js';
import { isLoopback } from '../http/auth.js';
import { createLogger, type Logger } from '../logger.js';
import { AppMetrics } from '../metrics.js';
import type { RunningSandboxes } from '../providers/sandboxes.js';
import { attachGraphQLWebSocket, type GraphQLWebSocket, webSocketLimits } from '../realtime/websocket.js';
import type { ExpirySweep } from '../workers/expiry.js';
import type { Maintenance } from '../workers/maintenance.js';
import type { Poller } from '../workers/poller.js';
import { listenForWrites } from '../readmodel/bus-listener.js';
import type { CheckoutReadModel } from '../readmodel/checkout-read-model.js';
import { DisposalStack } from './disposal.js';
import { createGraphQLHandler } from './graphql-handler.js';
import { createRequestFront } from './request-listener.js';
import { openResources } from './resources.js';
import { createServices } from './services.js';

/** A built application: one HTTP server carrying GraphQL (with GraphiQL), graphql-ws and /health. */
export interface App {
  /** Listens on `config.host:config.port`; resolves to the base URL, e.g. `http://127.0.0.1:4000`. */
  start(): Promise<string>;
  /** Stops taking requests, lets in-flight ones finish, then closes everything it opened, in reverse. */
  stop(): Promise<void>;
  /** The database, for tests that count statements or inspect rows. */
  readonly database: DatabaseHandle;
  /** Origins of the built-in provider sandboxes that were started. */
  readonly sandboxUrls: RunningSandboxes['urls'];
  readonly logger: Logger;
  /** Checkouts held in memory for reads. */
  readonly readModel: CheckoutReadModel;
  /** The shared status poller (started by `start()` unless POLLER=off). */
  readonly poller: Poller;
  /** Open graphql-ws sockets. */
  readonly webSocket: GraphQLWebSocket;
  /** PENDING sweep and idempotency-key pruning (runs on its own; `runOnce` for tests). */
  readonly maintenance: Maintenance;
  /** OPEN checkouts past their TTL become EXPIRED (runs on its own; `runOnce` for tests). */
  readonly expiry: ExpirySweep;
}

/** Options for tests and embedding. */
export interface BuildAppOptions {
  /** Where logs go (default stdout). */
  logDestination?: Parameters<typeof createLogger>[1];
  /** Envelop/Yoga plugins appended to the GraphQL handler's own (tests count what the one pipeline serves). */
  plugins?: Plugin[];
}

/**
 * The composition root: opens the resources, wires the services, builds the GraphQL handler and
 * the HTTP front, each step registering what it opened on one disposal stack. A failure anywhere
 * closes what was already open; `stop()` closes it all, last opened first.
 */
export async function buildApp(config: AppConfig, options: BuildAppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel, options.logDestination);
  const stack = new DisposalStack();
  try {
    const metrics = new AppMetrics();
    const resources = await openResources(config, logger, stack);
    const services = createServices(config, resources, logger, metrics);
    stack.defer('read model', listenForWrites(resources.bus, services.readModel, services.instanceId, logger));
    stack.defer('resync', () => services.resync.stop());
    stack.defer('workers', () =>
      Promise.all([
        services.poller.stop(),
        services.maintenance.stop(),
        services.expiry.stop(),
        services.webhookDispatcher.stop(),
      ]),
    );
    const yoga = createGraphQLHandler({ config, logger, metrics, resources, services }, options.plugins);
    // Floods are shed before any GraphQL work: connections per instance and per address, slow
    // requests by node:http's own deadlines, sockets without a key by the WebSocket transport.
    const connectionGuard = ConnectionGuard.fromConfig(config, logger, metrics.connectionRefusals);
    const front = createRequestFront(config, yoga, resources.database, resources.bus, connectionGuard);
    const server = connectionGuard.attach(createServer(serverOptions(config), front.listener));
    const webSocket = attachGraphQLWebSocket(server, yoga, services.authenticator, logger, {
      ...webSocketLimits(config),
      onRefused: (reason) => connectionGuard.refuse(reason),
      documents: services.documentGate,
    });
    stack.defer('http', () =>
      Promise.all([webSocket.close(), front.drain(server)]).finally(() => connectionGuard.close()),
    );
    metrics.bind({
      dueBacklog: () => services.repository.dueBacklog(),
      breakerStates: () =>
        Object.fromEntries(Object.entries(services.resilience).map(([provider, policy]) => [provider, policy.state])),
      webSocketClients: () => webSocket.clientCount,
      readModelSize: () => services.readModel.size,
    });
    let stopping: Promise<void> | undefined;
    return {
      database: resources.database,
      sandboxUrls: resources.sandboxes.urls,
      logger,
      readModel: services.readModel,
      poller: services.poller,
      webSocket,
      maintenance: services.maintenance,
      expiry: services.expiry,
      async start() {
        const { url, bound, boundAddress } = await listen(server, config);
        // Commands run beside this server find it (and their credential) in the data folder's lock file.
        await resources.database.dataDirLock?.announce({ url, operatorKey: services.operatorRunKey });
        if (config.poller) services.poller.start();
        services.maintenance.start();
        services.expiry.start();
        services.webhookDispatcher.start();
        logger.info(
          {
            address: bound,
            url: `${url}/graphql`,
            database: resources.database.kind,
            pubsub: resources.bus.kind,
            poller: config.poller,
          },
          `checkout graph listening on ${bound}`,
        );
        if (!services.authenticator.requiresKey && !isLoopback(boundAddress))
          logger.warn(
            { address: bound },
            `listening on ${bound} without API_KEYS: anyone who can reach it creates checkouts as tenant sandbox; set API_KEYS or HOST=127.0.0.1`,
          );
        return url;
      },
      stop() {
        stopping ??= stack
          .dispose((name, error) => logger.error({ err: error, resource: name }, 'could not close'))
          .then(() => logger.info('checkout graph stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await stack.dispose((name, closeError) =>
      logger.error({ err: closeError, resource: name }, 'could not close after a failed start'),
    );
    throw error;
  }
}

/**
 * Listens; returns the address actually bound (`0.0.0.0:4000` for every interface) and the base
 * URL a client on this machine uses (loopback for a wildcard host). A failure to listen (a taken
 * port) rejects with one line saying what to do.
 */
async function listen(
  server: ReturnType<typeof createServer>,
  config: AppConfig,
): Promise<{ url: string; bound: string; boundAddress: string }> {
  // The WebSocket server relays the HTTP server's errors to graphql-ws, which prints them with a
  // stack trace: while listening, the error is start-up's alone to report.
  const relays = server.rawListeners('error') as ((error: Error) => void)[];
  server.removeAllListeners('error');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, config)));
      server.listen(config.port, config.host, () => resolve());
    });
  } finally {
    server.removeAllListeners('error');
    for (const relay of relays) server.on('error', relay);
  }
  const { address, port } = server.address() as AddressInfo;
  const wildcard = address === '0.0.0.0' || address === '::';
  const host = wildcard ? '127.0.0.1' : address;
  return { url: `http://${hostPort(host, port)}`, bound: hostPort(address, port), boundAddress: address };
}

/** The listen error in words: which address, and what to change. */
function listenError(error: NodeJS.ErrnoException, config: AppConfig): Error {
  const address = hostPort(config.host, config.port);
  if (error.code === 'EADDRINUSE')
    return new Error(`${address} is already in use (EADDRINUSE): stop what listens there, or choose another PORT`);
  if (error.code === 'EACCES')
    return new Error(`${address} may not be bound by this user (EACCES): choose a PORT above 1023`);
  if (error.code === 'EADDRNOTAVAIL')
    return new Error(`${config.host} is not an address of this machine (EADDRNOTAVAIL): check HOST`);
  return error;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
