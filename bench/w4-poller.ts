/**
 * W4 poller: 10,000 PROCESSING Smartcheckout checkouts (bulk-inserted with their poll schedules,
 * due spread over the first poll interval) polled by this API's poller (POLL_INTERVAL_MS=1000,
 * default backoff and concurrency) against a provider answering each GET in 50 ms
 * (bench/servers/slow-smartcheckout.ts, on the load core). For a fixed window it measures the
 * GETs per second the provider received, the poller's schedule lag (p99 interpolated from the
 * app's checkout_poller_schedule_lag_seconds histogram on /metrics), and compares the provider
 * GETs with 1 subscriber and with 1,000 subscribers (one on each of 1,000 checkouts) watching.
 *
 * Sustained (BENCH_W4_SUSTAINED=0 skips it): 10,000 checkouts created at 100 a second (written
 * PROCESSING with a poll due at once, as a create leaves them), each completing at the provider 60 s
 * after its first GET; it measures the schedule lag and the server's CPU per poll
 * (process_cpu_seconds_total on /metrics) until the last has completed.
 * Writes bench/results/w4.json.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_API_KEY,
  envNumber,
  LOAD_CORE,
  median,
  oursEnv,
  progress,
  SERVER_CORE,
  sleep,
  startPinned,
  writeResults,
} from './lib/common.js';

const API_KEY = BENCH_API_KEY;
const PROVIDER_KEY = 'bench-provider-key';
const checkouts = envNumber('BENCH_W4_CHECKOUTS', 10_000);
const windowS = envNumber('BENCH_W4_WINDOW', 25);
const runs = envNumber('BENCH_W4_RUNS', 3);
const pollIntervalMs = envNumber('BENCH_W4_POLL_INTERVAL_MS', 1_000);
const providerDelayMs = envNumber('BENCH_W4_PROVIDER_DELAY_MS', 50);
/** POLL_CONCURRENCY values measured side by side: the default (32) and one sized for 10,000 schedules. */
const concurrencies = (process.env.BENCH_W4_CONCURRENCIES ?? '32,128').split(',').map((value) => Number(value.trim()));

/** One W4 run. */
export interface W4Run {
  /** POLL_CONCURRENCY of the server. */
  concurrency: number;
  subscribers: number;
  /** Provider GETs per second over the window. */
  getsPerSecond: number;
  /** Polls the poller counted (checkout_poller_polls_total) over the window. */
  polls: number;
  /** Provider GETs in the window: all, and of the 1,000 checkouts the subscribers may watch. */
  gets: number;
  getsOfWatched: number;
  /** Schedule lag percentiles in ms, interpolated within the histogram's buckets. */
  lagP50Ms: number;
  lagP99Ms: number;
  /** Lag observations (polls started) in the window. */
  lagCount: number;
  /** Server CPU seconds (user + system) over the window. */
  cpuSeconds: number;
}

/** Everything W4 measured. */
export interface W4Results {
  settings: {
    checkouts: number;
    windowS: number;
    pollIntervalMs: number;
    providerDelayMs: number;
    runs: number;
    concurrencies: number[];
  };
  runs: W4Run[];
  /** Keyed `<concurrency>:<subscribers>`. */
  median: Record<string, { getsPerSecond: number; lagP99Ms: number; gets: number; getsOfWatched: number }>;
  /** Server CPU ms per poll in the burst runs (median over runs, per concurrency). */
  cpuMsPerPoll?: Record<string, number>;
  sustained?: W4Sustained;
}

/** W4 sustained: checkouts created at a steady rate, each completing after a while. */
export interface W4Sustained {
  rate: number;
  checkouts: number;
  completeAfterMs: number;
  concurrency: number;
  windowS: number;
  polls: number;
  /** Polls that changed a status (PROCESSING -> COMPLETED): every checkout once when all completed. */
  completed: number;
  gets: number;
  lagP50Ms: number;
  lagP99Ms: number;
  cpuSeconds: number;
  cpuMsPerPoll: number;
}

interface Histogram {
  buckets: [number, number][];
  count: number;
}

async function scrape(url: string): Promise<{ lag: Histogram; polls: number; changed: number; cpuSeconds: number }> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })).text();
  const buckets: [number, number][] = [];
  let count = 0;
  let polls = 0;
  let changed = 0;
  let cpuSeconds = 0;
  for (const line of text.split('\n')) {
    const bucket = /^checkout_poller_schedule_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/.exec(line);
    if (bucket) buckets.push([bucket[1] === '+Inf' ? Infinity : Number(bucket[1]), Number(bucket[2])]);
    const total = /^checkout_poller_schedule_lag_seconds_count (\d+)/.exec(line);
    if (total) count = Number(total[1]);
    const poll = /^checkout_poller_polls_total\{[^}]*\} (\d+)/.exec(line);
    if (poll) polls += Number(poll[1]);
    if (/^checkout_poller_polls_total\{[^}]*outcome="changed"/.test(line)) changed += Number(line.split(' ').pop());
    const cpu = /^process_cpu_seconds_total (\S+)/.exec(line);
    if (cpu) cpuSeconds = Number(cpu[1]);
  }
  return { lag: { buckets, count }, polls, changed, cpuSeconds };
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the quantile (ms). */
function quantileMs(before: Histogram, after: Histogram, q: number): number {
  const count = after.count - before.count;
  if (count === 0) return NaN;
  const rank = q * count;
  let lower = 0;
  let previous = 0;
  for (const [index, [le, cumulative]] of after.buckets.entries()) {
    const inWindow = cumulative - (before.buckets[index]?.[1] ?? 0);
    if (inWindow >= rank) {
      if (le === Infinity) return lower * 1000;
      return (lower + ((le - lower) * (rank - previous)) / Math.max(1, inWindow - previous)) * 1000;
    }
    lower = le;
    previous = inWindow;
  }
  return NaN;
}

