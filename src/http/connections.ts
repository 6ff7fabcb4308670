import { readFileSync } from 'node:fs';
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import type { AppConfig } from '../config/index.js';
import type { Logger } from '../logger.js';

/** Why a connection was refused or closed by a flood limit (the counter's `reason` label). */
export type RefusalReason =
  /** The instance held LIMIT_MAX_CONNECTIONS: closed at accept. */
  | 'instance_limit'
  /** The client address held LIMIT_MAX_CONNECTIONS_PER_ADDRESS: answered 503 and closed. */
  | 'address_limit'
  /** A WebSocket `connection_init` without a key while keys are required and GraphiQL is off (4403). */
  | 'websocket_no_key'
  /** A WebSocket `connection_init` whose key was refused (4403). */
  | 'websocket_bad_key'
  /** A WebSocket opened without a key that ran no authenticated operation in time (4401). */
  | 'websocket_auth_timeout';

/** How often, at most, refusals are logged: one summary line per interval, never one per socket. */
const LOG_INTERVAL_MS = 10_000;

/** How long a socket refused with a 503 may take to read it before it is destroyed. */
const REFUSED_GRACE_MS = 1_000;

/** Default instance limit when the open-file limit cannot be read. */
const DEFAULT_MAX_CONNECTIONS = 10_000;

/** Written on a socket refused for its address, before (and instead of) any HTTP parsing. */
const ADDRESS_LIMIT_ANSWER =
  'HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: application/json\r\n' +
  `Content-Length: ${Buffer.byteLength(addressLimitBody())}\r\n\r\n${addressLimitBody()}`;

function addressLimitBody(): string {
  return JSON.stringify({
    errors: [
      { message: 'Too many connections from this address; retry later', extensions: { code: 'TOO_MANY_CONNECTIONS' } },
    ],
  });
}

/** The soft limit of open files of this process, from /proc/self/limits (Linux); undefined elsewhere. */
export function openFileLimit(
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(read('/proc/self/limits'));
    if (!line || line[1] === 'unlimited') return undefined;
    return Number(line[1]);
  } catch {
    return undefined;
  }
}

/**
 * The instance limit: as configured, else half of the open-file limit (the other half serves the
 * database pool, Redis, provider calls, the in-process sandboxes, log and data files), at most 10,000.
 */
export function resolveMaxConnections(configured: number | undefined, fileLimit = openFileLimit()): number {
  if (configured !== undefined) return configured;
  if (fileLimit === undefined) return DEFAULT_MAX_CONNECTIONS;
  return Math.max(64, Math.min(DEFAULT_MAX_CONNECTIONS, Math.floor(fileLimit / 2)));
}

/**
 * The node:http options that end slow clients: headers and whole-request deadlines (slowloris),
 * the idle time of kept-alive connections, and a check of those deadlines every second (node checks
 * every 30 s by default, which would let a slowloris socket live up to 30 s past its deadline).
 * `requestTimeout` covers receiving the request only: an SSE answer or an upgraded WebSocket
 * outlives it (test/floods.test.ts shows an SSE stream lasting longer).
 */
export function serverOptions(config: Pick<AppConfig, 'connections'>): ServerOptions {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = config.connections;
  return {
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    connectionsCheckingInterval: 1_000,
  };
}

/** What the connection guard needs. */
export interface ConnectionGuardOptions {
  /** Open connections per instance (resolved: see `resolveMaxConnections`). */
  maxConnections: number;
  /** Open connections per client address; 0 for none. */
  maxConnectionsPerAddress: number;
  logger: Logger;
  /** Counts refusals by reason (on the app's registry). */
  refusals: Counter<'reason'>;
}

/**
 * Limits of open connections per instance and per client address on one node:http server, with
 * refusals counted and logged at most once per interval. The instance limit is node's own
 * `server.maxConnections` (closes a socket at accept, before any parsing); the per-address count is
 * written here (no maintained package does it for a bare node:http server): a socket past it gets a
 * pre-written 503 with `Retry-After` and is closed, and the request it sends is never handled.
 */
export class ConnectionGuard {
  private readonly perAddress = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();
  private readonly log: RefusalLog;

  constructor(private readonly options: ConnectionGuardOptions) {
    this.log = new RefusalLog(options.logger, {
      maxConnections: options.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress,
    });
  }

  /** The guard of an app's configuration (the instance limit resolved from the open-file limit when unset). */
  static fromConfig(
    config: Pick<AppConfig, 'connections'>,
    logger: Logger,
    refusals: Counter<'reason'>,
  ): ConnectionGuard {
    return new ConnectionGuard({
      maxConnections: resolveMaxConnections(config.connections.maxConnections),
      maxConnectionsPerAddress: config.connections.maxConnectionsPerAddress,
      logger,
      refusals,
    });
  }

  /** Applies the limits to `server`'s connections, HTTP and upgraded WebSocket alike; returns the server. */
  attach<S extends Server>(server: S): S {
    server.maxConnections = this.options.maxConnections;
    server.on('drop', () => this.refuse('instance_limit'));
    server.on('connection', (socket: Socket) => this.admit(socket));
    return server;
  }

  /** True for a socket refused for its address: its request, if it sends one, is not handled. */
  isRefused(socket: Socket): boolean {
    return this.refused.has(socket);
  }

  /** Counts and (at most once per interval) logs a refusal. */
  refuse(reason: RefusalReason): void {
    this.options.refusals.inc({ reason });
    this.log.record(reason);
  }

  /** Stops the pending log summary (the app is stopping). */
  close(): void {
    this.log.close();
  }

  private admit(socket: Socket): void {
    const limit = this.options.maxConnectionsPerAddress;
    const address = socket.remoteAddress;
    if (limit === 0 || address === undefined) return;
    const open = this.perAddress.get(address) ?? 0;
    if (open >= limit) {
      this.refused.add(socket);
      this.refuse('address_limit');
      socket.end(ADDRESS_LIMIT_ANSWER);
      // Half-closed, it waits for the client to read and close; one that never does is cut.
      setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
      return;
    }
    this.perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
  }
}

/**
 * Refusals logged as one line per interval with the counts since the last line: the first refusal
 * after a quiet interval is logged at once, the rest of a flood in one summary per interval.
 */
class RefusalLog {
  private pending = new Map<RefusalReason, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly limits: Record<string, number>,
  ) {}

  record(reason: RefusalReason): void {
    this.pending.set(reason, (this.pending.get(reason) ?? 0) + 1);
    if (this.timer) return;
    this.flush();
    this.timer = setInterval(() => {
      if (this.pending.size === 0) return this.stop();
      this.flush();
    }, LOG_INTERVAL_MS).unref();
  }

  close(): void {
    this.stop();
  }

  private flush(): void {
    const refused = Object.fromEntries(this.pending);
    this.pending = new Map();
    this.logger.warn(
      { refused, limits: this.limits, intervalMs: LOG_INTERVAL_MS },
      'connections refused by the flood limits (counts since the last line)',
    );
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
