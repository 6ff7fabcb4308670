/**
 * The main flow at speed (issue 22): creates on this API beside a bare ceiling, and the live flow.
 * Run with `npx tsx bench/create-flow.ts`; writes bench/results/create-flow.json and prints
 * markdown tables. On each database (PGlite in memory, and a fresh PostgreSQL database per server
 * and run from BENCH_DATABASE_URL / BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres):
 *
 * - ceiling: `createSmartCheckout` in a closed loop (BENCH_CF_CONNECTIONS, default 4, connections
 *   each sending the next create when the last is answered) against ours (bench/servers/ours.ts,
 *   production mode, POLLER=off) and bare-create (bench/servers/bare-create.ts), BENCH_CF_RUNS (3)
 *   runs of BENCH_CF_DURATION (8) s each, round-robin, after 3 s of warm-up each; ratio ours/bare.
 * - cpu: BENCH_CF_CPU_CREATES (300) one-at-a-time creates, BENCH_CF_CPU_ROUNDS (3) rounds
 *   round-robin after 200 warm-up creates: CPU (user + system, /proc/<pid>/stat) of the API
 *   process per create, of the fake provider (its own process), and on PostgreSQL of the backends
 *   serving that server's database.
 * - statements: BENCH_CF_COUNT_CREATES (20) one-at-a-time creates after 60 warm-up ones, each
 *   counted alone: on PostgreSQL by a TCP proxy that reads the frontend protocol the server
 *   receives (bench/lib/pg-wire.ts), on PGlite by a preload wrapping PGlite's execProtocolStream
 *   (bench/lib/pglite-wire-count.ts), both reading the same messages. The median create is shown
 *   with its statements. Servers restarted for this (the proxy and the wrapper cost time).
 * - profile: ours under the closed loop with V8's CPU profiler on the measured 10 s only.
 * - live: ours with its poller, BENCH_RATE (100) purchases a second for BENCH_CF_LIVE_SECONDS (10)
 *   s (BENCH_CF_LIVE_COUNT overrides the count), each watched by its own subscription
 *   (bench/lib/live-flow.ts), after a warm-up of 2 s of the same; and on PostgreSQL the same at
 *   BENCH_CF_HIGH_RATE (300; 0 skips).
 *
 * Every server runs on core 0, the generators, subscribers and the fake provider
 * (bench/servers/logging-smartcheckout.ts, Smartcheckout's contract, completing on the 2nd
 * status GET as the built-in sandbox does) on core 1. BENCH_CF_DATABASES (pglite,postgres) and
 * BENCH_CF_ONLY (ceiling,cpu,statements,profile,live) pick what runs.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import {
  BENCH_API_KEY,
  type BenchProcess,
  envNumber,
  LOAD_CORE,
  median,
  oursEnv,
  percentile,
  progress,
  RESULTS_DIR,
  SERVER_CORE,
  sleep,
  startPinned,
  writeResults,
} from './lib/common.js';
import { summariseProfile, type ProfileSummary } from './lib/cpu-profile.js';
import {
  type ClosedLoopRun,
  closedLoop,
  cpuMsOf,
  cpuMsOfAll,
  createClient,
  createBody,
  round,
  sequentialCreates,
  shapeOf,
} from './lib/creates.js';
import { liveFlow, type LiveFlowResult } from './lib/live-flow.js';
import {
  type CountingProxy,
  isTransactionControl,
  startCountingProxy,
  type WireCounts,
  type WireStatement,
} from './lib/pg-wire.js';

// bench/lib/postgres.ts reads BENCH_POSTGRES_URL when imported; BENCH_DATABASE_URL is this script's name for it.
if (process.env.BENCH_DATABASE_URL && !process.env.BENCH_POSTGRES_URL)
  process.env.BENCH_POSTGRES_URL = process.env.BENCH_DATABASE_URL;
const { dropDatabase, freshDatabase, POSTGRES_ADMIN_URL, postgresVersion } = await import('./lib/postgres.js');

type Database = 'pglite' | 'postgres';
type ServerKind = 'ours' | 'bare';
const SERVERS: ServerKind[] = ['ours', 'bare'];
const SCRIPTS: Record<ServerKind, string> = { ours: 'bench/servers/ours.ts', bare: 'bench/servers/bare-create.ts' };
const PROVIDER_KEY = 'bench-provider-key';
const API_KEY = BENCH_API_KEY;

const databases = (process.env.BENCH_CF_DATABASES ?? 'pglite,postgres').split(',').map((d) => d.trim()) as Database[];
const phases = new Set((process.env.BENCH_CF_ONLY ?? 'ceiling,cpu,statements,profile,live').split(','));
const connections = envNumber('BENCH_CF_CONNECTIONS', 4);
const durationS = envNumber('BENCH_CF_DURATION', 8);
const runs = envNumber('BENCH_CF_RUNS', 3);
const cpuCreates = envNumber('BENCH_CF_CPU_CREATES', 300);
const cpuRounds = envNumber('BENCH_CF_CPU_ROUNDS', 3);
const countCreates = envNumber('BENCH_CF_COUNT_CREATES', 20);
const profileS = envNumber('BENCH_CF_PROFILE_DURATION', 10);
const liveRate = envNumber('BENCH_RATE', 100);
const highRate = Number(process.env.BENCH_CF_HIGH_RATE ?? 300);
const liveSeconds = envNumber('BENCH_CF_LIVE_SECONDS', 10);
const pollIntervalMs = envNumber('BENCH_CF_POLL_INTERVAL_MS', 1_000);
const perSocket = envNumber('BENCH_CF_SUBSCRIPTIONS_PER_SOCKET', 50);
const liveConnections = envNumber('BENCH_CF_LIVE_CONNECTIONS', 32);

/** Ours and bare-create: CPU per create. */
export interface CpuRound {
  apiMsPerCreate: number;
  providerMsPerCreate: number;
  /** PostgreSQL backends of this server's database (PostgreSQL only). */
  postgresMsPerCreate: number | null;
  wallP50: number;
  wallP99: number;
}

