import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Repository root (bench/.. ). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where each workload writes its raw JSON results (git-ignored). */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

/** The core servers run on; the load generator and clients run on the other one. */
export const SERVER_CORE = '0';
export const LOAD_CORE = '1';

/** A child process started by a bench script, with the JSON it announced when ready. */
export interface BenchProcess<Ready = Record<string, unknown>> {
  pid: number;
  ready: Ready;
  child: ChildProcess;
  /** Lines the process printed after the ready line (for errors). */
  output: string[];
  /** SIGTERM, then SIGKILL after a grace period; resolves when it exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx <script>` pinned to `core` with `taskset`, and waits for the line
 * `READY {json}` it prints when it listens. Anything else it prints is kept for diagnostics.
 */
export async function startPinned<Ready = Record<string, unknown>>(
  script: string,
  env: Record<string, string | undefined>,
  core: string,
  options: { nodeArgs?: string[]; timeoutMs?: number; ulimitFiles?: number } = {},
): Promise<BenchProcess<Ready>> {
  const nodeCommand = ['node', ...(options.nodeArgs ?? []), '--import', 'tsx', script];
  // `ulimit -n` has to be raised inside the child's shell: 10,000 sockets need more descriptors than the default.
  const shellCommand = `ulimit -n ${options.ulimitFiles ?? 65536} 2>/dev/null || true; exec taskset -c ${core} ${nodeCommand.map(quote).join(' ')}`;
  const child = spawn('bash', ['-c', shellCommand], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start in time:\n${output.slice(-30).join('\n')}`)),
      options.timeoutMs ?? 120_000,
    );
    const onLine = (line: string) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as Ready);
      } else {
        output.push(line);
        if (output.length > 500) output.shift();
        if (process.env.BENCH_VERBOSE) console.log(`  [${script}] ${line}`);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code}) before it was ready:\n${output.slice(-30).join('\n')}`));
    });
  });
  return {
    pid: child.pid!,
    ready,
    child,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function quote(arg: string): string {
  return /^[\w./=:-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** Runs a command to completion and returns its stdout (throws with stderr on failure). */
export function runCommand(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
  });
}

/** Resident set size of a process in bytes, from /proc (the server's memory as the kernel sees it). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for ${pid}`);
  return Number(kb) * 1024;
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The nearest-rank percentile `p` (0-100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Writes one workload's raw results to bench/results/<name>.json. */
export function writeResults(name: string, results: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}${name}.json`;
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

/** Reads one workload's raw results, or undefined when that workload has not run. */
export function readResults<T>(name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(`${RESULTS_DIR}${name}.json`, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A progress line, timestamped, so a long run is readable as it goes. */
export function progress(message: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${message}`);
}

/** Seconds as an integer from an environment variable, or a default. */
export function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The API key every workload's servers accept (tenant `bench`). */
export const BENCH_API_KEY = 'bench-key-0123456789abcdef';

/**
 * The production-like environment this API runs with in every workload: auth on (tenant `bench`),
 * no poller, quiet logs, GraphiQL off, a rate limit no load reaches, in-memory PGlite; `overrides`
 * change or add variables (undefined removes one).
 */
export function oursEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    NODE_ENV: 'production',
    API_KEYS: `bench:${BENCH_API_KEY}`,
    POLLER: 'off',
    LOG_LEVEL: 'warn',
    GRAPHIQL: 'off',
    RATE_LIMIT_PER_MINUTE: '1000000',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
    ...overrides,
  };
}