async function run(concurrency: number, subscribers: number): Promise<W4Run> {
  const provider = await startPinned<{ url: string }>(
    'bench/servers/slow-smartcheckout.ts',
    { BENCH_PROVIDER_DELAY_MS: String(providerDelayMs), BENCH_PROVIDER_KEY: PROVIDER_KEY },
    LOAD_CORE,
  );
  const server = await startPinned<{ url: string; watchIds: string[] }>(
    'bench/servers/ours.ts',
    oursEnv({
      BENCH_TENANT: 'bench',
      // Its subscribers all come from this one address: past the per-address limit meant for floods.
      LIMIT_MAX_CONNECTIONS_PER_ADDRESS: '0',
      BENCH_POLL_SEED: String(checkouts),
      POLLER: 'on',
      POLL_INTERVAL_MS: String(pollIntervalMs),
      POLL_CONCURRENCY: String(concurrency),
      LOG_LEVEL: 'error',
      SMARTCHECKOUT_BASE_URL: provider.ready.url,
      SMARTCHECKOUT_API_KEY: PROVIDER_KEY,
    }),
    SERVER_CORE,
    { timeoutMs: 300_000 },
  );
  const idsFile = join(tmpdir(), `bench-w4-ids-${process.pid}.json`);
  const watchedProviderIds = Array.from({ length: 1_000 }, (_, i) => `sc_bench_${i}`).join(',');
  try {
    const start = await scrape(server.ready.url);
    const startedAt = Date.now();
    const watch = server.ready.watchIds.slice(0, subscribers);
    writeFileSync(idsFile, JSON.stringify(watch));
    const clients = await startPinned(
      'bench/w3-clients.ts',
      {
        W3_URL: server.ready.url,
        W3_API_KEY: API_KEY,
        W3_IDS_FILE: idsFile,
        W3_CLIENTS: String(subscribers),
        W3_TIMEOUT_MS: String(windowS * 2_000),
      },
      LOAD_CORE,
    );
    await sleep(Math.max(0, windowS * 1000 - (Date.now() - startedAt)));
    const end = await scrape(server.ready.url);
    const elapsedS = (Date.now() - startedAt) / 1000;
    const stats = (await (await fetch(`${provider.ready.url}/__stats?ids=${watchedProviderIds}`)).json()) as {
      gets: number;
      getsOf: number;
    };
    await clients.stop();
    return {
      concurrency,
      subscribers,
      getsPerSecond: Math.round(stats.gets / elapsedS),
      polls: end.polls - start.polls,
      gets: stats.gets,
      getsOfWatched: stats.getsOf,
      lagP50Ms: Math.round(quantileMs(start.lag, end.lag, 0.5)),
      lagP99Ms: Math.round(quantileMs(start.lag, end.lag, 0.99)),
      lagCount: end.lag.count - start.lag.count,
      cpuSeconds: end.cpuSeconds - start.cpuSeconds,
    };
  } finally {
    await server.stop();
    await provider.stop();
    rmSync(idsFile, { force: true });
  }
}

const sustainedRate = envNumber('BENCH_W4_SUSTAINED_RATE', 100);
const sustainedCheckouts = envNumber('BENCH_W4_SUSTAINED_CHECKOUTS', 10_000);
const completeAfterMs = envNumber('BENCH_W4_COMPLETE_AFTER_MS', 60_000);
const sustainedConcurrency = envNumber('BENCH_W4_SUSTAINED_CONCURRENCY', 128);

