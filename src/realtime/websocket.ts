import type { Server } from 'node:http';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { createGraphQLError, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AppConfig } from '../config/index.js';
import type { ApiKeyAuthenticator, Principal } from '../http/auth.js';
import type { RefusalReason } from '../http/connections.js';
import { scanJson, type VariableLimits } from '../http/variables.js';
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
  /**
   * GraphiQL is served. While API keys are required, a `connection_init` without a key is refused
   * (4403) unless this is true: GraphiQL opens its socket without one and sends the key with each
   * operation. Such a socket is closed (4401) unless an operation authenticated by its own key
   * starts within `authTimeoutMs`.
   */
  graphiql?: boolean;
  /** How long a socket opened without a key (GraphiQL's) has to start an authenticated operation (default 5 s). */
  authTimeoutMs?: number;
  /**
   * Bounds of an operation's variables and extensions, measured on each raw message before
   * graphql-ws parses it (the same bounds and errors as over HTTP). Unset: not measured.
   */
  variableLimits?: VariableLimits;
  /** Told of each socket refused or closed for its key (counted and logged by the caller). */
  onRefused?: (reason: RefusalReason) => void;
  /**
   * Which document each operation runs (TRUSTED_DOCUMENTS): the published text of the hash in its
   * `extensions` (with `query: ""`, since graphql-ws requires the field), or its own text when
   * allowed; it throws the typed refusal otherwise. Unset: the operation's own text.
   */
  documents?: DocumentSource;
}

/** Resolves the document an operation runs, for its caller (HTTP's persisted-operations plugin answers the same). */
export interface DocumentSource {
  documentFor(
    sent: { query?: string | null; extensions?: Record<string, unknown> | null },
    principal: Principal,
  ): Promise<string>;
}

