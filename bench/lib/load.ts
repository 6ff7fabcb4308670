import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { LOAD_CORE, percentile, runCommand } from './common.js';

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

/** What to send: one request (a POST by default, or a GET) with a fixed body and headers. */
export interface LoadTarget {
  /** For a GET, with its query string. */
  url: string;
  /** POST (the default) or GET, which sends no body. */
  method?: 'GET' | 'POST';
  /** Ignored for a GET. */
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
    target.method ?? 'POST',
    ...(target.method === 'GET' ? [] : ['-b', target.body]),
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

/** One GraphQL operation sent over graphql-ws (`graphql-transport-ws`), again and again. */
export interface WebSocketTarget {
  /** The HTTP URL of the GraphQL endpoint (`http://…/graphql`); the socket opens on the same path. */
  url: string;
  /** Sent as `connectionParams.authorization` (`Bearer <key>`). */
  authorization: string;
  query: string;
  variables?: Record<string, unknown>;
}

/**
 * autocannon's closed loop over graphql-ws, from the load core: `connections` sockets, each with one
 * operation in flight (`subscribe`, then the next one as soon as `complete` arrives) for
 * `durationS`. A run counts the operations completed in the window; one answered with `errors`
 * (or an `error` message) counts as non-2xx, a socket that fails as an error.
 */
export async function webSocketLoad(
  target: WebSocketTarget,
  options: { connections: number; durationS: number },
): Promise<LoadRun> {
  const script = fileURLToPath(import.meta.url);
  const args = ['-c', String(LOAD_CORE), process.execPath, '--import', 'tsx', script, WS_LOAD_FLAG];
  args.push(JSON.stringify({ ...target, ...options }));
  const { stdout, stderr, code } = await runCommand('taskset', args);
  if (code !== 0) throw new Error(`graphql-ws load failed (${code}): ${stderr.slice(-2000)}`);
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadRun;
}

const WS_LOAD_FLAG = '--graphql-ws-load';

/** The generator itself (this file run with WS_LOAD_FLAG): prints one LoadRun as JSON. */
async function runWebSocketLoad(options: WebSocketTarget & { connections: number; durationS: number }): Promise<void> {
  const url = options.url.replace(/^http/, 'ws');
  const payload = JSON.stringify({ query: options.query, variables: options.variables ?? {} });
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let windowEnd = Number.POSITIVE_INFINITY;
  const sockets = await Promise.all(
    Array.from({ length: options.connections }, () => openSocket(url, options.authorization)),
  );
  const started = performance.now();
  windowEnd = started + options.durationS * 1000;
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          let id = 0;
          let sentAt = 0;
          let failed = false;
          const send = () => {
            if (performance.now() >= windowEnd) return resolve();
            id++;
            failed = false;
            sentAt = performance.now();
            socket.send(`{"id":"${id}","type":"subscribe","payload":${payload}}`);
          };
          socket.on('message', (data: Buffer) => {
            const text = data.toString();
            if (text.startsWith('{"type":"ping"')) return void socket.send('{"type":"pong"}');
            if (text.includes('"type":"next"')) {
              if (text.includes('"errors"')) failed = true;
              return;
            }
            if (text.includes('"type":"error"')) failed = true;
            else if (!text.includes('"type":"complete"')) return;
            if (failed) non2xx++;
            latencies.push(performance.now() - sentAt);
            send();
          });
          socket.once('close', () => {
            errors++;
            resolve();
          });
          send();
        }),
    ),
  );
  const elapsedS = (performance.now() - started) / 1000;
  for (const socket of sockets) socket.terminate();
  const run: LoadRun = {
    rps: latencies.length / elapsedS,
    p50: latencies.length ? Math.round(percentile(latencies, 50)) : 0,
    p99: latencies.length ? Math.round(percentile(latencies, 99)) : 0,
    non2xx,
    errors,
    requests: latencies.length,
  };
  console.log(JSON.stringify(run));
}

/** A graphql-ws socket past `connection_ack`. */
function openSocket(url: string, authorization: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization } })));
    socket.once('message', (data: Buffer) => {
      if (data.toString().includes('"connection_ack"')) resolve(socket);
      else reject(new Error(`no connection_ack: ${data.toString().slice(0, 200)}`));
    });
  });
}

if (process.argv[2] === WS_LOAD_FLAG) await runWebSocketLoad(JSON.parse(process.argv[3] ?? '{}'));
