import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app/index.js';
import { DisposalStack } from '../src/app/disposal.js';
import { loadConfig } from '../src/config/index.js';
import { DATABASE_KIND, isolatedDatabase, startScopedTestApp } from './support/app.js';
import { freePort } from './support/net.js';

/*
 * The composition root: everything buildApp opens is closed, last opened first, when it stops and
 * when building fails half-way; nothing it opened outlives a failed start.
 */

/** A log destination that keeps the parsed lines. */
function captureLogs(): { lines: Record<string, unknown>[]; destination: Writable } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, destination };
}

/** True when something accepts connections at `url`. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

describe('DisposalStack', () => {
  it('closes in reverse order, runs every closer even when one fails, and reports the failures', async () => {
    const stack = new DisposalStack();
    const closed: string[] = [];
    stack.use('database', 'db', (name) => void closed.push(name));
    stack.defer('failing', () => {
      closed.push('failing');
      throw new Error('cannot close');
    });
    stack.use('server', 'http', async (name) => void closed.push(name));
    const reported: string[] = [];
    await expect(stack.dispose((name) => reported.push(name))).rejects.toThrow('cannot close');
    expect(closed).toEqual(['http', 'failing', 'db']);
    expect(reported).toEqual(['failing']);
  });

  it('disposes once however often it is asked, and aggregates several failures', async () => {
    const stack = new DisposalStack();
    let closes = 0;
    stack.defer('a', () => {
      closes++;
      throw new Error('a');
    });
    stack.defer('b', () => {
      throw new Error('b');
    });
    const first = stack.dispose();
    const second = stack.dispose();
    await expect(first).rejects.toBeInstanceOf(AggregateError);
    await expect(second).rejects.toBeInstanceOf(AggregateError);
    expect(closes).toBe(1);
  });
});

describe('buildApp', () => {
  it('closes what it opened when a later resource fails (Redis unreachable): the sandboxes stop answering', async () => {
    const database = await isolatedDatabase('app_failed_start');
    const redisPort = await freePort();
    const logs = captureLogs();
    const config = loadConfig({
      DATA_DIR: 'memory://',
      DATABASE_URL: database.url,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      LOG_LEVEL: 'info',
    });
    try {
      await expect(buildApp(config, { logDestination: logs.destination })).rejects.toThrow(
        'Redis at REDIS_URL could not be reached',
      );
      const sandboxes = logs.lines
        .filter((line) => line.msg === 'provider sandbox started')
        .map((line) => String(line.url));
      expect(sandboxes).toHaveLength(3);
      for (const url of sandboxes) expect(await answers(url), url).toBe(false);
      if (DATABASE_KIND === 'postgres') {
        // The dropped database would refuse `drop ... with (force)` only if connections were left; count them.
        const pg = (await import('pg')).default;
        const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await client.connect();
        const name = new URL(database.url!).pathname.slice(1);
        const { rows } = await client.query('select count(*)::int as open from pg_stat_activity where datname = $1', [
          name,
        ]);
        await client.end();
        expect(rows[0].open).toBe(0);
      }
    } finally {
      await database.drop();
    }
  });

  it('closes everything when start() fails (the port is taken), and stop() still resolves', async () => {
    const first = await startScopedTestApp();
    const port = new URL(first.url).port;
    const logs = captureLogs();
    const app = await buildApp(loadConfig({ DATA_DIR: 'memory://', HOST: '127.0.0.1', PORT: port }), {
      logDestination: logs.destination,
    });
    await expect(app.start()).rejects.toThrow(/EADDRINUSE/);
    const sandboxes = Object.values(app.sandboxUrls);
    expect(sandboxes.length).toBeGreaterThan(0);
    for (const url of sandboxes) expect(await answers(url)).toBe(true);
    await app.stop();
    for (const url of sandboxes) expect(await answers(url), url).toBe(false);
    expect(logs.lines.some((line) => line.msg === 'checkout graph stopped')).toBe(true);
    // The first app, on that port, is untouched.
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  });
});