/** The transport's limits from the app's configuration. */
export function webSocketLimits(
  config: Pick<AppConfig, 'limits' | 'graphiql' | 'connections' | 'variableLimits'>,
): WebSocketOptions {
  return {
    maxSubscriptions: config.limits.wsMaxSubscriptions,
    graphiql: config.graphiql,
    authTimeoutMs: config.connections.wsAuthTimeoutMs,
    variableLimits: config.variableLimits,
  };
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
  const onRefused = options.onRefused ?? (() => undefined);
  const { variableLimits } = options;
  // Registered before graphql-ws's own handler, so that its message listener sees only measured messages.
  wss.on('connection', (socket) => {
    cutOffWhenNotReading(socket, maxBufferedBytes, logger);
    if (variableLimits) measureMessages(socket, variableLimits);
  });
  const principals = new WeakMap<WebSocket, Principal>();
  const operations = new OperationSlots(options.maxSubscriptions ?? 100);
  const keyless = new KeylessSockets(options.authTimeoutMs ?? 5_000, () => onRefused('websocket_auth_timeout'));
  const operation: OperationDeps = { yoga, authenticator, principals, keyless, documents: options.documents };

  useServer(
    {
      execute: (args) => (args.rootValue as SubscribeRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as SubscribeRoot).subscribe(args) as never,
      onConnect: async (ctx) => {
        const authorization = authorizationOf(ctx.connectionParams);
        if (authorization === null && authenticator.requiresKey) {
          // Without GraphiQL no client of this API opens a socket without a key: one that does is
          // refused at once rather than kept alive by pings (graphql-ws closes with 4403 Forbidden).
          if (!options.graphiql) {
            onRefused('websocket_no_key');
            return false;
          }
          // GraphiQL sends no connectionParams; its operations carry the key instead (see onSubscribe).
          keyless.watch(ctx.extra.socket);
          return true;
        }
        try {
          principals.set(
            ctx.extra.socket,
            await authenticator.authenticate(authorization, ctx.extra.request.socket.remoteAddress),
          );
          return true;
        } catch {
          onRefused('websocket_bad_key');
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
  /** Sockets opened without a key, waiting for their first authenticated operation. */
  keyless: KeylessSockets;
  documents: DocumentSource | undefined;
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
  { yoga, authenticator, principals, keyless, documents }: OperationDeps,
  ctx: ConnectionContext,
  params: SubscribeParams,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  try {
    // A socket opened without a key: each operation must bring one in `extensions.headers`
    // (what GraphiQL does with its Headers editor), checked exactly like an HTTP request.
    let principal = principals.get(ctx.extra.socket);
    if (!principal) {
      principal = await authenticator.authenticate(
        authorizationOf(params.extensions?.headers as Record<string, unknown> | undefined),
        ctx.extra.request.socket.remoteAddress,
      );
      keyless.authenticated(ctx.extra.socket);
    }
    // Not `{ ...ctx, req, … }` as Yoga's graphql-ws example has it: nothing reads the connection's
    // fields from an operation's context, and with them copied in, every operation's context and its
    // property table were garbage of the old generation (143 MB per 8 s of graphql-ws load against
    // 2 MB without, V8's sampling heap profiler; its mark-compacts stalled HTTP requests for tens of
    // ms, bench/README.md "What stalled the loop").
    const enveloped = yoga.getEnveloped({
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params,
      principal,
    });
    // A hash becomes its published text before anything parses it (over HTTP, Yoga's onParams does this).
    const query = documents ? await documents.documentFor(params, principal) : params.query;
    // Parsing enforces the token and alias limits: a refused document is an error answer.
    const document = enveloped.parse(query);
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

/**
 * Sockets opened without a key (GraphiQL's, while keys are required): each is closed with 4401
 * unless an operation authenticated by its own key starts within `timeoutMs`, so that sockets
 * nobody authenticates cannot pile up, kept alive by pings, until the process runs out of files.
 * Once one operation authenticated, the socket is GraphiQL's and stays.
 */
class KeylessSockets {
  private readonly timers = new WeakMap<WebSocket, NodeJS.Timeout>();

  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: () => void,
  ) {}

  watch(socket: WebSocket): void {
    const timer = setTimeout(() => {
      this.timers.delete(socket);
      if (socket.readyState !== socket.OPEN) return;
      this.onTimeout();
      socket.close(4401, 'Unauthorized: no authenticated operation in time');
    }, this.timeoutMs);
    timer.unref();
    this.timers.set(socket, timer);
    socket.once('close', () => this.authenticated(socket));
  }

  authenticated(socket: WebSocket): void {
    clearTimeout(this.timers.get(socket));
    this.timers.delete(socket);
  }
}

/**
 * Measures each message's variables and extensions on its raw bytes before graphql-ws parses it
 * (a 256 KiB message nested 130,000 deep costs ~25-50 ms to parse). A `subscribe` past a bound is
 * answered with the operation's error, as over HTTP, and never reaches graphql-ws; any other
 * message past it (a deep `connection_init` payload) closes the socket with 4400, as graphql-ws
 * does for a message it cannot use. ws emits each message once, through `emit`: wrapping it is
 * the one place before graphql-ws's own listener that can also drop the message.
 */
function measureMessages(socket: WebSocket, limits: VariableLimits): void {
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  socket.emit = ((event: string | symbol, ...args: unknown[]) => {
    if (event !== 'message' || !(args[0] instanceof Uint8Array)) return emit(event, ...args);
    // A graphql-ws message wraps the variables in two levels: {"payload": {"variables": …}}.
    const { refusal, strings } = scanJson(args[0], limits, 2, { topLevelStrings: ['id', 'type'] });
    if (!refusal) return emit(event, ...args);
    const id = strings.type === 'subscribe' && strings.id !== undefined ? jsonString(strings.id) : undefined;
    if (id === undefined) socket.close(4400, refusal.message.slice(0, 120));
    else
      socket.send(
        JSON.stringify({
          id,
          type: 'error',
          payload: [{ message: refusal.message, extensions: { code: refusal.code } }],
        }),
      );
    return true;
  }) as WebSocket['emit'];
}

/** The value of a JSON string's raw (still escaped) content, or undefined if it is not one. */
function jsonString(raw: string): string | undefined {
  try {
    const value: unknown = JSON.parse(`"${raw}"`);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
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
