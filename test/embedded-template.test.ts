import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SQL, sql } from 'drizzle-orm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type DatabaseHandle, openDatabase } from '../src/db/client.js';

/* A new embedded data folder starts as a copy of the template (src/db/embedded-template.ts). */

const JOURNAL = new URL('../src/db/migrations/meta/_journal.json', import.meta.url);

/** The rows of one statement (PGlite answers `{ rows }`). */
async function rows(database: DatabaseHandle, statement: SQL): Promise<Record<string, unknown>[]> {
  return ((await database.db.execute(statement)) as { rows: Record<string, unknown>[] }).rows;
}

async function scratch(): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'checkout-graph-template-'));
  onTestFinished(() => rm(base, { recursive: true, force: true }));
  return base;
}

describe('a new embedded data folder', () => {
  it('is a copy of the template: every migration applied, nothing of another folder in it', async () => {
    const base = await scratch();
    const first = await openDatabase({ dataDir: join(base, 'a') });
    // The template is made (or found) for the first folder, so the second is certainly a copy.
    expect(first.newDataFolder).toBeDefined();
    await first.db.execute(sql`create table written_in_a (x int)`);
    await first.close();

    const second = await openDatabase({ dataDir: join(base, 'b') });
    try {
      expect(second.newDataFolder).toBe('template');
      const { entries } = JSON.parse(await readFile(JOURNAL, 'utf8')) as { entries: unknown[] };
      const [applied] = await rows(second, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
      expect(applied).toEqual({ n: entries.length });
      const [leaked] = await rows(second, sql`select to_regclass('written_in_a')::text as found`);
      expect(leaked).toEqual({ found: null });
    } finally {
      await second.close();
    }

    const reopened = await openDatabase({ dataDir: join(base, 'b') });
    expect(reopened.newDataFolder).toBeUndefined();
    await reopened.close();
  }, 60_000);

  it('is created in place, as without a template, when the folder already holds other files', async () => {
    const base = await scratch();
    const dataDir = join(base, 'c');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'left-behind'), 'x');
    const database = await openDatabase({ dataDir });
    try {
      expect(database.newDataFolder).toBe('initdb');
      await database.check();
    } finally {
      await database.close();
    }
  }, 60_000);
});
