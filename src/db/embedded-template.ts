import { createHash, randomUUID } from 'node:crypto';
import { cpSync, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { LOCK_FILE_NAME } from './data-dir-lock.js';

/*
 * A new embedded data folder starts as a copy of a template. Creating one in place costs PGlite's
 * initdb (a second engine that runs initdb.wasm, then writes some 40 MB of files) and the
 * migrations: about 3 s of one core at rest, most of a first start. The result is the same for
 * every folder of one PGlite version and one set of migrations, so it is made once, in a folder of
 * its own that nothing else opens (node_modules/.cache/checkout-graph, beside the installed
 * PGlite), and copied: about 0.25 s. The template is made before any application data exists, so
 * it holds none (no key, no checkout); a folder copied from it is then migrated as usual, which
 * finds nothing to apply.
 */

/** The file whose presence says a data folder holds a database (PostgreSQL's own marker). */
const PG_VERSION = 'PG_VERSION';

/** How a new data folder came to hold a database. */
export type NewDataFolderSource = 'template' | 'initdb';

/**
 * Fills the new data folder `dataDir` (already created and locked, holding no database) from the
 * template for these migrations, making the template first when there is none. Resolves to
 * `'template'` when the folder now holds a migrated database, or `'initdb'` when the template could
 * not be used (a read-only node_modules, a full disk, files already in the folder): the folder is
 * then left as it was, and PGlite creates the database in place, as without a template.
 */
export async function seedFromTemplate(dataDir: string, migrationsFolder: string): Promise<NewDataFolderSource> {
  // Only an empty folder (but for its lock) is filled: files left by an earlier attempt are PGlite's to judge.
  if ((await readdir(dataDir)).some((entry) => entry !== LOCK_FILE_NAME)) return 'initdb';
  try {
    const template = await ensureTemplate(migrationsFolder);
    await copyDatabase(template, dataDir);
    return 'template';
  } catch {
    return 'initdb';
  }
}

/** True when `dataDir` holds no database yet (a new or empty folder). */
export function isNewDataFolder(dataDir: string): boolean {
  return !existsSync(join(dataDir, PG_VERSION));
}

/**
 * The template's folder for this PGlite and these migrations, made (once, whoever asks first) if
 * missing. `npm install` calls it too (scripts/prepare-embedded-template.ts), so that even the
 * first start of a fresh install copies a template instead of making one.
 */
export async function ensureTemplate(migrationsFolder: string): Promise<string> {
  const { cacheDir, pgliteVersion } = installedPglite();
  const template = join(cacheDir, `pglite-${pgliteVersion}-${await migrationsKey(migrationsFolder)}`);
  if (existsSync(join(template, PG_VERSION))) return template;
  // Made aside and renamed into place: a template folder that exists is complete, and two processes
  // making one at once both succeed (the second rename finds the first's and gives way).
  const making = `${template}.${process.pid}-${randomUUID().slice(0, 8)}`;
  await mkdir(making, { recursive: true });
  try {
    const pglite = await PGlite.create(making);
    try {
      await migrate(drizzle(pglite), { migrationsFolder });
    } finally {
      await pglite.close();
    }
    await rename(making, template).catch((error: NodeJS.ErrnoException) => {
      if (!existsSync(join(template, PG_VERSION))) throw error;
    });
  } finally {
    await rm(making, { recursive: true, force: true });
  }
  return template;
}

/**
 * Copies the template's files into `dataDir`, PG_VERSION last: a copy cut short (a full disk) never
 * looks like a database, and what it wrote is removed before the error is passed on. Synchronous on
 * purpose: nothing else runs while the database opens, and fs.cpSync copies the ~1,000 files in
 * about 0.25 s where the promise-based cp took 0.75 s (measured on the two-core machine at rest).
 */
async function copyDatabase(template: string, dataDir: string): Promise<void> {
  const entries = (await readdir(template)).filter((entry) => entry !== PG_VERSION);
  try {
    for (const entry of [...entries, PG_VERSION])
      cpSync(join(template, entry), join(dataDir, entry), { recursive: true, errorOnExist: true, force: false });
  } catch (error) {
    await Promise.all(
      [PG_VERSION, ...entries].map((entry) => rm(join(dataDir, entry), { recursive: true, force: true })),
    );
    throw error;
  }
}

/** Where templates are kept (node_modules/.cache/checkout-graph, beside the PGlite in use) and its version. */
function installedPglite(): { cacheDir: string; pgliteVersion: string } {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const modules = entry.slice(0, entry.lastIndexOf(`${sep}node_modules${sep}`) + `${sep}node_modules`.length);
  const packageJson = join(modules, '@electric-sql', 'pglite', 'package.json');
  const { version } = createRequire(import.meta.url)(packageJson) as { version: string };
  return { cacheDir: join(modules, '.cache', 'checkout-graph'), pgliteVersion: version };
}

/** A short hash of every migration file (SQL and journal): a new or changed migration makes a new template. */
async function migrationsKey(migrationsFolder: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(migrationsFolder, { recursive: true })).sort();
  for (const file of files) {
    if (!file.endsWith('.sql') && !file.endsWith('_journal.json')) continue;
    hash
      .update(file)
      .update('\0')
      .update(await readFile(join(migrationsFolder, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}