/** The sustained scenario: creation at `sustainedRate`/s until `sustainedCheckouts`, then until all completed. */
async function sustained(): Promise<W4Sustained> {
  const provider = await startPinned<{ url: string }>(
    'bench/servers/slow-smartcheckout.ts',
    {
      BENCH_PROVIDER_DELAY_MS: String(providerDelayMs),
      BENCH_PROVIDER_KEY: PROVIDER_KEY,
      BENCH_PROVIDER_COMPLETE_AFTER_MS: String(completeAfterMs),
    },
    LOAD_CORE,
  );
  const server = await startPinned<{ url: string }>(
    'bench/servers/ours.ts',
    oursEnv({
      BENCH_TENANT: 'bench',
      // Its subscribers all come from this one address: past the per-address limit meant for floods.
      LIMIT_MAX_CONNECTIONS_PER_ADDRESS: '0',
      BENCH_POLL_TRICKLE: `${sustainedRate},${sustainedCheckouts}`,
      POLLER: 'on',
      POLL_INTERVAL_MS: String(pollIntervalMs),
      POLL_CONCURRENCY: String(sustainedConcurrency),
      LOG_LEVEL: 'error',
      SMARTCHECKOUT_BASE_URL: provider.ready.url,
      SMARTCHECKOUT_API_KEY: PROVIDER_KEY,
    }),
    SERVER_CORE,
    { timeoutMs: 300_000 },
  );
  try {
    const start = await scrape(server.ready.url);
    const startedAt = Date.now();
    // Creation takes checkouts / rate seconds; the last completes completeAfterMs after its first
    // poll; the rest of the window lets the slowest backoff step (30 s at most) come round.
    const deadline = startedAt + (sustainedCheckouts / sustainedRate) * 1000 + completeAfterMs + 35_000;
    let end = start;
    while (Date.now() < deadline) {
      await sleep(5_000);
      end = await scrape(server.ready.url);
      progress(
        `W4 sustained: ${Math.round((Date.now() - startedAt) / 1000)} s, ${end.polls - start.polls} polls, ${end.changed - start.changed} of ${sustainedCheckouts} completed`,
      );
      if (end.changed - start.changed >= sustainedCheckouts) break;
    }
    const stats = (await (await fetch(`${provider.ready.url}/__stats`)).json()) as { gets: number };
    const polls = end.polls - start.polls;
    const cpuSeconds = end.cpuSeconds - start.cpuSeconds;
    return {
      rate: sustainedRate,
      checkouts: sustainedCheckouts,
      completeAfterMs,
      concurrency: sustainedConcurrency,
      windowS: Math.round((Date.now() - startedAt) / 1000),
      polls,
      completed: end.changed - start.changed,
      gets: stats.gets,
      lagP50Ms: Math.round(quantileMs(start.lag, end.lag, 0.5)),
      lagP99Ms: Math.round(quantileMs(start.lag, end.lag, 0.99)),
      cpuSeconds,
      cpuMsPerPoll: polls ? (cpuSeconds * 1000) / polls : NaN,
    };
  } finally {
    await server.stop();
    await provider.stop();
  }
}

const results: W4Results = {
  settings: { checkouts, windowS, pollIntervalMs, providerDelayMs, runs, concurrencies },
  runs: [],
  median: {},
};
for (let index = 0; index < runs; index++) {
  // Every configuration once per round, so drift in the machine's load hits them all alike.
  for (const concurrency of concurrencies) {
    for (const subscribers of [1, 1_000]) {
      const label = `W4 run ${index + 1}/${runs}, POLL_CONCURRENCY=${concurrency}, ${subscribers} subscriber(s)`;
      progress(`${label}: seeding ${checkouts} checkouts, polling for ${windowS} s`);
      const result = await run(concurrency, subscribers);
      results.runs.push(result);
      progress(
        `${label}: ${result.getsPerSecond} GET/s (${result.gets} GETs, ${result.getsOfWatched} of the 1,000 watchable, ${result.polls} polls), schedule lag p50 ${result.lagP50Ms} ms, p99 ${result.lagP99Ms} ms`,
      );
    }
  }
}
for (const concurrency of concurrencies) {
  for (const subscribers of [1, 1_000]) {
    const mine = results.runs.filter((r) => r.concurrency === concurrency && r.subscribers === subscribers);
    results.median[`${concurrency}:${subscribers}`] = {
      getsPerSecond: median(mine.map((r) => r.getsPerSecond)),
      lagP99Ms: median(mine.map((r) => r.lagP99Ms)),
      gets: median(mine.map((r) => r.gets)),
      getsOfWatched: median(mine.map((r) => r.getsOfWatched)),
    };
  }
}
results.cpuMsPerPoll = Object.fromEntries(
  concurrencies.map((concurrency) => {
    const mine = results.runs.filter((r) => r.concurrency === concurrency && r.subscribers === 1);
    return [String(concurrency), median(mine.map((r) => (r.polls ? (r.cpuSeconds * 1000) / r.polls : NaN)))];
  }),
);
if (process.env.BENCH_W4_SUSTAINED !== '0') {
  progress(
    `W4 sustained: ${sustainedCheckouts} checkouts at ${sustainedRate}/s, each completing ${completeAfterMs} ms after its first poll`,
  );
  results.sustained = await sustained();
  const r = results.sustained;
  progress(
    `W4 sustained: ${r.polls} polls, ${r.completed} completed, lag p50 ${r.lagP50Ms} ms p99 ${r.lagP99Ms} ms, ${r.cpuMsPerPoll.toFixed(3)} ms CPU per poll`,
  );
}
progress(`W4 results: ${writeResults('w4', results)}`);
