import fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { Logger as DrizzleLogger } from 'drizzle-orm/logger';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { isInMemoryDataDir, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { isNewDataFolder, type NewDataFolderSource, seedFromTemplate } from './embedded-template.js';
import { pgliteRunner, postgresRunner, registerPreparedRunner } from './prepared.js';
import * as schema from './schema.js';
import { EmbeddedDatabaseFailedError, isDiskWriteFailure } from './unavailable.js';

/** The Drizzle database, whichever driver is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An open database plus what tests and operators need to know about it. */
export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  /** Number of SQL statements sent so far (transaction control excluded); used to prove batching. */
  readonly statementCount: number;
  /** The data folder's lock, held while PGlite has a folder on disk open (undefined otherwise). */
  readonly dataDirLock?: DataDirLock;
  /**
   * PGlite on a folder that held no database: how it got one, copied from the template (fast) or
   * created in place by initdb (src/db/embedded-template.ts). Undefined for an existing folder.
   */
  readonly newDataFolder?: NewDataFolderSource;
  /**
   * Resolves when the database can serve, throws when it cannot: a statement fails (PostgreSQL
   * unreachable, PGlite failed), or PGlite's disk refused a write and still refuses one (what
   * `/health` reports).
   */
  check(): Promise<void>;
  /**
   * PGlite only: settles (with the PANIC) once the embedded engine stopped for good after a failed
   * WAL write. Every later statement is refused with EmbeddedDatabaseFailedError; only a new
   * process can open the folder again (it replays the WAL), so the server exits.
   */
  readonly failure?: Promise<EmbeddedDatabaseFailedError>;
  close(): Promise<void>;
}

/** Where the data lives: PostgreSQL when `databaseUrl` is set, otherwise PGlite in `dataDir`. */
export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  /**
   * Told about errors of idle PostgreSQL connections (server restart, terminated backend). Without
   * a listener such an error would crash the process; the pool replaces the connection by itself.
   */
  onIdleConnectionError?: (error: Error) => void;
  /** Who opens a PGlite folder (`server`, or a command's name), written into its lock file. */
  role?: string;
  /**
   * PGlite with a folder on disk: told when a statement failed to write the disk (full, failing,
   * read-only), once per fault; the disk is then probed every second until it takes a write.
   */
  onDiskWriteFailure?: (error: Error) => void;
  /** Told when the probe wrote the disk again after onDiskWriteFailure (`downForMs` since the fault). */
  onDiskWritable?: (downForMs: number) => void;
}

const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));
/** Serialises migrations of several instances starting at once against one PostgreSQL. */
const MIGRATION_LOCK_ID = 727_274_001;

/** Opens the database and applies the migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  let statementCount = 0;
  const logger: DrizzleLogger = { logQuery: () => void statementCount++ };
  if (options.databaseUrl) {
    // A statement waiting for a connection fails after 10 s instead of waiting for ever: an
    // unreachable server, or a pool ended under it, must not hold a request or a worker's stop.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10, connectionTimeoutMillis: 10_000 });
    pool.on('error', (error) => options.onIdleConnectionError?.(error));
    const client = await pool.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
      await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
      client.release();
    }
    const db = drizzlePg(pool, { schema, logger });
    registerPreparedRunner(
      db,
      postgresRunner(pool, () => void statementCount++),
    );
    return handle(db, 'postgres', () => pool.end(), selectOne(db));
  }
  // A folder on disk is locked before PGlite reads it, so a second process fails before it can
  // overwrite anything (DataDirLockedError names the holder).
  const lock = isInMemoryDataDir(options.dataDir)
    ? undefined
    : await lockDataDir(options.dataDir, options.role ?? 'server');
  let client: PGlite | undefined;
  try {
    const newDataFolder = await seedNewFolder(lock);
    client = await PGlite.create(options.dataDir);
    const guard = guardEmbedded(client, lock ? join(lock.dataDir, DISK_PROBE_FILE_NAME) : undefined, options);
    const db = drizzlePglite(client, { schema, logger });
    registerPreparedRunner(
      db,
      pgliteRunner(client, () => void statementCount++),
    );
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    // Migrations ran through the counting logger; the count starts with the application's work.
    statementCount = 0;
    const opened = client;
    const check = selectOne(db);
    return handle(
      db,
      'pglite',
      // A PGlite that panicked is not entered again, not even to close it (its next call may never
      // return): the process that holds it exits, and the OS frees its memory and files.
      () => {
        guard.stop();
        return (guard.failed ? Promise.resolve() : opened.close()).finally(() => lock?.release());
      },
      async () => {
        guard.throwIfUnavailable();
        await check();
      },
      lock,
      { failure: guard.failure, newDataFolder },
    );
  } catch (error) {
    await client?.close().catch(() => undefined);
    await lock?.release();
    throw error;
  }

  function handle(
    db: Database,
    kind: DatabaseHandle['kind'],
    closeOnce: () => Promise<void>,
    check: () => Promise<void>,
    dataDirLock?: DataDirLock,
    embedded: Pick<DatabaseHandle, 'failure' | 'newDataFolder'> = {},
  ): DatabaseHandle {
    // Closing twice (a test that breaks the database, then stops the app) waits for the first close.
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= closeOnce();
      return closing;
    };
    return {
      db,
      kind,
      get statementCount() {
        return statementCount;
      },
      dataDirLock,
      ...embedded,
      check,
      close,
    };
  }
}

/** A new folder on disk gets its database from the template before PGlite opens it (src/db/embedded-template.ts). */
async function seedNewFolder(lock: DataDirLock | undefined): Promise<NewDataFolderSource | undefined> {
  if (!lock || !isNewDataFolder(lock.dataDir)) return undefined;
  return seedFromTemplate(lock.dataDir, MIGRATIONS_FOLDER);
}

