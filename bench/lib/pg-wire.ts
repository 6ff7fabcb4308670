/**
 * Counting what a process asks of PostgreSQL, from the frontend protocol messages it sends
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html): a simple Query ('Q'),
 * or the extended protocol's Parse ('P') / Bind ('B') / Execute ('E') / Sync ('S'). Each Execute
 * and each simple Query is one statement run (a simple Query of several `;`-separated statements
 * counts as one: none of the measured code sends one); BEGIN/COMMIT/ROLLBACK are told apart by
 * their text, so transactions are counted too, explicit ones and statements run outside any
 * (autocommit: a transaction of their own).
 *
 * Two feeds use it: a TCP proxy in front of PostgreSQL (`startCountingProxy`, every byte the
 * server receives) and, for PGlite, a wrapper of `PGlite.prototype.execProtocolStream`
 * (bench/lib/pglite-wire-count.ts), through which PGlite's query/exec/transaction send the same
 * messages into its WASM backend.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** One statement run, as the server received it. */
export interface WireStatement {
  /** Which connection sent it (the proxy numbers them from 1; PGlite has one). */
  connection: number;
  /** Received at, ms (performance.now() of the counting process). */
  at: number;
  /** 'simple' for a Query message, 'extended' for an Execute. */
  protocol: 'simple' | 'extended';
  /** Whether a Parse of it came with this run (false: a named prepared statement reused). */
  parsed: boolean;
  /** Name of the prepared statement ('' unnamed). */
  name: string;
  text: string;
}

/** Statement runs and round trips, summed. */
export interface WireCounts {
  /** Statements other than transaction control. */
  statements: number;
  /** BEGIN / COMMIT / ROLLBACK / SAVEPOINT / RELEASE runs. */
  transactionControl: number;
  /** Explicit transactions (BEGIN) plus statements run outside any (each its own transaction). */
  transactions: number;
  /** Parse messages: statements the server had to parse and plan afresh. */
  parses: number;
  /** Sync and simple Query messages: on PostgreSQL each is one wait for the server. */
  roundTrips: number;
  /** Every frontend message (on PGlite each is one call into its WASM backend). */
  messages: number;
}

const TRANSACTION_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release)\b/i;
const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const END = /^\s*(commit|end|rollback|abort)\b/i;

/** True for BEGIN/COMMIT/ROLLBACK and savepoints. */
export function isTransactionControl(text: string): boolean {
  return TRANSACTION_CONTROL.test(text);
}

/** Everything one or more connections sent, until reset. */
export class WireLog {
  statements: WireStatement[] = [];
  parses = 0;
  roundTrips = 0;
  messages = 0;
  /** Transactions begun (BEGIN, or a statement outside any transaction) since the last reset. */
  transactions = 0;
  private nextConnection = 1;

  /** A parser for one connection's byte stream; `startup` false when there is no startup packet (PGlite). */
  connection(options: { startup: boolean }): FrontendParser {
    return new FrontendParser(this, this.nextConnection++, options.startup);
  }

  reset(): void {
    this.statements = [];
    this.parses = 0;
    this.roundTrips = 0;
    this.messages = 0;
    this.transactions = 0;
  }

  counts(): WireCounts {
    const transactionControl = this.statements.filter((s) => isTransactionControl(s.text)).length;
    return {
      statements: this.statements.length - transactionControl,
      transactionControl,
      transactions: this.transactions,
      parses: this.parses,
      roundTrips: this.roundTrips,
      messages: this.messages,
    };
  }
}

/** Reads one connection's frontend messages as they arrive, in any chunking. */
export class FrontendParser {
  private buffer = Buffer.alloc(0);
  private started: boolean;
  private readonly prepared = new Map<string, string>();
  private readonly portals = new Map<string, string>();
  private parsedSinceSync = new Set<string>();
  private inTransaction = false;

  constructor(
    private readonly log: WireLog,
    private readonly id: number,
    startup: boolean,
  ) {
    this.started = !startup;
  }

  feed(chunk: Uint8Array): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : Buffer.from(chunk);
    for (;;) {
      if (!this.started) {
        // Startup, SSLRequest, GSSENCRequest or CancelRequest: length, then a code, no type byte.
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = this.buffer.readInt32BE(4);
        this.buffer = this.buffer.subarray(length);
        if (code === 196_608) this.started = true; // protocol 3.0: typed messages follow
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      const type = String.fromCharCode(this.buffer[0]!);
      const body = this.buffer.subarray(5, 1 + length);
      this.buffer = this.buffer.subarray(1 + length);
      this.message(type, body);
    }
  }

  private message(type: string, body: Buffer): void {
    this.log.messages++;
    switch (type) {
      case 'Q': {
        this.log.roundTrips++;
        this.statement('simple', '', cstring(body, 0).value, true);
        return;
      }
      case 'P': {
        const name = cstring(body, 0);
        const text = cstring(body, name.next);
        this.prepared.set(name.value, text.value);
        this.parsedSinceSync.add(name.value);
        this.log.parses++;
        return;
      }
      case 'B': {
        const portal = cstring(body, 0);
        const statement = cstring(body, portal.next);
        this.portals.set(portal.value, statement.value);
        return;
      }
      case 'E': {
        const name = this.portals.get(cstring(body, 0).value) ?? '';
        this.statement('extended', name, this.prepared.get(name) ?? '?', this.parsedSinceSync.has(name));
        return;
      }
      case 'S':
        this.log.roundTrips++;
        this.parsedSinceSync = new Set();
        return;
      case 'C': {
        // Close of a statement ('S') or portal ('P').
        const name = cstring(body, 1).value;
        if (body[0] === 0x53) this.prepared.delete(name);
        else this.portals.delete(name);
        return;
      }
      default:
        return;
    }
  }

  private statement(protocol: WireStatement['protocol'], name: string, text: string, parsed: boolean): void {
    this.log.statements.push({ connection: this.id, at: performance.now(), protocol, parsed, name, text });
    if (BEGIN.test(text)) {
      this.inTransaction = true;
      this.log.transactions++;
    } else if (END.test(text)) {
      this.inTransaction = false;
    } else if (!this.inTransaction) {
      this.log.transactions++;
    }
  }
}

function cstring(buffer: Buffer, start: number): { value: string; next: number } {
  const end = buffer.indexOf(0, start);
  const stop = end === -1 ? buffer.length : end;
  return { value: buffer.toString('utf8', start, stop), next: stop + 1 };
}

/** A TCP proxy in front of PostgreSQL that logs what every client connection sends. */
export interface CountingProxy {
  /** Where clients connect instead of the server. */
  port: number;
  log: WireLog;
  close(): Promise<void>;
}

/** Starts a counting proxy on 127.0.0.1 (a free port) to `target`. */
export async function startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  const log = new WireLog();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    const parser = log.connection({ startup: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('data', (chunk: Buffer) => parser.feed(chunk));
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
