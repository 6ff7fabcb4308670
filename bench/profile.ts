/**
 * Profiles this API under W1's load: ours on PGlite (or PostgreSQL with BENCH_PROFILE_DB=postgres)
 * runs on core 0 with V8's CPU profiler sampling the load window only while autocannon drives one query on core 1; the profile's
 * self time is summed per function and per package. Writes bench/results/profile-<server>.json.
 * Run with `npx tsx bench/profile.ts` (npm run bench runs it after W1).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_API_KEY,
  type BenchProcess,
  envNumber,
  oursEnv,
  progress,
  RESULTS_DIR,
  SERVER_CORE,
  startPinned,
  writeResults,
} from './lib/common.js';
import { summariseProfile, type ProfileSummary } from './lib/cpu-profile.js';
import { BROWSER_HEADERS, BROWSER_ORIGIN, CHECKOUT_QUERY, CHECKOUTS_QUERY, seedCheckouts } from './lib/graphql.js';
import { autocannon } from './lib/load.js';
import { dropDatabase, freshDatabase } from './lib/postgres.js';

const API_KEY = BENCH_API_KEY;
const durationS = envNumber('BENCH_PROFILE_DURATION', 10);
const usePostgres = process.env.BENCH_PROFILE_DB === 'postgres';

/** Profiles of one server per query. */
export interface ProfileResults {
  server: string;
  durationS: number;
  profiles: Record<string, ProfileSummary & { rps: number }>;
}

const results: ProfileResults = { server: usePostgres ? 'ours-postgres' : 'ours-pglite', durationS, profiles: {} };
for (const [name, query] of [
  ['checkout(id)', CHECKOUT_QUERY],
  ['checkouts(first: 20)', CHECKOUTS_QUERY],
] as const) {
  const profileDir = join(RESULTS_DIR, 'profiles', name.replace(/\W+/g, '_'));
  rmSync(profileDir, { recursive: true, force: true });
  mkdirSync(profileDir, { recursive: true });
  const profileFile = join(profileDir, 'load.cpuprofile');
  const dataDir = usePostgres ? undefined : mkdtempSync(join(tmpdir(), 'bench-profile-'));
  const databaseUrl = usePostgres ? await freshDatabase('bench_profile') : undefined;
  const server = await startPinned<{ url: string }>(
    'bench/servers/ours.ts',
    // The cost limit as in W1, so the page of 50 runs.
    oursEnv({
      LIMIT_MAX_COST: '20000',
      CORS_ORIGINS: BROWSER_ORIGIN,
      DATA_DIR: dataDir ?? 'memory://',
      DATABASE_URL: databaseUrl,
      BENCH_CPU_PROFILE: profileFile,
    }),
    SERVER_CORE,
  );
  try {
    const ids = await seedCheckouts(server.ready.url, API_KEY, 50);
    const body = JSON.stringify(
      name === 'checkout(id)' ? { query, variables: { id: ids[ids.length - 2] } } : { query },
    );
    const target = {
      url: `${server.ready.url}/graphql`,
      body,
      // checkout(id) as a browser sends it (the shape issue 23 measures); the page as plain JSON.
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${API_KEY}`,
        ...(name === 'checkout(id)' ? BROWSER_HEADERS : {}),
      },
    };
    await autocannon(target, { connections: 20, durationS: 2 });
    // Only the measured window is sampled: start-up, seeding and warm-up are left out.
    server.child.kill('SIGUSR2');
    await outputLine(server, 'PROFILING');
    const run = await autocannon(target, { connections: 20, durationS });
    server.child.kill('SIGUSR2');
    await outputLine(server, 'PROFILED');
    await server.stop();
    results.profiles[name] = { rps: run.rps, ...summariseProfile(profileFile) };
    const top = results.profiles[name]!.byPackage.slice(0, 5)
      .map((entry) => `${entry.name} ${entry.percent}%`)
      .join(', ');
    progress(`profile ${results.server} ${name}: ${run.rps.toFixed(0)} req/s; self time by package: ${top}`);
  } finally {
    await server.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (databaseUrl) await dropDatabase('bench_profile');
  }
}
progress(`profile results: ${writeResults(`profile-${results.server}`, results)}`);

/** Waits (up to 30 s) until the server has printed a line starting with `prefix`. */
async function outputLine(server: BenchProcess, prefix: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!server.output.some((line) => line.startsWith(prefix))) {
    if (Date.now() > deadline)
      throw new Error(`the server did not print ${prefix}:\n${server.output.slice(-20).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