export interface StatementCounts {
  creates: number;
  /** Per create: the median, and the range over the counted creates. */
  median: WireCounts;
  min: WireCounts;
  max: WireCounts;
  /** The statements of the median create (by statements), in order. */
  example: { protocol: string; parsed: boolean; named: boolean; text: string }[];
}

export interface DatabaseResults {
  database: Database;
  shape?: { equal: boolean; ours: string; bare: string };
  ceiling?: { runs: Record<ServerKind, ClosedLoopRun[]>; medianRps: Record<ServerKind, number>; ratio: number };
  cpu?: { rounds: Record<ServerKind, CpuRound[]>; median: Record<ServerKind, CpuRound> };
  statements?: Record<ServerKind, StatementCounts>;
  profile?: ProfileSummary & { rps: number; durationS: number };
}

export interface CreateFlowResults {
  machine: {
    cpus: string;
    node: string;
    postgres: string;
    date: string;
    loadAverageStart: number[];
    loadAverageEnd?: number[];
    wallMinutes?: number;
  };
  settings: Record<string, unknown>;
  databases: DatabaseResults[];
  live: (LiveFlowResult & { database: Database })[];
}

// The generators, subscribers and this script's own work belong on the load core.
execFileSync('taskset', ['-a', '-cp', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
const startedAt = Date.now();
const results: CreateFlowResults = {
  machine: {
    cpus: `${cpus()[0]?.model.trim()}, ${cpus().length} cores`,
    node: process.version,
    postgres: databases.includes('postgres') ? await postgresVersion() : 'not used',
    date: new Date().toISOString(),
    loadAverageStart: loadavg().map((value) => round(value)),
  },
  settings: {
    connections,
    durationS,
    runs,
    cpuCreates,
    cpuRounds,
    countCreates,
    profileS,
    liveRate,
    highRate,
    liveSeconds,
    pollIntervalMs,
    perSocket,
    liveConnections,
    databases,
    phases: [...phases],
  },
  databases: [],
  live: [],
};
progress(`create-flow: load average ${results.machine.loadAverageStart.join(' ')}; ${databases.join(' + ')}`);

/** Scratch PostgreSQL databases of this run, dropped at the end. */
const scratch = new Set<string>();
async function scratchDatabase(label: string): Promise<string> {
  const name = `bench_cf_${process.pid}_${label}`;
  scratch.add(name);
  return freshDatabase(name);
}

function serverEnv(databaseUrl: string | undefined, providerUrl: string, extra: Record<string, string> = {}) {
  return oursEnv({
    DATABASE_URL: databaseUrl,
    SMARTCHECKOUT_BASE_URL: providerUrl,
    SMARTCHECKOUT_API_KEY: PROVIDER_KEY,
    // As the built-in sandbox's checkouts are: test mode.
    SMARTCHECKOUT_TEST_MODE: 'true',
    POLL_INTERVAL_MS: String(pollIntervalMs),
    ...extra,
  });
}

async function startProvider(): Promise<BenchProcess<{ url: string; pid: number }>> {
  return startPinned('bench/servers/logging-smartcheckout.ts', { BENCH_PROVIDER_KEY: PROVIDER_KEY }, LOAD_CORE);
}

async function startServer(
  kind: ServerKind,
  env: Record<string, string | undefined>,
  nodeArgs: string[] = [],
): Promise<BenchProcess<{ url: string; pid: number }>> {
  return startPinned(SCRIPTS[kind], env, SERVER_CORE, { nodeArgs, timeoutMs: 180_000 });
}

async function stopAll(processes: (BenchProcess | undefined)[]): Promise<void> {
  await Promise.all(processes.map((p) => p?.stop()));
}

/** Waits (up to 30 s) until a process has printed a line starting with `prefix`; returns the line. */
async function outputLine(process_: BenchProcess, prefix: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const line = process_.output.find((l) => l.startsWith(prefix));
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${prefix} line:\n${process_.output.slice(-20).join('\n')}`);
    await sleep(50);
  }
}

/** Backend pids of a PostgreSQL database, for their CPU. */
async function backendPids(database: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    return rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

let nextIndex = 0;
/** Create numbers never repeat within a run, so no two creates buy the same product. */
function indices(count: number): number {
  const first = nextIndex;
  nextIndex += count;
  return first;
}

/** Ceiling, CPU and answer shape on one database: both servers up at once, measured round-robin. */
async function ceilingAndCpu(database: Database, out: DatabaseResults): Promise<void> {
  const provider = await startProvider();
  const urls: Partial<Record<ServerKind, string>> = {};
  const servers: Partial<Record<ServerKind, BenchProcess<{ url: string; pid: number }>>> = {};
  try {
    for (const kind of SERVERS) {
      urls[kind] = database === 'postgres' ? await scratchDatabase(kind) : undefined;
      servers[kind] = await startServer(kind, serverEnv(urls[kind], provider.ready.url));
      progress(`${database}: ${kind} listening at ${servers[kind]!.ready.url} (pid ${servers[kind]!.ready.pid})`);
    }
    // The same request to both: the answers must have one shape (values differ: ids, times).
    const answers = {} as Record<ServerKind, string>;
    for (const kind of SERVERS) {
      const client = createClient(servers[kind]!.ready.url, API_KEY, 1);
      answers[kind] = (await client.post(createBody(indices(1)))).body;
      await client.close();
    }
    const shapes = SERVERS.map((kind) => JSON.stringify(shapeOf(JSON.parse(answers[kind]))));
    out.shape = { equal: shapes[0] === shapes[1], ours: answers.ours, bare: answers.bare };
    progress(`${database}: answers of one shape: ${out.shape.equal}`);
    if (!out.shape.equal) progress(`  ours: ${answers.ours}\n  bare: ${answers.bare}`);

    for (const kind of SERVERS) await sequentialCreates(servers[kind]!.ready.url, API_KEY, 200, indices(200), 'warm');
    if (phases.has('cpu')) {
      const rounds: Record<ServerKind, CpuRound[]> = { ours: [], bare: [] };
      for (let round_ = 0; round_ < cpuRounds; round_++) {
        for (const kind of round_ % 2 ? [...SERVERS].reverse() : SERVERS) {
          const server = servers[kind]!;
          const dbName = urls[kind] ? new URL(urls[kind]).pathname.slice(1) : undefined;
          const pgBefore = dbName ? cpuMsOfAll(await backendPids(dbName)) : undefined;
          const apiBefore = cpuMsOf(server.ready.pid);
          const providerBefore = cpuMsOf(provider.ready.pid);
          const wall = await sequentialCreates(server.ready.url, API_KEY, cpuCreates, indices(cpuCreates));
          const api = cpuMsOf(server.ready.pid) - apiBefore;
          const providerMs = cpuMsOf(provider.ready.pid) - providerBefore;
          let postgresMs: number | null = null;
          if (dbName && pgBefore) {
            postgresMs = 0;
            for (const [pid, ms] of cpuMsOfAll(await backendPids(dbName))) postgresMs += ms - (pgBefore.get(pid) ?? 0);
          }
          const result: CpuRound = {
            apiMsPerCreate: round(api / cpuCreates),
            providerMsPerCreate: round(providerMs / cpuCreates),
            postgresMsPerCreate: postgresMs === null ? null : round(postgresMs / cpuCreates),
            wallP50: round(percentile(wall, 50)),
            wallP99: round(percentile(wall, 99)),
          };
          rounds[kind].push(result);
          progress(
            `${database} cpu round ${round_ + 1}/${cpuRounds} ${kind}: ${result.apiMsPerCreate} ms CPU per create (API process), provider ${result.providerMsPerCreate} ms, PostgreSQL ${result.postgresMsPerCreate ?? '-'} ms; wall p50 ${result.wallP50} ms`,
          );
        }
      }
      const pick = (list: CpuRound[]): CpuRound => ({
        apiMsPerCreate: median(list.map((r) => r.apiMsPerCreate)),
        providerMsPerCreate: median(list.map((r) => r.providerMsPerCreate)),
        postgresMsPerCreate:
          list[0]!.postgresMsPerCreate === null ? null : median(list.map((r) => r.postgresMsPerCreate!)),
        wallP50: median(list.map((r) => r.wallP50)),
        wallP99: median(list.map((r) => r.wallP99)),
      });
      out.cpu = { rounds, median: { ours: pick(rounds.ours), bare: pick(rounds.bare) } };
    }

    if (phases.has('ceiling')) {
      const loops: Record<ServerKind, ClosedLoopRun[]> = { ours: [], bare: [] };
      for (const kind of SERVERS) {
        const warm = await closedLoop(servers[kind]!.ready.url, API_KEY, {
          connections,
          durationS: 3,
          firstIndex: indices(100_000),
        });
        progress(`${database} ceiling warm-up ${kind}: ${warm.rps} creates/s`);
      }
      for (let run = 0; run < runs; run++) {
        for (const kind of run % 2 ? [...SERVERS].reverse() : SERVERS) {
          const result = await closedLoop(servers[kind]!.ready.url, API_KEY, {
            connections,
            durationS,
            firstIndex: indices(1_000_000),
          });
          loops[kind].push(result);
          progress(
            `${database} ceiling run ${run + 1}/${runs} ${kind}: ${result.rps} creates/s (p50 ${result.p50} ms, p99 ${result.p99} ms, ${result.failures} failures)`,
          );
        }
      }
      const medianRps = { ours: median(loops.ours.map((r) => r.rps)), bare: median(loops.bare.map((r) => r.rps)) };
      out.ceiling = { runs: loops, medianRps, ratio: round(medianRps.ours / medianRps.bare, 3) };
      progress(`${database} ceiling: ours ${medianRps.ours}/s, bare ${medianRps.bare}/s, ratio ${out.ceiling.ratio}`);
    }
  } finally {
    await stopAll([servers.ours, servers.bare, provider]);
  }
}

/** Statements and transactions per create, each create counted alone. */
async function statements(database: Database, out: DatabaseResults): Promise<void> {
  const provider = await startProvider();
  let proxy: CountingProxy | undefined;
  out.statements = {} as Record<ServerKind, StatementCounts>;
  try {
    if (database === 'postgres') proxy = await startCountingProxy(postgresTarget());
    for (const kind of SERVERS) {
      let databaseUrl: string | undefined;
      if (proxy) {
        const url = new URL(await scratchDatabase(`${kind}_count`));
        url.hostname = '127.0.0.1';
        url.port = String(proxy.port);
        databaseUrl = url.toString();
      }
      const nodeArgs = proxy ? [] : ['--import', 'tsx', '--import', './bench/lib/pglite-wire-count.ts'];
      const server = await startServer(kind, serverEnv(databaseUrl, provider.ready.url), nodeArgs);
      try {
        const wireUrl = proxy
          ? undefined
          : (JSON.parse((await outputLine(server, 'WIRELOG ')).slice(8)) as { url: string }).url;
        const reset = async () => {
          if (proxy) proxy.log.reset();
          else await fetch(`${wireUrl}/reset`, { method: 'POST' });
        };
        const read = async (): Promise<{ counts: WireCounts; statements: WireStatement[] }> => {
          if (proxy) return { counts: proxy.log.counts(), statements: [...proxy.log.statements] };
          return (await (await fetch(`${wireUrl}/log`)).json()) as { counts: WireCounts; statements: WireStatement[] };
        };
        await sequentialCreates(server.ready.url, API_KEY, 60, indices(60), 'warm');
        const creates: { counts: WireCounts; statements: WireStatement[] }[] = [];
        for (let i = 0; i < countCreates; i++) {
          await reset();
          await sequentialCreates(server.ready.url, API_KEY, 1, indices(1));
          // Anything the create leaves to run after its answer counts too.
          await sleep(20);
          creates.push(await read());
        }
        creates.sort((a, b) => a.counts.statements - b.counts.statements);
        const middle = creates[Math.floor(creates.length / 2)]!;
        const field = (name: keyof WireCounts, pickOf: (values: number[]) => number) =>
          pickOf(creates.map((c) => c.counts[name]));
        const summary = (pickOf: (values: number[]) => number): WireCounts => ({
          statements: field('statements', pickOf),
          transactionControl: field('transactionControl', pickOf),
          transactions: field('transactions', pickOf),
          parses: field('parses', pickOf),
          roundTrips: field('roundTrips', pickOf),
          messages: field('messages', pickOf),
        });
        out.statements[kind] = {
          creates: creates.length,
          median: summary(median),
          min: summary((values) => Math.min(...values)),
          max: summary((values) => Math.max(...values)),
          example: middle.statements.map((s) => ({
            protocol: s.protocol,
            parsed: s.parsed,
            named: s.name !== '',
            text: s.text.replace(/\s+/g, ' ').trim(),
          })),
        };
        const m = out.statements[kind].median;
        progress(
          `${database} statements ${kind}: ${m.statements} statements + ${m.transactionControl} BEGIN/COMMIT in ${m.transactions} transactions, ${m.parses} parses, ${m.roundTrips} round trips per create (median of ${creates.length})`,
        );
      } finally {
        await server.stop();
      }
    }
  } finally {
    await stopAll([provider]);
    await proxy?.close();
  }
}

function postgresTarget(): { host: string; port: number } {
  const url = new URL(POSTGRES_ADMIN_URL);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) };
}

/** Ours under the closed loop with V8's profiler on the measured window. */
async function profile(database: Database, out: DatabaseResults): Promise<void> {
  const dir = join(RESULTS_DIR, 'profiles', `create-flow-${database}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'creates.cpuprofile');
  const provider = await startProvider();
  let server: BenchProcess<{ url: string; pid: number }> | undefined;
  try {
    const databaseUrl = database === 'postgres' ? await scratchDatabase('profile') : undefined;
    server = await startServer('ours', serverEnv(databaseUrl, provider.ready.url, { BENCH_CPU_PROFILE: file }));
    await closedLoop(server.ready.url, API_KEY, { connections, durationS: 3, firstIndex: indices(100_000) });
    server.child.kill('SIGUSR2');
    await outputLine(server, 'PROFILING');
    const run = await closedLoop(server.ready.url, API_KEY, {
      connections,
      durationS: profileS,
      firstIndex: indices(1_000_000),
    });
    server.child.kill('SIGUSR2');
    await outputLine(server, 'PROFILED');
    out.profile = { rps: run.rps, durationS: profileS, ...summariseProfile(file, 20) };
    progress(
      `${database} profile of ours (${run.rps} creates/s while profiled): ${out.profile.topFunctions
        .slice(0, 6)
        .map((f) => `${f.name} ${f.percent}%`)
        .join(', ')}`,
    );
  } finally {
    await stopAll([server, provider]);
  }
}

/** The live flow on ours at `rate`, after a warm-up of the same flow. */
async function live(database: Database, rate: number): Promise<void> {
  const count = process.env.BENCH_CF_LIVE_COUNT ? Number(process.env.BENCH_CF_LIVE_COUNT) : rate * liveSeconds;
  const provider = await startProvider();
  let server: BenchProcess<{ url: string; pid: number }> | undefined;
  try {
    const databaseUrl = database === 'postgres' ? await scratchDatabase(`live_${rate}`) : undefined;
    server = await startServer('ours', serverEnv(databaseUrl, provider.ready.url, { POLLER: 'on' }));
    const common = {
      rate,
      perSocket,
      connections: liveConnections,
      pollIntervalMs,
      drainMs: 60_000,
    };
    const warm = await liveFlow(server.ready.url, API_KEY, provider.ready.url, {
      ...common,
      count: Math.min(count, rate * 2),
      prefix: 'warm',
    });
    progress(
      `${database} live warm-up at ${rate}/s: ${warm.streamsCompleted}/${warm.count} streams completed, create p99 ${warm.create.p99} ms`,
    );
    await fetch(`${provider.ready.url}/__reset`, { method: 'POST' });
    progress(`${database} live: ${count} purchases at ${rate}/s, each watched`);
    const result = await liveFlow(server.ready.url, API_KEY, provider.ready.url, {
      ...common,
      count,
      prefix: 'live',
      onProgress: (message) => progress(`${database} live ${rate}/s: ${message}`),
    });
    results.live.push({ database, ...result });
    progress(
      `${database} live ${rate}/s: create p50 ${result.create.p50} / p99 ${result.create.p99} ms; first poll late p50 ${result.firstPollLate.p50} / p99 ${result.firstPollLate.p99} ms; completed → subscriber p50 ${result.completedToSubscriber.p50} / p99 ${result.completedToSubscriber.p99} ms; ${result.streamsCompleted}/${count} streams; GETs ${JSON.stringify(result.getsPerCheckout)}`,
    );
  } finally {
    await stopAll([server, provider]);
  }
}

try {
  for (const database of databases) {
    const out: DatabaseResults = { database };
    results.databases.push(out);
    if (phases.has('ceiling') || phases.has('cpu')) await ceilingAndCpu(database, out);
    if (phases.has('statements')) await statements(database, out);
    if (phases.has('profile')) await profile(database, out);
    writeResults('create-flow', results);
  }
  if (phases.has('live')) {
    for (const database of databases) {
      await live(database, liveRate);
      writeResults('create-flow', results);
      if (database === 'postgres' && highRate > 0 && highRate !== liveRate) {
        await live(database, highRate);
        writeResults('create-flow', results);
      }
    }
  }
} finally {
  for (const name of scratch) await dropDatabase(name).catch(() => undefined);
}
results.machine.loadAverageEnd = loadavg().map((value) => round(value));
results.machine.wallMinutes = round((Date.now() - startedAt) / 60_000, 1);
progress(`create-flow results: ${writeResults('create-flow', results)}`);
const tables = report(results);
// bench/run.ts puts these tables in bench/README.md's "Create flow" section.
writeFileSync(join(RESULTS_DIR, 'create-flow.md'), tables);
console.log(`\n${tables}`);

/** The markdown tables. */
function report(r: CreateFlowResults): string {
  const lines: string[] = [];
  const cell = (value: number | null | undefined, unit = '') =>
    value === null || value === undefined || Number.isNaN(value) ? '-' : `${value}${unit}`;
  lines.push(
    `Machine: ${r.machine.cpus}; Node ${r.machine.node}; PostgreSQL ${r.machine.postgres}; ${r.machine.date}; load average ${r.machine.loadAverageStart.join(' ')} at start, ${r.machine.loadAverageEnd?.join(' ')} at end; ${r.machine.wallMinutes} min.`,
    '',
  );
  const withCeiling = r.databases.filter((d) => d.ceiling);
  if (withCeiling.length) {
    lines.push(
      `### Creates per second (closed loop, ${connections} connections, ${runs} × ${durationS} s round-robin; median, runs in brackets)`,
      '',
      '| database | ours creates/s (runs) | ours p50 / p99 ms | bare creates/s (runs) | bare p50 / p99 ms | ours / bare (target ≥ 0.5) |',
      '|---|---:|---:|---:|---:|---:|',
    );
    for (const d of withCeiling) {
      const c = d.ceiling!;
      const lat = (list: ClosedLoopRun[]) => `${median(list.map((x) => x.p50))} / ${median(list.map((x) => x.p99))}`;
      lines.push(
        `| ${d.database} | **${c.medianRps.ours}** (${c.runs.ours.map((x) => x.rps).join(', ')}) | ${lat(c.runs.ours)} | **${c.medianRps.bare}** (${c.runs.bare.map((x) => x.rps).join(', ')}) | ${lat(c.runs.bare)} | **${c.ratio}** |`,
      );
    }
    lines.push('');
  }
  const withCpu = r.databases.filter((d) => d.cpu);
  if (withCpu.length) {
    lines.push(
      `### CPU per create (${cpuCreates} one-at-a-time creates per round, ${cpuRounds} rounds; median, rounds in brackets)`,
      '',
      '| database | server | API process ms/create (rounds) | target | fake provider ms/create | PostgreSQL backends ms/create | wall p50 / p99 ms |',
      '|---|---|---:|---:|---:|---:|---:|',
    );
    for (const d of withCpu) {
      for (const kind of SERVERS) {
        const m = d.cpu!.median[kind];
        const target = kind === 'ours' ? (d.database === 'postgres' ? '≤ 3' : '≤ 6') : '';
        lines.push(
          `| ${d.database} | ${kind} | **${m.apiMsPerCreate}** (${d.cpu!.rounds[kind].map((x) => x.apiMsPerCreate).join(', ')}) | ${target} | ${m.providerMsPerCreate} | ${cell(m.postgresMsPerCreate)} | ${m.wallP50} / ${m.wallP99} |`,
        );
      }
    }
    lines.push('');
  }
  const withStatements = r.databases.filter((d) => d.statements);
  if (withStatements.length) {
    lines.push(
      `### Statements per create (${countCreates} creates each counted alone; median, range in brackets)`,
      '',
      '| database | server | statements (target ≤ 8) | transactions (target 2) | BEGIN/COMMIT | parses | Sync + Query (round trips on PostgreSQL) | protocol messages (calls into PGlite) |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
    );
    const range = (s: StatementCounts, key: keyof WireCounts) =>
      s.min[key] === s.max[key] ? `${s.median[key]}` : `${s.median[key]} (${s.min[key]}–${s.max[key]})`;
    for (const d of withStatements) {
      for (const kind of SERVERS) {
        const s = d.statements![kind];
        if (!s) continue;
        lines.push(
          `| ${d.database} | ${kind} | **${range(s, 'statements')}** | **${range(s, 'transactions')}** | ${range(s, 'transactionControl')} | ${range(s, 'parses')} | ${range(s, 'roundTrips')} | ${range(s, 'messages')} |`,
        );
      }
    }
    lines.push('');
    for (const d of withStatements) {
      for (const kind of SERVERS) {
        const s = d.statements![kind];
        if (!s) continue;
        lines.push(`**One ${kind} create on ${d.database}** (the median one):`, '');
        for (const [index, statement] of s.example.entries()) {
          const tag = isTransactionControl(statement.text)
            ? ''
            : ` _(${statement.protocol}${statement.named ? ', named' : ''}${statement.parsed ? ', parsed' : ', prepared'})_`;
          const text = statement.text.length > 220 ? `${statement.text.slice(0, 220)}…` : statement.text;
          lines.push(`${index + 1}. \`${text.replaceAll('`', "'")}\`${tag}`);
        }
        lines.push('');
      }
    }
  }
  if (r.live.length) {
    lines.push(
      `### Live flow (ours, POLL_INTERVAL_MS=${pollIntervalMs}; each purchase watched by its own subscription; fake provider completes on the 2nd GET)`,
      '',
      '| database | rate | purchases | create p50 / p99 / max ms (target p99 < 100; 250 at 300/s) | first poll late p50 / p99 ms (target p99 ≤ 250) | completed → subscriber p50 / p99 ms (target p99 < 100) | streams completed | GETs per checkout | generator late p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|---|---:|',
    );
    for (const l of r.live) {
      const gets = Object.entries(l.getsPerCheckout)
        .map(([n, c]) => `${c} × ${n}`)
        .join(', ');
      lines.push(
        `| ${l.database} | ${l.rate}/s | ${l.count} | ${l.create.p50} / **${l.create.p99}** / ${l.create.max} | ${l.firstPollLate.p50} / **${l.firstPollLate.p99}** | ${l.completedToSubscriber.p50} / **${l.completedToSubscriber.p99}** | ${l.streamsCompleted}/${l.count}${l.createFailures ? ` (${l.createFailures} creates failed)` : ''}${l.streamErrors ? ` (${l.streamErrors} stream errors)` : ''} | ${gets} | ${l.lateSendsP99} |`,
      );
    }
    lines.push('');
  }
  for (const d of r.databases.filter((x) => x.profile)) {
    const p = d.profile!;
    lines.push(
      `### Profile of ours under the closed loop (${d.database}; ${p.rps} creates/s while profiled, ${p.sampledMs} ms sampled)`,
      '',
      '| self time by package | % | top functions by self time | % |',
      '|---|---:|---|---:|',
    );
    for (let i = 0; i < Math.max(p.byPackage.length, p.topFunctions.length); i++) {
      const pkg = p.byPackage[i];
      const fn = p.topFunctions[i];
      lines.push(
        `| ${pkg ? `\`${pkg.name}\`` : ''} | ${pkg?.percent ?? ''} | ${fn ? `\`${fn.name}\`` : ''} | ${fn?.percent ?? ''} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
