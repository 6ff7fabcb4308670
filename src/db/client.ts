import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { Logger as DrizzleLogger } from 'drizzle-orm/logger';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { isInMemoryDataDir, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import * as schema from './schema.js';

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
    return handle(drizzlePg(pool, { schema, logger }), 'postgres', () => pool.end());
  }
  // A folder on disk is locked before PGlite reads it, so a second process fails before it can
  // overwrite anything (DataDirLockedError names the holder).
  const lock = isInMemoryDataDir(options.dataDir)
    ? undefined
    : await lockDataDir(options.dataDir, options.role ?? 'server');
  let client: PGlite | undefined;
  try {
    client = await PGlite.create(options.dataDir);
    const db = drizzlePglite(client, { schema, logger });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    // Migrations ran through the counting logger; the count starts with the application's work.
    statementCount = 0;
    const opened = client;
    return handle(db, 'pglite', () => opened.close().finally(() => lock?.release()), lock);
  } catch (error) {
    await client?.close().catch(() => undefined);
    await lock?.release();
    throw error;
  }

  function handle(
    db: Database,
    kind: DatabaseHandle['kind'],
    closeOnce: () => Promise<void>,
    dataDirLock?: DataDirLock,
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
      close,
    };
  }
}
