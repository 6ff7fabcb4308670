import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { DATABASE_KIND, isolatedDatabase } from './support/app.js';

/*
 * The migration that widens amounts to bigint (0005) upgrades a database made by the previous
 * version without losing a row: the database is built with migrations 0000-0004 only, as the last
 * release left it, filled through raw SQL in that version's shape, then opened by today's code.
 * On PGlite (a data folder) by default, on PostgreSQL when DATABASE_URL is set.
 */

const MIGRATIONS = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));
/** The last migration of the previous version. */
const PREVIOUS_VERSION_LAST = '0004_poll_answer_hash';

/** A copy of the migrations folder as the previous version shipped it (journal and SQL up to 0004). */
async function previousMigrations(): Promise<{ folder: string; remove(): Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), 'cg-migrations-'));
  await cp(MIGRATIONS, folder, { recursive: true });
  const journal = JSON.parse(await readFile(join(folder, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const last = journal.entries.findIndex((entry) => entry.tag === PREVIOUS_VERSION_LAST);
  expect(last).toBeGreaterThanOrEqual(0);
  for (const entry of journal.entries.slice(last + 1)) await rm(join(folder, `${entry.tag}.sql`));
  journal.entries = journal.entries.slice(0, last + 1);
  await writeFile(join(folder, 'meta/_journal.json'), JSON.stringify(journal));
  return { folder, remove: () => rm(folder, { recursive: true, force: true }) };
}

/** Rows written as the previous version wrote them: its largest amount, line items, events, a schedule. */
const PREVIOUS_VERSION_ROWS = `
  insert into merchants (id, tenant, provider, key, name, website)
    values ('11111111-1111-4111-8111-111111111111', 'acme', 'STAN', 'https://shop.example', 'Shop', 'https://shop.example');
  insert into checkouts (id, tenant, provider, provider_checkout_id, status, currency, total_amount, test_mode, merchant_id, details, idempotency_key, request_hash)
    values ('22222222-2222-4222-8222-222222222222', 'acme', 'STAN', 'co_1', 'OPEN', 'EUR', 2147483647, true,
            '11111111-1111-4111-8111-111111111111', '{"subtotal": 2147483647, "returnUrl": "https://shop.example/back"}', 'key-1', 'hash-1');
  insert into checkouts (id, tenant, provider, provider_checkout_id, status, test_mode, details)
    values ('33333333-3333-4333-8333-333333333333', 'acme', 'SMARTCHECKOUT', 'sc_1', 'PROCESSING', true, '{"productUrl": "https://shop.example/p"}');
  insert into line_items (checkout_id, position, product_id, quantity, unit_price, discount, total)
    values ('22222222-2222-4222-8222-222222222222', 0, 'p-1', 1, 2147483647, 0, 2147483647),
           ('33333333-3333-4333-8333-333333333333', 0, null, 1, null, null, null);
  insert into checkout_events (checkout_id, status, source) values
    ('22222222-2222-4222-8222-222222222222', 'PENDING', 'api'), ('22222222-2222-4222-8222-222222222222', 'OPEN', 'stan'),
    ('33333333-3333-4333-8333-333333333333', 'PENDING', 'api'), ('33333333-3333-4333-8333-333333333333', 'PROCESSING', 'smartcheckout');
  insert into poll_schedules (checkout_id, next_poll_at, attempts, last_answer_hash)
    values ('33333333-3333-4333-8333-333333333333', now(), 4, 'answer-hash');
`;

/** Builds a database at the previous version and fills it; returns how to open it with today's code. */
async function previousVersionDatabase(): Promise<{ open(): Promise<DatabaseHandle>; drop(): Promise<void> }> {
  const migrations = await previousMigrations();
  try {
    if (DATABASE_KIND === 'postgres') {
      const database = await isolatedDatabase('migration');
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        await migratePg(drizzlePg(client), { migrationsFolder: migrations.folder });
        await client.query(PREVIOUS_VERSION_ROWS);
      } finally {
        await client.end();
      }
      return {
        open: () => openDatabase({ databaseUrl: database.url, dataDir: 'unused' }),
        drop: () => database.drop(),
      };
    }
    const dataDir = await mkdtemp(join(tmpdir(), 'cg-pglite-'));
    const client = await PGlite.create(dataDir);
    await migratePglite(drizzlePglite(client), { migrationsFolder: migrations.folder });
    await client.exec(PREVIOUS_VERSION_ROWS);
    await client.close();
    return { open: () => openDatabase({ dataDir }), drop: () => rm(dataDir, { recursive: true, force: true }) };
  } finally {
    await migrations.remove();
  }
}

describe(`upgrading a previous-version database (${DATABASE_KIND})`, () => {
  let previous: Awaited<ReturnType<typeof previousVersionDatabase>>;
  let database: DatabaseHandle;
  /** The rows a raw SQL statement returns on the upgraded database. */
  const upgradedRows = async <T>(text: string): Promise<T[]> =>
    ((await database.db.execute(sql.raw(text))) as unknown as { rows: T[] }).rows;

  beforeAll(async () => {
    previous = await previousVersionDatabase();
    database = await previous.open();
  });
  afterAll(async () => {
    await database?.close();
    await previous?.drop();
  });

  it('widens every amount column to bigint and adds the new column and index', async () => {
    const columns = await upgradedRows<{ table_name: string; column_name: string; data_type: string }>(`
      select table_name, column_name, data_type from information_schema.columns
      where table_schema = 'public' and column_name in ('total_amount', 'unit_price', 'discount', 'total', 'quantity', 'answer_errors')
      order by table_name, column_name`);
    expect(columns.map((column) => `${column.table_name}.${column.column_name}: ${column.data_type}`)).toEqual([
      'checkouts.total_amount: bigint',
      'line_items.discount: bigint',
      'line_items.quantity: integer',
      'line_items.total: bigint',
      'line_items.unit_price: bigint',
      'poll_schedules.answer_errors: integer',
    ]);
    const indexes = await upgradedRows<{ indexname: string }>(
      `select indexname from pg_indexes where tablename = 'checkouts' and indexname = 'checkouts_open_created_at'`,
    );
    expect(indexes).toHaveLength(1);
  });

  it('keeps every row and value of the previous version', async () => {
    const counts = await upgradedRows<{ name: string; count: number }>(`
      select 'merchants' as name, count(*)::int as count from merchants union all
      select 'checkouts', count(*)::int from checkouts union all
      select 'line_items', count(*)::int from line_items union all
      select 'checkout_events', count(*)::int from checkout_events union all
      select 'poll_schedules', count(*)::int from poll_schedules`);
    expect(Object.fromEntries(counts.map((row) => [row.name, Number(row.count)]))).toEqual({
      merchants: 1,
      checkouts: 2,
      line_items: 2,
      checkout_events: 4,
      poll_schedules: 1,
    });
    const stan = await database.db.query.checkouts.findFirst({
      where: (table, { eq }) => eq(table.id, '22222222-2222-4222-8222-222222222222'),
    });
    expect(stan).toMatchObject({
      status: 'OPEN',
      currency: 'EUR',
      totalAmount: 2_147_483_647,
      idempotencyKey: 'key-1',
      requestHash: 'hash-1',
      merchantId: '11111111-1111-4111-8111-111111111111',
      details: { subtotal: 2_147_483_647, returnUrl: 'https://shop.example/back' },
    });
    const lines = await database.db.query.lineItems.findMany({ orderBy: (table, { asc }) => [asc(table.checkoutId)] });
    expect(lines.map((line) => [line.unitPrice, line.discount, line.total])).toEqual([
      [2_147_483_647, 0, 2_147_483_647],
      [null, null, null],
    ]);
    const schedule = await database.db.query.pollSchedules.findFirst();
    expect(schedule).toMatchObject({
      checkoutId: '33333333-3333-4333-8333-333333333333',
      attempts: 4,
      lastAnswerHash: 'answer-hash',
      answerErrors: 0,
    });
  });

  it('now stores amounts past 32 bits, read back as exact numbers', async () => {
    await upgradedRows(
      `update checkouts set total_amount = 9007199254740991 where id = '22222222-2222-4222-8222-222222222222'`,
    );
    await upgradedRows(
      `update line_items set unit_price = 2500000000, total = 2500000000 where checkout_id = '22222222-2222-4222-8222-222222222222'`,
    );
    const stan = await database.db.query.checkouts.findFirst({
      where: (table, { eq }) => eq(table.id, '22222222-2222-4222-8222-222222222222'),
    });
    expect(stan!.totalAmount).toBe(Number.MAX_SAFE_INTEGER);
    const [line] = await database.db.query.lineItems.findMany({
      where: (table, { eq }) => eq(table.checkoutId, '22222222-2222-4222-8222-222222222222'),
    });
    expect(line).toMatchObject({ unitPrice: 2_500_000_000, total: 2_500_000_000 });
  });

  it('is applied once: opening the upgraded database again changes nothing', async () => {
    await database.close();
    database = await previous.open();
    const applied = await upgradedRows<{ count: number }>(
      `select count(*)::int as count from drizzle.__drizzle_migrations`,
    );
    const journal = JSON.parse(await readFile(join(MIGRATIONS, 'meta/_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    expect(Number(applied[0]!.count)).toBe(journal.entries.length);
    expect((await upgradedRows<{ count: number }>(`select count(*)::int as count from checkouts`))[0]).toMatchObject({
      count: 2,
    });
  });
});
