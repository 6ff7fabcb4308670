/**
 * An evenly paced open-loop load generator: request i is due at start + i / rate, sent then on any
 * free keep-alive connection (or as soon as one frees up), and its latency is measured from the
 * time it was due, so a server that falls behind is charged for the wait (no coordinated omission).
 * The first `warmupS` seconds (default 2) are sent at the same pace and not counted: a fresh
 * generator opens its connections and compiles its own code then, which would otherwise be charged
 * to the server as its slowest 1%.
 * Usage: node --import tsx bench/paced.ts '{"url":…,"body":…,"headers":{…},"rate":100,"durationS":10,"connections":20}'
 * Prints one JSON line: { sent, completed, non2xx, errors, p50, p90, p99, max, lateSendsP99 } (ms).
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

interface PacedOptions {
  url: string;
  method?: 'GET' | 'POST';
  body: string;
  headers: Record<string, string>;
  rate: number;
  durationS: number;
  connections: number;
  warmupS?: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as PacedOptions;
const target = new URL(options.url);
const pool = new Pool(target.origin, { connections: options.connections, pipelining: 1 });
const warmup = Math.round(options.rate * (options.warmupS ?? 2));
const total = warmup + Math.round(options.rate * options.durationS);
const latencies: number[] = [];
const sendDelays: number[] = [];
let non2xx = 0;
let errors = 0;
let sent = 0;
const start = performance.now() + 50;

async function send(dueAt: number, counted: boolean): Promise<void> {
  if (counted) sendDelays.push(performance.now() - dueAt);
  try {
    const response = await pool.request({
      path: target.pathname + target.search,
      method: options.method ?? 'POST',
      headers: options.headers,
      body: options.method === 'GET' ? undefined : options.body,
    });
    await response.body.arrayBuffer();
    if (!counted) return;
    if (response.statusCode < 200 || response.statusCode >= 300) non2xx += 1;
    latencies.push(performance.now() - dueAt);
  } catch {
    if (counted) errors += 1;
  }
}

const pending: Promise<void>[] = [];
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    // Every request due by now goes out now; the timer's own lateness counts against the server.
    while (sent < total && start + (sent * 1000) / options.rate <= now) {
      pending.push(send(start + (sent * 1000) / options.rate, sent >= warmup));
      sent += 1;
    }
    if (sent >= total) return resolve();
    const nextDue = start + (sent * 1000) / options.rate;
    setTimeout(tick, Math.max(0, nextDue - performance.now() - 0.5));
  };
  tick();
});
await Promise.all(pending);
await pool.close();

const sorted = latencies.sort((a, b) => a - b);
const at = (q: number) =>
  Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(2));
const delays = sendDelays.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    sent: sent - warmup,
    completed: sorted.length,
    non2xx,
    errors,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Number((sorted.at(-1) ?? NaN).toFixed(2)),
    lateSendsP99: Number((delays[Math.floor(0.99 * delays.length)] ?? NaN).toFixed(2)),
  }),
);
