import pg from 'pg';

/** The PostgreSQL server the benches use (the same one the test suite uses). */
export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Drops and creates the scratch database `name`; returns its URL. */
export async function freshDatabase(name: string): Promise<string> {
  if (!/^bench_[a-z0-9_]+$/.test(name))
    throw new Error(`refusing to recreate ${name}: scratch databases are named bench_*`);
  await admin(async (client) => {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  });
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops the scratch database `name`. */
export async function dropDatabase(name: string): Promise<void> {
  if (!/^bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop ${name}`);
  await admin((client) => client.query(`drop database if exists ${name} with (force)`));
}

/** The server's version string, or why it could not be read. */
export async function postgresVersion(): Promise<string> {
  try {
    return await admin(async (client) => String((await client.query('show server_version')).rows[0]?.server_version));
  } catch (error) {
    return `unavailable (${(error as Error).message})`;
  }
}
