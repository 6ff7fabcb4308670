import type { Server } from 'node:http';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { createGraphQLError, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiKeyAuthenticator, Principal } from '../http/auth.js';
import type { Logger } from '../logger.js';

/** Limits of the WebSocket transport. */
export interface WebSocketOptions {
  /** Largest client message; bigger ones close the socket (1009). */
  maxPayloadBytes?: number;
  /**
   * Bytes a client may leave unread in its socket's send buffer. A subscriber that stops reading
   * is cut off past this, so it can neither grow the server's memory nor hold back the others.
   */
  maxBufferedBytes?: number;
  /** Interval of the ping/pong that finds vanished clients and releases their subscriptions. */
  keepAliveMs?: number;
  /** Most operations at once on one connection; more are refused with an error. */
  maxSubscriptions?: number;
  /** How long a new socket may take to send `connection_init` before it is closed (4408). */
  connectionInitWaitTimeoutMs?: number;
}

/** The graphql-ws endpoint on the API's own server. */
export interface GraphQLWebSocket {
  /** Open sockets right now. */
  readonly clientCount: number;
  /** Closes every socket with 1001 (going away) and stops accepting new ones. */
  close(): Promise<void>;
}

interface SubscribeRoot {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

/**
 * graphql-ws (`graphql-transport-ws` protocol) on the same port and path as Yoga, running every
 * operation through Yoga's envelop so it gets the same context, auth, plugins and limits as HTTP
 * (the graphql-yoga `graphql-ws` example). The API key comes from `connectionParams.authorization`
 * and is checked once, in `onConnect` (a wrong key closes the socket with 4403). A socket opened
 * without one (GraphiQL's) must send the key with every operation, in `extensions.headers`.
 */
export function attachGraphQLWebSocket(
  server: Server,
  yoga: AnyYoga,
  authenticator: ApiKeyAuthenticator,
  logger: Logger,
  options: WebSocketOptions = {},
): GraphQLWebSocket {
  const wss = new WebSocketServer({
    server,
    path: yoga.graphqlEndpoint,
    maxPayload: options.maxPayloadBytes ?? 262_144,
  });
  const maxBufferedBytes = options.maxBufferedBytes ?? 1_048_576;
  wss.on('connection', (socket) => cutOffWhenNotReading(socket, maxBufferedBytes, logger));
  const principals = new WeakMap<WebSocket, Principal>();
  const operations = new OperationSlots(options.maxSubscriptions ?? 100);
  const operation: OperationDeps = { yoga, authenticator, principals };

  useServer(
    {
      execute: (args) => (args.rootValue as SubscribeRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as SubscribeRoot).subscribe(args) as never,
      onConnect: async (ctx) => {
        const authorization = authorizationOf(ctx.connectionParams);
        // GraphiQL sends no connectionParams; its operations carry the key instead (see onSubscribe).
        if (authorization === null && authenticator.requiresKey) return true;
        try {
          principals.set(
            ctx.extra.socket,
            await authenticator.authenticate(authorization, ctx.extra.request.socket.remoteAddress),
          );
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs ?? 3_000,
      onComplete: (ctx, id) => void operations.release(ctx.extra.socket, id),
      onError: (ctx, id) => void operations.release(ctx.extra.socket, id),
      onSubscribe: async (ctx, id, params) => {
        // The place is taken before the first await: a burst of subscribe messages cannot all pass the check.
        const refused = operations.take(ctx.extra.socket, id);
        if (refused) return [refused];
        const prepared = await prepareOperation(operation, ctx, params);
        if (Array.isArray(prepared)) operations.release(ctx.extra.socket, id);
        return prepared;
      },
    },
    wss,
    options.keepAliveMs,
  );

  return {
    get clientCount() {
      return wss.clients.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.close(1001, 'Server shutting down');
        wss.close(() => resolve());
        // Clients that do not answer the close handshake are cut after a grace period.
        setTimeout(() => {
          for (const client of wss.clients) client.terminate();
        }, 1_000).unref();
      }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the transport runs any handler; its context types do not matter here.
type AnyYoga = YogaServerInstance<any, any>;

/** What preparing one operation needs. */
interface OperationDeps {
  yoga: AnyYoga;
  authenticator: ApiKeyAuthenticator;
  /** The principal of each socket that authenticated in `connectionParams`. */
  principals: WeakMap<WebSocket, Principal>;
}

/** The graphql-ws context of one connection, as `onSubscribe` receives it. */
type ConnectionContext = Parameters<NonNullable<ServerOptions<Record<string, unknown>, Extra>['onSubscribe']>>[0];
type SubscribeParams = Parameters<NonNullable<ServerOptions<Record<string, unknown>, Extra>['onSubscribe']>>[2];

/**
 * Runs an operation's checks through Yoga's envelop, exactly as HTTP does: authentication (per
 * operation for a socket opened without a key), parse limits, the context (and its rate limit),
 * validation (armor's limits). Resolves to the execution arguments, or to the errors to answer.
 */
async function prepareOperation(
  { yoga, authenticator, principals }: OperationDeps,
  ctx: ConnectionContext,
  params: SubscribeParams,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  try {
    // A socket opened without a key: each operation must bring one in `extensions.headers`
    // (what GraphiQL does with its Headers editor), checked exactly like an HTTP request.
    const principal =
      principals.get(ctx.extra.socket) ??
      (await authenticator.authenticate(
        authorizationOf(params.extensions?.headers as Record<string, unknown> | undefined),
        ctx.extra.request.socket.remoteAddress,
      ));
    const enveloped = yoga.getEnveloped({
      ...ctx,
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params,
      principal,
    });
    // Parsing enforces the token and alias limits: a refused document is an error answer.
    const document = enveloped.parse(params.query);
    // Same context as HTTP, including its refusals (rate limit): answered as errors, not a crash.
    const contextValue = await enveloped.contextFactory();
    const args = {
      schema: enveloped.schema,
      operationName: params.operationName,
      document,
      variableValues: params.variables,
      contextValue,
      rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe } satisfies SubscribeRoot,
    };
    // graphql-armor's depth, alias, directive and cost rules throw their refusal: an error answer too.
    const errors = enveloped.validate(args.schema, args.document);
    return errors.length ? errors : args;
  } catch (error) {
    return [error as GraphQLError];
  }
}

/** The operations running on each socket, at most `max` at once. */
class OperationSlots {
  private readonly active = new WeakMap<WebSocket, Set<string>>();

  constructor(private readonly max: number) {}

  /** Takes a place for operation `id`, or returns the error refusing it. */
  take(socket: WebSocket, id: string): GraphQLError | null {
    const running = this.active.get(socket) ?? new Set<string>();
    this.active.set(socket, running);
    if (running.size >= this.max) {
      return createGraphQLError(`At most ${this.max} operations may run at once on one connection`, {
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
      });
    }
    running.add(id);
    return null;
  }

  release(socket: WebSocket, id: string): void {
    this.active.get(socket)?.delete(id);
  }
}

/**
 * A subscriber that stops reading is cut off once `maxBufferedBytes` wait in its send buffer, so
 * it can neither grow the server's memory nor hold back the others.
 */
function cutOffWhenNotReading(socket: WebSocket, maxBufferedBytes: number, logger: Logger): void {
  const send = socket.send.bind(socket);
  socket.send = ((...args: Parameters<WebSocket['send']>) => {
    if (socket.bufferedAmount > maxBufferedBytes) {
      logger.warn({ bufferedAmount: socket.bufferedAmount }, 'closing a WebSocket client that stopped reading');
      socket.terminate();
      return;
    }
    send(...args);
  }) as WebSocket['send'];
}

function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | null {
  const value = params?.authorization ?? params?.Authorization;
  return typeof value === 'string' ? value : null;
}
