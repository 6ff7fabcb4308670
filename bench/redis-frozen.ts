/**
 * Latency while Redis is frozen (issue 21, goal 1): this API as production runs it
 * (bench/servers/ours.ts on core 0, in-memory PGlite, REDIS_URL pointing at a private redis-server
 * of this script's own) answers `{ __typename }`, `checkout(id)` and `createPayerVaultCheckout` at
 * an evenly paced 50 requests/s each (bench/paced.ts, 10 s), first with Redis well, then with
 * Redis stopped by SIGSTOP (a network partition: connections stay open, nothing answers). Bare
 * node:http sending `{ __typename }`'s exact bytes is measured at the same pace in the same run, so
 * the generator's own tail shows. Writes bench/results/redis-frozen.json; bench/README.md's
 * "Redis frozen" section quotes it.
 *
 * Usage: npx tsx bench/redis-frozen.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_API_KEY,
  LOAD_CORE,
  oursEnv,
  progress,
  SERVER_CORE,
  sleep,
  startPinned,
  writeResults,
} from './lib/common.js';
import { CHECKOUT_QUERY, gql, seedCheckouts } from './lib/graphql.js';
import { type PacedRun, paced } from './lib/load.js';

const PACE = { rate: 50, durationS: 10, connections: 10 };
const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` };
const TYPENAME = JSON.stringify({ query: '{ __typename }' });
const CREATE = JSON.stringify({
  query:
    'mutation { createPayerVaultCheckout(input: { customerId: "cust-bench" }) { __typename ... on CreatePayerVaultCheckoutSuccess { checkout { id status } } } }',
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of this run's own, on the load core. */
async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'taskset',
    [
      '-c',
      LOAD_CORE,
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    {
      stdio: 'ignore',
    },
  );
  await sleep(500);
  return { url: `redis://127.0.0.1:${port}`, child };
}

async function phase(label: string, url: string, checkoutBody: string, bareUrl: string) {
  const runs: Record<string, PacedRun> = {};
  const targets: [string, string, string][] = [
    ['bare node:http, { __typename } bytes', bareUrl, TYPENAME],
    ['{ __typename }', url, TYPENAME],
    ['checkout(id)', url, checkoutBody],
    ['createPayerVaultCheckout', url, CREATE],
  ];
  for (const [name, target, body] of targets) {
    progress(`${label}: ${name} at ${PACE.rate}/s for ${PACE.durationS} s`);
    runs[name] = await paced({ url: `${target}/graphql`, body, headers: HEADERS }, PACE);
  }
  return runs;
}

const redis = await startRedis();
const ours = await startPinned<{ url: string; pid: number }>(
  'bench/servers/ours.ts',
  oursEnv({ REDIS_URL: redis.url, RATE_LIMIT_PER_MINUTE: '1000000' }),
  SERVER_CORE,
);
const scratch = mkdtempSync(join(tmpdir(), 'bench-redis-frozen-'));
try {
  const [id] = await seedCheckouts(ours.ready.url, BENCH_API_KEY, 1);
  const checkoutBody = JSON.stringify({ query: CHECKOUT_QUERY, variables: { id } });
  const typename = await gql(ours.ready.url, BENCH_API_KEY, '{ __typename }');
  const responses = join(scratch, 'responses.json');
  writeFileSync(responses, JSON.stringify({ [TYPENAME]: typename.body }));
  const bare = await startPinned<{ url: string }>(
    'bench/servers/bare.ts',
    { BENCH_BARE_RESPONSES: responses },
    SERVER_CORE,
  );
  try {
    const well = await phase('Redis well', ours.ready.url, checkoutBody, bare.ready.url);
    redis.child.kill('SIGSTOP');
    await sleep(2_000);
    const health = await (await fetch(`${ours.ready.url}/health`)).json();
    const frozen = await phase('Redis frozen', ours.ready.url, checkoutBody, bare.ready.url);
    redis.child.kill('SIGCONT');
    const results = { pace: PACE, healthWhileFrozen: health, well, frozen };
    const file = writeResults('redis-frozen', results);
    progress(`written ${file}`);
    for (const [name, run] of Object.entries(frozen))
      console.log(
        `${name.padEnd(40)} well p50 ${well[name]!.p50} p99 ${well[name]!.p99} | frozen p50 ${run.p50} p99 ${run.p99} non2xx ${run.non2xx} errors ${run.errors}`,
      );
  } finally {
    await bare.stop();
  }
} finally {
  await ours.stop();
  redis.child.kill('SIGCONT');
  redis.child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
}
