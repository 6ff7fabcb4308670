import { LOAD_CORE, runCommand } from './common.js';

/** One autocannon run, reduced to what the tables show. */
export interface LoadRun {
  /** Mean requests per second over the run (autocannon's requests.average). */
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  /** Answers that were not 2xx, and socket errors/timeouts: any of them voids the run. */
  non2xx: number;
  errors: number;
  /** Total requests completed. */
  requests: number;
}

/** What to send: one POST with a fixed body and headers. */
export interface LoadTarget {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/**
 * Runs the autocannon CLI pinned to the load core. `overallRate` caps the total request rate
 * (for latency at a fixed rate); without it autocannon drives `connections` as fast as it can.
 */
export async function autocannon(
  target: LoadTarget,
  options: { connections: number; durationS: number; overallRate?: number },
): Promise<LoadRun> {
  const args = [
    '-c',
    String(LOAD_CORE),
    'node_modules/.bin/autocannon',
    '-j',
    '-n',
    '-c',
    String(options.connections),
    '-d',
    String(options.durationS),
    '-m',
    'POST',
    '-b',
    target.body,
  ];
  for (const [name, value] of Object.entries(target.headers)) args.push('-H', `${name}=${value}`);
  if (options.overallRate) args.push('-R', String(Math.max(1, Math.round(options.overallRate))));
  args.push(target.url);
  const { stdout, stderr, code } = await runCommand('taskset', args);
  if (code !== 0) throw new Error(`autocannon failed (${code}): ${stderr.slice(-2000)}`);
  const result = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  };
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    requests: result.requests.total,
  };
}

/** Latency of one evenly paced open-loop run (bench/paced.ts), in milliseconds from each request's due time. */
export interface PacedRun {
  sent: number;
  completed: number;
  non2xx: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** How late the generator itself sent (p99): large values void the run. */
  lateSendsP99: number;
}

/** Sends `rate` requests per second for `durationS`, evenly spaced, from the load core. */
export async function paced(
  target: LoadTarget,
  options: { rate: number; durationS: number; connections: number },
): Promise<PacedRun> {
  const args = ['-c', String(LOAD_CORE), process.execPath, '--import', 'tsx', 'bench/paced.ts'];
  args.push(JSON.stringify({ ...target, ...options }));
  const { stdout, stderr, code } = await runCommand('taskset', args);
  if (code !== 0) throw new Error(`paced load failed (${code}): ${stderr.slice(-2000)}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as PacedRun;
}