function selectOne(db: Database): () => Promise<void> {
  return async () => {
    await db.execute(sql`select 1`);
  };
}

/** The file the disk probe writes (and deletes) in a PGlite data folder. */
export const DISK_PROBE_FILE_NAME = 'checkout-graph-disk-probe';
/** What the probe writes: 64 KiB, eight pages of PostgreSQL's. */
const DISK_PROBE_BYTES = 64 * 1024;
const DISK_PROBE_INTERVAL_MS = 1_000;

/** What guardEmbedded knows about a PGlite and its disk. */
interface EmbeddedGuard {
  /** Settles once the engine stopped for good (a PANIC or FATAL, or the wasm runtime aborted). */
  readonly failure: Promise<EmbeddedDatabaseFailedError>;
  readonly failed: boolean;
  /** Throws the failure, or the disk fault while the disk still refuses writes. */
  throwIfUnavailable(): void;
  /** Stops the disk probe. */
  stop(): void;
}

/**
 * Watches every message PGlite exchanges with its engine (all statements pass through
 * `execProtocol` or `execProtocolStream`, including the ROLLBACK and Sync it sends after an error).
 *
 * - A statement that fails to write the disk (PostgreSQL's ERROR 53100 "could not extend file …: No
 *   space left on device", 58030 for EIO, EROFS …) leaves PGlite usable: the statement is rolled
 *   back, and once the disk has room again the next one succeeds. The fault is reported, and the
 *   disk is probed every second (a 64 KiB file written, synced and deleted in the data folder) until
 *   a write succeeds, so that `check()` says unavailable exactly while the disk refuses writes.
 * - A failed WAL write is a PANIC, as in PostgreSQL, which would then restart. PGlite cannot: its
 *   engine is left in a state where the next message never returns and blocks the event loop for
 *   good (every request, /health and the shutdown with it). So after a PANIC or FATAL nothing more
 *   is sent to the engine: every statement is refused with EmbeddedDatabaseFailedError (the error
 *   that replaced the PANIC is one too), and `failure` settles so that the process can exit. A new
 *   process replays the WAL: every committed transaction is there.
 */
function guardEmbedded(client: PGlite, probePath: string | undefined, options: DatabaseOptions): EmbeddedGuard {
  let failure: EmbeddedDatabaseFailedError | undefined;
  let settleFailure: (error: EmbeddedDatabaseFailedError) => void = () => undefined;
  const failed = new Promise<EmbeddedDatabaseFailedError>((resolve) => {
    settleFailure = resolve;
  });
  let diskFault: { error: Error; since: number } | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const observe = (error: unknown) => {
    if (failure) return;
    if (isEngineStopped(error)) {
      failure = new EmbeddedDatabaseFailedError(error);
      stopProbe();
      settleFailure(failure);
      return;
    }
    if (probePath && !diskFault && isDiskWriteFailure(error)) {
      diskFault = { error: error as Error, since: Date.now() };
      options.onDiskWriteFailure?.(error as Error);
      if (!stopped) probeTimer = setInterval(probe, DISK_PROBE_INTERVAL_MS).unref();
    }
  };

  const probe = () => {
    if (!diskFault || !probePath) return stopProbe();
    if (!diskWrites(probePath)) return;
    const downForMs = Date.now() - diskFault.since;
    diskFault = undefined;
    stopProbe();
    options.onDiskWritable?.(downForMs);
  };

  const stopProbe = () => {
    if (probeTimer) clearInterval(probeTimer);
    probeTimer = undefined;
  };

  // Both entries return promises, so a refusal is a rejection like any failed statement.
  const guarded = client as unknown as Record<'execProtocol' | 'execProtocolStream', (...args: unknown[]) => unknown>;
  for (const method of ['execProtocol', 'execProtocolStream'] as const) {
    const original = guarded[method].bind(client);
    guarded[method] = async (...args: unknown[]) => {
      if (failure) throw failure;
      try {
        return await original(...args);
      } catch (error) {
        observe(error);
        throw error;
      }
    };
  }

  return {
    failure: failed,
    get failed() {
      return failure !== undefined;
    },
    throwIfUnavailable() {
      if (failure) throw failure;
      if (diskFault)
        throw new Error(`The disk under the data folder refuses writes: ${diskFault.error.message}`, {
          cause: diskFault.error,
        });
    },
    stop() {
      stopped = true;
      stopProbe();
    },
  };
}

/** A PANIC or FATAL from the engine, or its wasm runtime gone: PGlite cannot serve again. */
function isEngineStopped(error: unknown): boolean {
  if (error instanceof WebAssembly.RuntimeError) return true;
  if (error === null || typeof error !== 'object') return false;
  const { severity, name } = error as { severity?: unknown; name?: unknown };
  return severity === 'PANIC' || severity === 'FATAL' || name === 'ExitStatus';
}

/**
 * Writes, syncs and deletes the probe file. Synchronous, through the same `fs` calls as PGlite's
 * file system (Emscripten's NODEFS, which calls them on the module object), so that it meets the
 * disk as PGlite does.
 */
function diskWrites(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, 'w', 0o600);
    fs.writeSync(fd, Buffer.alloc(DISK_PROBE_BYTES), 0, DISK_PROBE_BYTES, 0);
    fs.fsyncSync(fd);
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
    try {
      fs.unlinkSync(path);
    } catch {
      // Not created (or already gone): nothing to give back.
    }
  }
}
