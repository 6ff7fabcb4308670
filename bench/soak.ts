/**
 * Memory soak (issue 21, goal 5: "memory has a ceiling"). This API as production runs it
 * (bench/servers/soak-server.ts: buildApp, NODE_ENV=production, the poller on, the built-in
 * provider sandboxes, PGlite in a temporary data folder, or a fresh PostgreSQL database with
 * BENCH_SOAK_DB=postgres) on core 0 under `node --expose-gc`, and a steady, evenly paced mixed load
 * from this process on core 1 for BENCH_SOAK_MINUTES (30):
 *
 * - reads: `checkout(id)` as JSON POSTs, `checkouts(first: 20)` pages, and `checkout(id)` as GETs
 *   with the query in the URL (as a CDN-cached client sends it);
 * - creates against the sandboxes: Smartcheckout checkouts that the poller completes (or fails)
 *   on the sandbox's third poll, PayerVault links (one in ten for an empty cart: a typed error),
 *   Stan sessions; every create has an idempotency key and one in ten repeats the previous one;
 * - graphql-ws subscriptions, one new socket each, and SSE subscriptions (half POST, half GET),
 *   each on the newest Smartcheckout checkout, watched until it completes; one in ten watches a
 *   finished checkout (current state, then complete); about a third are abandoned by the client
 *   after the first event (WS: `complete` message or a dropped socket; SSE: the request aborted).
 *
 * Every BENCH_SOAK_SAMPLE_SECONDS (30) the server runs two full collections on SIGUSR2 and reports
 * heapUsed, heapTotal, external, arrayBuffers, RSS, active handles and the read model's entries;
 * this side adds open file descriptors (/proc), the load average and the number of series on
 * /metrics. Verdict: a least-squares line through the samples of the last 20 minutes (the last
 * two thirds of a shorter run), slope in MB per 10 minutes, flat when it is under
 * BENCH_SOAK_TOLERANCE_PCT (1) percent of that window's mean per 10 minutes.
 *
 * Writes bench/results/soak.json and rewrites the soak section of bench/README.md (between its
 * `bench/soak.ts` markers; nothing else). BENCH_SOAK_REPORT_ONLY=1 only rewrites that section.
 *
 * For a leak hunt, BENCH_SOAK_SNAPSHOT_DIR=<dir> BENCH_SOAK_SNAPSHOTS=19,61 writes heap snapshots
 * after those samples (compare them in Chrome DevTools' Memory tab). Writing one raises the
 * server's RSS by about 200 MB for the rest of the run (the snapshot's own memory, kept by the
 * allocator), so a run with snapshots says nothing about RSS.
 *
 * Usage: npx tsx bench/soak.ts   (BENCH_SOAK_MINUTES=3 for a trial)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  BENCH_API_KEY,
  type BenchProcess,
  envNumber,
  LOAD_CORE,
  oursEnv,
  percentile,
  progress,
  ROOT,
  readResults,
  SERVER_CORE,
  sleep,
  startPinned,
  writeResults,
} from './lib/common.js';
import { CHECKOUT_QUERY, CHECKOUTS_QUERY, seedCheckouts } from './lib/graphql.js';
import { CSRF_HEADER } from '../src/http/security.js';
import { dropDatabase, freshDatabase } from './lib/postgres.js';

const README = fileURLToPath(new URL('./README.md', import.meta.url));
const BEGIN = '<!-- bench/soak.ts: begin (rewritten by each soak run) -->';
const END = '<!-- bench/soak.ts: end -->';
const MB = 1024 * 1024;

/** Operations per second of each kind (evenly paced, open loop). */
const RATES = {
  read: envNumber('BENCH_SOAK_READS_PER_S', 20),
  page: envNumber('BENCH_SOAK_PAGES_PER_S', 2),
  getRead: envNumber('BENCH_SOAK_GET_READS_PER_S', 2),
  create: envNumber('BENCH_SOAK_CREATES_PER_S', 2),
  ws: envNumber('BENCH_SOAK_WS_PER_S', 4),
  sse: envNumber('BENCH_SOAK_SSE_PER_S', 4),
};
type OpName = keyof typeof RATES;

/** One memory sample: the server's figures after two full collections, and this side's. */
export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  handles: number;
  fds: number;
  readModelEntries: number;
  metricSeries: number;
  openSubscriptions: number;
  load1: number;
  gcMs: number;
}

/** A least-squares line through one figure over the verdict window. */
export interface SoakTrend {
  meanMb: number;
  /** MB per 10 minutes. */
  slopeMbPer10Min: number;
  /** Standard error of the slope, MB per 10 minutes. */
  slopeSeMbPer10Min: number;
  /** The slope as a percentage of the mean, per 10 minutes. */
  slopePctPer10Min: number;
  minMb: number;
  maxMb: number;
  flat: boolean;
}

/** Counts of one kind of operation. */
export interface SoakOpCounts {
  started: number;
  ok: number;
  failed: number;
  /** Not started because `maxInFlight` were still running (the server fell behind). */
  skipped: number;
  /** Milliseconds from due time to the answer (subscriptions: to the first event). */
  p50Ms: number;
  p99Ms: number;
  lastError?: string;
}

/** Everything a soak run wrote. */
export interface SoakResults {
  settings: {
    minutes: number;
    sampleSeconds: number;
    windowMinutes: number;
    tolerancePct: number;
    rates: typeof RATES;
    database: string;
    readModelMaxEntries: number;
    serverCore: string;
    loadCore: string;
  };
  machine: {
    cpu: string;
    cores: number;
    node: string;
    date: string;
    loadStart: string;
    loadEnd: string;
    /** The commit the server ran (with `+changes` when the tree had uncommitted changes). */
    commit?: string;
  };
  ops: Record<OpName, SoakOpCounts>;
  subscriptions: {
    ws: { watchedToEnd: number; finishedCheckout: number; abandonedComplete: number; abandonedDropped: number };
    sse: { watchedToEnd: number; finishedCheckout: number; abandoned: number; get: number; post: number };
  };
  creates: { smartcheckout: number; payervault: number; stan: number; replays: number; typedErrors: number };
  statusChangesByPoller: number;
  samples: SoakSample[];
  /** A sample after the load stopped and open streams ended (not in the trend). */
  idle?: SoakSample;
  trend: { heapUsed: SoakTrend; rss: SoakTrend; external: SoakTrend };
  verdict: 'flat' | 'growing';
  serverLogLines: string[];
}

// ---------------------------------------------------------------------------------------------
// Load
// ---------------------------------------------------------------------------------------------

const AUTH = { authorization: `Bearer ${BENCH_API_KEY}` };
const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' };
const SUBSCRIPTION = 'subscription Watch($id: ID!) { checkoutStatusChanged(id: $id) { id status updatedAt } }';
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'EXPIRED', 'UNKNOWN']);
const CREATE_SMART = `mutation CreateSmart($input: CreateSmartCheckoutInput!) { createSmartCheckout(input: $input) { __typename ... on CreateSmartCheckoutSuccess { checkout { id status } } ... on Error { message } } }`;
const CREATE_PAYERVAULT = `mutation CreatePayerVault($input: CreatePayerVaultCheckoutInput!) { createPayerVaultCheckout(input: $input) { __typename ... on CreatePayerVaultCheckoutSuccess { checkout { id status } } ... on Error { message } } }`;
const CREATE_STAN = `mutation CreateStan($input: CreateStanCheckoutInput!) { createStanCheckout(input: $input) { __typename ... on CreateStanCheckoutSuccess { checkout { id status } } ... on Error { message } } }`;

/** Latencies kept per kind: a bounded reservoir, so the generator's own memory stays flat too. */
class Reservoir {
  private readonly values: number[] = [];
  private seen = 0;
  add(value: number): void {
    this.seen += 1;
    if (this.values.length < 20_000) this.values.push(value);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < this.values.length) this.values[slot] = value;
    }
  }
  percentile(p: number): number {
    return this.values.length ? Math.round(percentile(this.values, p) * 10) / 10 : Number.NaN;
  }
}

class OpStats {
  started = 0;
  ok = 0;
  failed = 0;
  skipped = 0;
  inFlight = 0;
  lastError: string | undefined;
  readonly latencies = new Reservoir();
  summary(): SoakOpCounts {
    return {
      started: this.started,
      ok: this.ok,
      failed: this.failed,
      skipped: this.skipped,
      p50Ms: this.latencies.percentile(50),
      p99Ms: this.latencies.percentile(99),
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}

class SoakLoad {
  readonly stats = Object.fromEntries(Object.keys(RATES).map((name) => [name, new OpStats()])) as Record<
    OpName,
    OpStats
  >;
  readonly ws = { watchedToEnd: 0, finishedCheckout: 0, abandonedComplete: 0, abandonedDropped: 0 };
  readonly sse = { watchedToEnd: 0, finishedCheckout: 0, abandoned: 0, get: 0, post: 0 };
  readonly creates = { smartcheckout: 0, payervault: 0, stan: 0, replays: 0, typedErrors: 0 };
  /** Every checkout id created (reads pick from them). */
  private readonly ids: string[];
  /** Smartcheckout checkouts the poller has not finished yet, newest last. */
  private readonly processing: string[] = [];
  /** Checkouts seen in a terminal status (subscriptions to them complete at once). */
  private readonly finished: string[] = [];
  /** The seeded Smartcheckout checkouts (every other seed), watched before the first create answered. */
  private readonly seededSmart: string[];
  private running = true;
  private createCount = 0;
  private lastCreate: { query: string; input: Record<string, unknown> } | undefined;
  /** Subscriptions opened so far, per transport (each transport gets the whole mix). */
  private readonly subscriptionCounts = { ws: 0, sse: 0 };

  constructor(
    private readonly url: string,
    seeded: string[],
  ) {
    this.ids = [...seeded];
    this.seededSmart = seeded.filter((_, i) => i % 2 === 1);
  }

  /** Starts every kind of operation at its rate; resolves when `stop()` was called and all schedulers ended. */
  run(): Promise<void> {
    const caps: Record<OpName, number> = { read: 64, page: 16, getRead: 16, create: 16, ws: 400, sse: 400 };
    return Promise.all(
      (Object.keys(RATES) as OpName[]).map((name) =>
        this.pace(this.stats[name], RATES[name], caps[name], () => this.operation(name)),
      ),
    ).then(() => undefined);
  }

  stop(): void {
    this.running = false;
  }

  /** Operations still running (open subscriptions included). */
  get inFlight(): number {
    return Object.values(this.stats).reduce((sum, s) => sum + s.inFlight, 0);
  }

  /** Runs `op` every 1/rate seconds from start (due times fixed in advance), at most `cap` at once. */
  private async pace(stats: OpStats, rate: number, cap: number, op: () => Promise<number>): Promise<void> {
    const start = performance.now();
    for (let i = 0; this.running; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!this.running) break;
      if (stats.inFlight >= cap) {
        stats.skipped += 1;
        continue;
      }
      stats.inFlight += 1;
      stats.started += 1;
      op()
        .then(
          (firstAnswerAt) => {
            stats.ok += 1;
            stats.latencies.add(firstAnswerAt - due);
          },
          (error: unknown) => {
            stats.failed += 1;
            stats.lastError = error instanceof Error ? error.message : String(error);
          },
        )
        .finally(() => {
          stats.inFlight -= 1;
        });
    }
  }

  /** One operation of kind `name`; resolves with the time of its answer (or first event). */
  private operation(name: OpName): Promise<number> {
    switch (name) {
      case 'read':
        return this.read();
      case 'page':
        return this.page();
      case 'getRead':
        return this.getRead();
      case 'create':
        return this.create();
      case 'ws':
        return this.wsSubscription();
      case 'sse':
        return this.sseSubscription();
    }
  }

  private randomId(): string {
    return this.ids[Math.floor(Math.random() * this.ids.length)]!;
  }

  private async post<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
    if (response.status !== 200 || !body.data || body.errors)
      throw new Error(`HTTP ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
    return body.data;
  }

  private async read(): Promise<number> {
    const id = this.randomId();
    const data = await this.post<{ checkout: { id: string } | null }>(CHECKOUT_QUERY, { id });
    if (data.checkout?.id !== id) throw new Error(`checkout(${id}) answered ${JSON.stringify(data)}`);
    return performance.now();
  }

  private async page(): Promise<number> {
    const data = await this.post<{ checkouts: { edges: unknown[] } }>(CHECKOUTS_QUERY, {});
    if (data.checkouts.edges.length === 0) throw new Error('empty page');
    return performance.now();
  }

  /** `checkout(id)` as a GET with the query and variables in the URL, through Yoga. */
  private async getRead(): Promise<number> {
    const id = this.randomId();
    const search = new URLSearchParams({ query: CHECKOUT_QUERY, variables: JSON.stringify({ id }) });
    const response = await fetch(`${this.url}/graphql?${search}`, {
      headers: { ...AUTH, accept: 'application/json', [CSRF_HEADER]: 'soak' },
    });
    const body = (await response.json()) as { data?: { checkout: { id: string } | null } };
    if (response.status !== 200 || body.data?.checkout?.id !== id)
      throw new Error(`GET checkout(${id}): HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
    return performance.now();
  }

  /** A create of the next kind in turn (Smartcheckout every other one), or a replay of the previous one. */
  private async create(): Promise<number> {
    const n = this.createCount++;
    let request: { query: string; input: Record<string, unknown> };
    const replay = n % 10 === 9 && this.lastCreate !== undefined;
    if (replay) request = this.lastCreate!;
    else if (n % 2 === 0) {
      // Completed (or, one in five, failed) on the sandbox's third poll.
      const outcome = n % 10 === 4 ? 'failed' : 'completed';
      request = {
        query: CREATE_SMART,
        input: {
          productUrl: `https://store-${n % 20}.example/item/${n}?sandbox_after_polls=3&sandbox_outcome=${outcome}&sandbox_amount=9.99`,
          email: 'ada@example.com',
          idempotencyKey: `soak-${n}`,
        },
      };
    } else if (n % 4 === 1) {
      request = {
        query: CREATE_PAYERVAULT,
        input: { customerId: n % 40 === 1 ? `empty-${n}` : `cust-${n}`, idempotencyKey: `soak-${n}` },
      };
    } else {
      request = {
        query: CREATE_STAN,
        input: {
          returnUrl: 'https://shop.example/return',
          lineItems: [
            { productId: `sku-${n}-a`, quantity: 2, unitPrice: 1250, description: 'Espresso cups', sku: `CUP-${n}` },
            { productId: `sku-${n}-b`, quantity: 1, unitPrice: 3900, description: 'Grinder', sku: `GRD-${n}` },
          ],
          taxRate: 20,
          sessionId: `cart-${n}`,
          idempotencyKey: `soak-${n}`,
        },
      };
    }
    if (!replay) this.lastCreate = request;
    const data = await this.post<Record<string, { __typename: string; checkout?: { id: string }; message?: string }>>(
      request.query,
      { input: request.input },
    );
    const result = Object.values(data)[0]!;
    const answeredAt = performance.now();
    if (replay) {
      this.creates.replays += 1;
      return answeredAt;
    }
    if (!result.checkout) {
      if (result.__typename === 'EmptyCartError') {
        this.creates.typedErrors += 1;
        return answeredAt;
      }
      throw new Error(`create answered ${JSON.stringify(result)}`);
    }
    this.ids.push(result.checkout.id);
    if (request.query === CREATE_SMART) {
      this.creates.smartcheckout += 1;
      this.processing.push(result.checkout.id);
      if (this.processing.length > 50) this.processing.shift();
    } else if (request.query === CREATE_PAYERVAULT) this.creates.payervault += 1;
    else this.creates.stan += 1;
    return answeredAt;
  }

  /** What the next subscription watches and how it ends. */
  private nextSubscription(transport: 'ws' | 'sse'): {
    n: number;
    id: string;
    finishedCheckout: boolean;
    abandon: 0 | 1 | 2;
  } {
    const n = this.subscriptionCounts[transport]++;
    const finishedCheckout = n % 10 === 0 && this.finished.length > 0;
    const id = finishedCheckout
      ? this.finished[Math.floor(Math.random() * this.finished.length)]!
      : (this.processing.at(-1) ?? this.seededSmart[n % this.seededSmart.length]!);
    // About a third abandoned after the first event: 0 watches to the end, 1 and 2 leave early.
    const abandon = finishedCheckout ? 0 : ([0, 0, 1, 0, 2, 0] as const)[n % 6]!;
    return { n, id, finishedCheckout, abandon };
  }

  /** Remembers a checkout seen in a terminal status. */
  private sawTerminal(id: string): void {
    const at = this.processing.indexOf(id);
    if (at >= 0) this.processing.splice(at, 1);
    if (!this.finished.includes(id)) {
      this.finished.push(id);
      if (this.finished.length > 200) this.finished.shift();
    }
  }

  /** One graphql-ws socket with one subscription; resolves at its first event, after the stream ended. */
  private wsSubscription(): Promise<number> {
    const { id, finishedCheckout, abandon } = this.nextSubscription('ws');
    const client: Client = createClient({
      url: `${this.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: AUTH,
      lazy: true,
      retryAttempts: 0,
    });
    return new Promise<number>((resolve, reject) => {
      let firstAt: number | undefined;
      let terminal = false;
      const timer = setTimeout(() => finish(new Error(`WS ${id}: no end in 60 s`)), 60_000);
      const finish = (error?: Error) => {
        clearTimeout(timer);
        // dispose() rejects (with the CloseEvent) when the socket closed before it was acknowledged.
        Promise.resolve(client.dispose()).catch(() => undefined);
        if (error) reject(error);
        else resolve(firstAt ?? performance.now());
      };
      const unsubscribe = client.subscribe<{ checkoutStatusChanged: { status: string } }>(
        { query: SUBSCRIPTION, variables: { id } },
        {
          next: (message) => {
            const status = message.data?.checkoutStatusChanged.status;
            if (!status) return finish(new Error(`WS ${id}: ${JSON.stringify(message).slice(0, 300)}`));
            if (TERMINAL.has(status)) {
              terminal = true;
              this.sawTerminal(id);
            }
            if (firstAt !== undefined) return;
            firstAt = performance.now();
            if (abandon === 1) {
              this.ws.abandonedComplete += 1;
              unsubscribe();
              finish();
            } else if (abandon === 2) {
              // The client goes away without a word: the server sees the socket drop.
              this.ws.abandonedDropped += 1;
              client.terminate();
              finish();
            }
          },
          error: (error) => finish(new Error(`WS ${id}: ${error instanceof Error ? error.message : closeText(error)}`)),
          complete: () => {
            if (abandon !== 0) return;
            if (!terminal) return finish(new Error(`WS ${id}: completed before a terminal status`));
            if (finishedCheckout) this.ws.finishedCheckout += 1;
            else this.ws.watchedToEnd += 1;
            finish();
          },
        },
      );
    });
  }

  /** One SSE subscription (POST or GET); resolves at its first event, after the stream ended or was aborted. */
  private async sseSubscription(): Promise<number> {
    const { n, id, finishedCheckout, abandon } = this.nextSubscription('sse');
    // POST and GET in turns of three, so that both take every part of the mix above.
    const useGet = Math.floor(n / 3) % 2 === 1;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`SSE ${id}: no end in 60 s`)), 60_000);
    const headers = { ...AUTH, accept: 'text/event-stream' };
    try {
      const response = useGet
        ? await fetch(
            `${this.url}/graphql?${new URLSearchParams({ query: SUBSCRIPTION, variables: JSON.stringify({ id }) })}`,
            { headers: { ...headers, [CSRF_HEADER]: 'soak' }, signal: controller.signal },
          )
        : await fetch(`${this.url}/graphql`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ query: SUBSCRIPTION, variables: { id } }),
            signal: controller.signal,
          });
      if (useGet) this.sse.get += 1;
      else this.sse.post += 1;
      if (response.status !== 200 || !response.body) throw new Error(`SSE ${id}: HTTP ${response.status}`);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      let firstAt: number | undefined;
      let terminal = false;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`SSE ${id}: stream ended without complete`);
        buffered += decoder.decode(value, { stream: true });
        let end = buffered.indexOf('\n\n');
        while (end >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          end = buffered.indexOf('\n\n');
          const event = /^event: (\w+)/m.exec(block)?.[1];
          if (event === 'complete') {
            if (!terminal) throw new Error(`SSE ${id}: completed before a terminal status`);
            if (finishedCheckout) this.sse.finishedCheckout += 1;
            else this.sse.watchedToEnd += 1;
            controller.abort();
            return firstAt ?? performance.now();
          }
          if (event !== 'next') continue;
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? '{}') as {
            data?: { checkoutStatusChanged?: { status: string } };
          };
          const status = data.data?.checkoutStatusChanged?.status;
          if (!status) throw new Error(`SSE ${id}: ${block.slice(0, 300)}`);
          if (TERMINAL.has(status)) {
            terminal = true;
            this.sawTerminal(id);
          }
          if (firstAt === undefined) {
            firstAt = performance.now();
            if (abandon !== 0) {
              this.sse.abandoned += 1;
              controller.abort();
              return firstAt;
            }
          }
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Samples and the verdict
// ---------------------------------------------------------------------------------------------

/** Sends SIGUSR2 and waits for the server's MEMORY line of that sample. */
async function serverMemory(server: BenchProcess, sample: number): Promise<Record<string, number>> {
  process.kill(server.pid, 'SIGUSR2');
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    for (const line of server.output) {
      if (!line.startsWith('MEMORY ')) continue;
      const memory = JSON.parse(line.slice(7)) as Record<string, number>;
      if (memory.sample === sample) return memory;
    }
    await sleep(50);
  }
  throw new Error(`no MEMORY line for sample ${sample}`);
}

async function takeSample(server: BenchProcess, url: string, sample: number, t: number): Promise<SoakSample> {
  const memory = await serverMemory(server, sample);
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const lines = metrics.split('\n');
  const gauge = (name: string) =>
    lines
      .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return {
    t,
    rss: memory.rss!,
    heapUsed: memory.heapUsed!,
    heapTotal: memory.heapTotal!,
    external: memory.external!,
    arrayBuffers: memory.arrayBuffers!,
    handles: memory.handles!,
    readModelEntries: memory.readModelEntries!,
    gcMs: memory.gcMs!,
    fds: readdirSync(`/proc/${server.pid}/fd`).length,
    metricSeries: lines.filter((line) => line !== '' && !line.startsWith('#')).length,
    openSubscriptions: gauge('checkout_open_subscriptions'),
    load1: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
}

/** Least-squares slope of `value` against `t` (seconds), in MB per 10 minutes, with its standard error. */
function trend(samples: SoakSample[], value: (s: SoakSample) => number, tolerancePct: number): SoakTrend {
  const xs = samples.map((s) => s.t / 600);
  const ys = samples.map((s) => value(s) / MB);
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const sxx = xs.reduce((sum, x) => sum + (x - mx) ** 2, 0);
  const sxy = xs.reduce((sum, x, i) => sum + (x - mx) * (ys[i]! - my), 0);
  const slope = sxx > 0 ? sxy / sxx : 0;
  const residuals = ys.reduce((sum, y, i) => sum + (y - (my + slope * (xs[i]! - mx))) ** 2, 0);
  const se = n > 2 && sxx > 0 ? Math.sqrt(residuals / (n - 2) / sxx) : Number.NaN;
  const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
  const pct = (slope / my) * 100;
  return {
    meanMb: round(my, 1),
    slopeMbPer10Min: round(slope),
    slopeSeMbPer10Min: round(se),
    slopePctPer10Min: round(pct),
    minMb: round(Math.min(...ys), 1),
    maxMb: round(Math.max(...ys), 1),
    flat: pct < tolerancePct,
  };
}

/** The checkout's commit, `+changes` when src/ or bench/ have uncommitted changes; undefined outside git. */
function gitCommit(): string | undefined {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench/servers'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return undefined;
  }
}

/** A graphql-ws close event (or whatever else a sink's error got) as text. */
function closeText(error: unknown): string {
  const { code, reason } = (error ?? {}) as { code?: number; reason?: string };
  return code === undefined ? String(error) : `socket closed ${code}${reason ? ` (${reason})` : ''}`;
}

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const fmtKb = (bytes: number) => (bytes / 1024).toFixed(1);
const clock = (seconds: number) =>
  `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;

function sampleLine(s: SoakSample): string {
  return `t=${clock(s.t)} heap ${mb(s.heapUsed)} MB, external ${mb(s.external)} MB (array buffers ${mb(s.arrayBuffers)}), RSS ${mb(s.rss)} MB, handles ${s.handles}, fds ${s.fds}, read model ${s.readModelEntries}, /metrics series ${s.metricSeries}, open subscriptions ${s.openSubscriptions}, load ${s.load1}, GC ${s.gcMs} ms`;
}

// ---------------------------------------------------------------------------------------------
// The README section
// ---------------------------------------------------------------------------------------------

/** The soak section of bench/README.md, from the results of a run. */
export function renderSoakSection(r: SoakResults): string {
  const s = r.settings;
  const out: string[] = [];
  const p = (...lines: string[]) => out.push(...lines);
  const total = (name: OpName) => r.ops[name].ok + r.ops[name].failed;
  p(
    '## Memory soak (bench/soak.ts)',
    '',
    `_Written by \`npx tsx bench/soak.ts\` (or \`BENCH_ONLY=soak npm run bench\`) from bench/results/soak.json; not in the default \`npm run bench\` set, as it takes half an hour (this run: ${s.minutes} min of load). Issue 21, goal 5._`,
    '',
    `- Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node}; ${r.machine.date}; load average ${r.machine.loadStart} at start, ${r.machine.loadEnd} at end (**shared**: other work's test suites ran at the same time; memory figures depend little on CPU load, latencies do).`,
    `- Server${r.machine.commit ? ` (commit ${r.machine.commit})` : ''}: bench/servers/soak-server.ts (buildApp, NODE_ENV=production, poller on, the built-in sandboxes, ${s.database}, \`READ_MODEL_MAX_ENTRIES=${s.readModelMaxEntries}\` so that the read model reaches its bound in the first minutes) under \`node --expose-gc\`, pinned to core ${s.serverCore}; the load from one process on core ${s.loadCore}.`,
    `- Load for ${s.minutes} min, evenly paced: ${s.rates.read}/s \`checkout(id)\` (JSON POST), ${s.rates.page}/s \`checkouts(first: 20)\`, ${s.rates.getRead}/s \`checkout(id)\` as a GET with the query in the URL, ${s.rates.create}/s creates (Smartcheckout every other one, completed or failed by the poller on the sandbox's third poll, PayerVault, Stan; each with an idempotency key, one in ten a replay of the previous one), ${s.rates.ws}/s graphql-ws subscriptions (a new socket each) and ${s.rates.sse}/s SSE subscriptions (half POST, half GET), each on the newest Smartcheckout checkout and watched to its end, one in ten on a finished checkout, about a third abandoned by the client after the first event (WS: \`complete\` or a dropped socket; SSE: the request aborted).`,
    `- Memory: every ${s.sampleSeconds} s the server ran two full collections (\`gc()\` on SIGUSR2) and reported \`process.memoryUsage()\`; handles are \`process.getActiveResourcesInfo()\`, fds the entries of /proc/<pid>/fd, series the sample lines of /metrics.`,
    '',
    '| operations | done | failed | skipped (server behind) | p50 ms | p99 ms |',
    '|---|---:|---:|---:|---:|---:|',
  );
  const labels: Record<OpName, string> = {
    read: '`checkout(id)` POST',
    page: '`checkouts(first: 20)`',
    getRead: '`checkout(id)` GET',
    create: 'creates',
    ws: 'graphql-ws subscriptions (to first event)',
    sse: 'SSE subscriptions (to first event)',
  };
  for (const name of Object.keys(labels) as OpName[]) {
    const o = r.ops[name];
    p(`| ${labels[name]} | ${o.ok} | ${o.failed} | ${o.skipped} | ${o.p50Ms} | ${o.p99Ms} |`);
  }
  const ws = r.subscriptions.ws;
  const sse = r.subscriptions.sse;
  p(
    '',
    `Creates: ${r.creates.smartcheckout} Smartcheckout, ${r.creates.payervault} PayerVault, ${r.creates.stan} Stan, ${r.creates.replays} idempotent replays, ${r.creates.typedErrors} typed errors (empty PayerVault cart); ${r.statusChangesByPoller} status changes applied by the poller. Subscriptions: graphql-ws ${ws.watchedToEnd} watched to the terminal status, ${ws.finishedCheckout} on a finished checkout, ${ws.abandonedComplete} abandoned with \`complete\`, ${ws.abandonedDropped} by dropping the socket; SSE (${sse.post} POST, ${sse.get} GET) ${sse.watchedToEnd} watched to the end, ${sse.finishedCheckout} on a finished checkout, ${sse.abandoned} aborted. ${total('read') + total('page') + total('getRead') + total('create') + total('ws') + total('sse')} operations in all.`,
    '',
  );
  const every = Math.max(1, Math.round(120 / s.sampleSeconds));
  p(
    '| t (min:s) | heapUsed MB | heapTotal MB | external MB | RSS MB | handles | fds | read model | /metrics series | open subscriptions | load (1 min) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const rows = r.samples.filter((_, i) => i % every === 0 || i === r.samples.length - 1);
  for (const x of rows)
    p(
      `| ${clock(x.t)} | ${mb(x.heapUsed)} | ${mb(x.heapTotal)} | ${mb(x.external)} | ${mb(x.rss)} | ${x.handles} | ${x.fds} | ${x.readModelEntries} | ${x.metricSeries} | ${x.openSubscriptions} | ${x.load1} |`,
    );
  if (r.idle)
    p(
      `| idle, after the load | ${mb(r.idle.heapUsed)} | ${mb(r.idle.heapTotal)} | ${mb(r.idle.external)} | ${mb(r.idle.rss)} | ${r.idle.handles} | ${r.idle.fds} | ${r.idle.readModelEntries} | ${r.idle.metricSeries} | ${r.idle.openSubscriptions} | ${r.idle.load1} |`,
    );
  const t = r.trend;
  const row = (name: string, x: SoakTrend) =>
    `| ${name} | ${x.meanMb} | ${x.minMb} – ${x.maxMb} | **${x.slopeMbPer10Min}** ± ${x.slopeSeMbPer10Min} | ${x.slopePctPer10Min} % | ${!x.flat ? '**growing**' : x.slopePctPer10Min < -s.tolerancePct ? 'falling' : 'flat'} |`;
  p(
    '',
    `Trend over the last ${s.windowMinutes} minutes (${r.samples.filter((x) => x.t >= s.minutes * 60 - s.windowMinutes * 60).length} samples, every ${s.sampleSeconds} s; least-squares slope ± its standard error):`,
    '',
    '| figure | mean MB | range MB | slope MB / 10 min | slope / mean per 10 min | verdict |',
    '|---|---:|---:|---:|---:|---|',
    row('heapUsed', t.heapUsed),
    row('RSS', t.rss),
    row('external', t.external),
    '',
    `Tolerance: growing when the slope is over ${s.tolerancePct} % of the mean per 10 minutes, falling when under -${s.tolerancePct} %, flat between. **Verdict: ${r.verdict === 'flat' ? 'not growing' : 'growing'}** (heapUsed and RSS).`,
    '',
  );
  const entry = readResults<SoakEntrySize>('soak-entry');
  if (entry)
    p(
      `One read-model entry (\`BENCH_SOAK_ENTRY_SIZE=${entry.count}\`, ${entry.date.slice(0, 10)}: ${entry.entriesAfter - entry.entriesBefore} more checkouts read by id, half Stan with two line items and half Smartcheckout with one, each with its events, after as many warm-up creates and reads; the Smartcheckout sandbox's record of each included) holds **${fmtKb(entry.bytesPerEntry)} KB** of heap after GC, so the default \`READ_MODEL_MAX_ENTRIES\` (10,000) holds about ${Math.round((entry.bytesPerEntry * 10_000) / MB)} MB.`,
      '',
    );
  return out.join('\n');
}

/** Rewrites the soak section of bench/README.md (between its markers; appended when it has none). */
function writeReadmeSection(results: SoakResults): void {
  const readme = readFileSync(README, 'utf8');
  const block = `${BEGIN}\n${renderSoakSection(results)}\n${END}`;
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  const next =
    start >= 0 && end > start
      ? readme.slice(0, start) + block + readme.slice(end + END.length)
      : `${readme.trimEnd()}\n\n${block}\n`;
  writeFileSync(README, next);
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

async function soak(): Promise<SoakResults> {
  const minutes = envNumber('BENCH_SOAK_MINUTES', 30);
  const sampleSeconds = envNumber('BENCH_SOAK_SAMPLE_SECONDS', 30);
  const windowMinutes = Math.min(20, Math.round(((minutes * 2) / 3) * 10) / 10);
  const tolerancePct = envNumber('BENCH_SOAK_TOLERANCE_PCT', 1);
  const readModelMaxEntries = envNumber('BENCH_SOAK_READ_MODEL_MAX_ENTRIES', 500);
  const usePostgres = process.env.BENCH_SOAK_DB === 'postgres';
  // The generator (this process, every thread) on the load core, as the other benches' clients.
  try {
    execFileSync('taskset', ['-a', '-pc', LOAD_CORE, String(process.pid)], { stdio: 'ignore' });
  } catch {
    progress('taskset failed: the load generator is not pinned');
  }
  const dataDir = usePostgres ? undefined : mkdtempSync(join(tmpdir(), 'bench-soak-'));
  const databaseUrl = usePostgres ? await freshDatabase('bench_soak') : undefined;
  const snapshotDir = process.env.BENCH_SOAK_SNAPSHOT_DIR;
  const loadStart = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const commit = gitCommit();
  const server = await startPinned<{ url: string; pid: number }>(
    'bench/servers/soak-server.ts',
    oursEnv({
      POLLER: 'on',
      DATA_DIR: dataDir ?? 'memory://',
      DATABASE_URL: databaseUrl,
      READ_MODEL_MAX_ENTRIES: String(readModelMaxEntries),
      BENCH_SOAK_SNAPSHOT_DIR: snapshotDir,
      BENCH_SOAK_SNAPSHOTS: process.env.BENCH_SOAK_SNAPSHOTS,
    }),
    SERVER_CORE,
    { nodeArgs: ['--expose-gc'] },
  );
  const { url } = server.ready;
  // Should this process die, the server must not outlive it.
  const killServer = () => server.child.kill('SIGKILL');
  process.once('exit', killServer);
  try {
    progress(`soak: server ${server.pid} at ${url} (${usePostgres ? 'PostgreSQL' : `PGlite in ${dataDir}`})`);
    const seeded = await seedCheckouts(url, BENCH_API_KEY, 50);
    const load = new SoakLoad(url, seeded);
    const started = performance.now();
    const elapsed = () => Math.round((performance.now() - started) / 100) / 10;
    const running = load.run();
    const samples: SoakSample[] = [];
    let sample = 0;
    let last = { ...Object.fromEntries(Object.entries(load.stats).map(([k, v]) => [k, v.ok + v.failed])) };
    progress(
      `soak: ${minutes} min at ${JSON.stringify(RATES)} (per s), a sample every ${sampleSeconds} s; verdict over the last ${windowMinutes} min`,
    );
    for (let due = 0; due <= minutes * 60; due += sampleSeconds) {
      const wait = due * 1000 - (performance.now() - started);
      if (wait > 0) await sleep(wait);
      const taken = await takeSample(server, url, ++sample, elapsed());
      samples.push(taken);
      const now = Object.fromEntries(Object.entries(load.stats).map(([k, v]) => [k, v.ok + v.failed]));
      const done = Object.entries(now)
        .map(([k, v]) => `${k} ${v - (last[k] ?? 0)}`)
        .join(', ');
      const failed = Object.values(load.stats).reduce((sum, s) => sum + s.failed, 0);
      last = now;
      progress(`${sampleLine(taken)} | last ${sampleSeconds} s: ${done}; failed so far ${failed}`);
    }
    load.stop();
    await running;
    // Open streams end when their checkouts do (at most ~10 s) or at their 60 s timeout.
    for (let waited = 0; load.inFlight > 0 && waited < 70_000; waited += 500) await sleep(500);
    await sleep(5_000);
    const idle = await takeSample(server, url, ++sample, elapsed());
    progress(`idle: ${sampleLine(idle)}`);
    const windowStart = minutes * 60 - windowMinutes * 60;
    const inWindow = samples.filter((x) => x.t >= windowStart);
    const heapTrend = trend(inWindow, (x) => x.heapUsed, tolerancePct);
    const rssTrend = trend(inWindow, (x) => x.rss, tolerancePct);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const changedByPoller = metrics
      .split('\n')
      .filter((line) => line.startsWith('checkout_poller_polls_total{') && line.includes('outcome="changed"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    const machineCpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim();
    return {
      settings: {
        minutes,
        sampleSeconds,
        windowMinutes,
        tolerancePct,
        rates: RATES,
        database: usePostgres ? 'PostgreSQL (a fresh database)' : 'PGlite in a temporary data folder',
        readModelMaxEntries,
        serverCore: SERVER_CORE,
        loadCore: LOAD_CORE,
      },
      machine: {
        cpu: machineCpu ?? cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        node: process.version,
        date: new Date().toISOString(),
        loadStart,
        loadEnd: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
        commit,
      },
      ops: Object.fromEntries(Object.entries(load.stats).map(([k, v]) => [k, v.summary()])) as Record<
        OpName,
        SoakOpCounts
      >,
      subscriptions: { ws: load.ws, sse: load.sse },
      creates: load.creates,
      statusChangesByPoller: changedByPoller,
      samples,
      idle,
      trend: { heapUsed: heapTrend, rss: rssTrend, external: trend(inWindow, (x) => x.external, tolerancePct) },
      verdict: heapTrend.flat && rssTrend.flat ? 'flat' : 'growing',
      serverLogLines: server.output.filter((line) => !/^(MEMORY|SNAPSHOT) /.test(line)).slice(-20),
    };
  } finally {
    await server.stop();
    process.off('exit', killServer);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (usePostgres) await dropDatabase('bench_soak');
  }
}

/** What one read-model entry holds, from BENCH_SOAK_ENTRY_SIZE=<n>. */
export interface SoakEntrySize {
  count: number;
  heapBefore: number;
  heapAfter: number;
  entriesBefore: number;
  entriesAfter: number;
  bytesPerEntry: number;
  date: string;
}

/**
 * BENCH_SOAK_ENTRY_SIZE=<n>: the heap one read-model entry holds. Seeds n checkouts (Stan with two
 * line items and Smartcheckout with one, in turns, as W1 does) and reads each by id (which warms
 * the code paths and fills n entries: a create's answer already loads its checkout), takes the
 * heap after two full collections, does the same with n more, and takes it again: the difference
 * over the entries added. It includes what else a create keeps (the Smartcheckout sandbox's record
 * of its checkout, a few hundred bytes).
 */
async function entrySize(count: number): Promise<SoakEntrySize> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-soak-entry-'));
  const server = await startPinned<{ url: string; pid: number }>(
    'bench/servers/soak-server.ts',
    oursEnv({ POLLER: 'off', DATA_DIR: dataDir, READ_MODEL_MAX_ENTRIES: String(count * 4) }),
    SERVER_CORE,
    { nodeArgs: ['--expose-gc'] },
  );
  const { url } = server.ready;
  try {
    const readAll = async (some: string[]) => {
      for (const id of some) {
        const response = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify({ query: CHECKOUT_QUERY, variables: { id } }),
        });
        if (response.status !== 200) throw new Error(`checkout(${id}): HTTP ${response.status}`);
        await response.arrayBuffer();
      }
    };
    progress(`entry size: seeding and reading ${count} checkouts, twice`);
    await readAll(await seedCheckouts(url, BENCH_API_KEY, count));
    const before = await takeSample(server, url, 1, 0);
    await readAll(await seedCheckouts(url, BENCH_API_KEY, count));
    const after = await takeSample(server, url, 2, 0);
    return {
      count,
      heapBefore: before.heapUsed,
      heapAfter: after.heapUsed,
      entriesBefore: before.readModelEntries,
      entriesAfter: after.readModelEntries,
      bytesPerEntry: Math.round(
        (after.heapUsed - before.heapUsed) / Math.max(1, after.readModelEntries - before.readModelEntries),
      ),
      date: new Date().toISOString(),
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_SOAK_ENTRY_SIZE) {
  const result = await entrySize(envNumber('BENCH_SOAK_ENTRY_SIZE', 1_000));
  progress(`written ${writeResults('soak-entry', result)}: ${JSON.stringify(result)}`);
  const soakResults = readResults<SoakResults>('soak');
  if (soakResults) writeReadmeSection(soakResults);
} else if (process.env.BENCH_SOAK_REPORT_ONLY) {
  const results = readResults<SoakResults>('soak');
  if (!results) throw new Error('no bench/results/soak.json to report');
  writeReadmeSection(results);
  progress('bench/README.md: soak section rewritten');
} else {
  const results = await soak();
  progress(`written ${writeResults('soak', results)}`);
  writeReadmeSection(results);
  const t = results.trend;
  console.log(
    `\nheapUsed: mean ${t.heapUsed.meanMb} MB, slope ${t.heapUsed.slopeMbPer10Min} ± ${t.heapUsed.slopeSeMbPer10Min} MB/10 min (${t.heapUsed.slopePctPer10Min} %)`,
  );
  console.log(
    `RSS:      mean ${t.rss.meanMb} MB, slope ${t.rss.slopeMbPer10Min} ± ${t.rss.slopeSeMbPer10Min} MB/10 min (${t.rss.slopePctPer10Min} %)`,
  );
  console.log(`verdict: ${results.verdict}`);
  const failures = Object.entries(results.ops).filter(([, o]) => o.failed > 0);
  for (const [name, o] of failures) console.log(`${name}: ${o.failed} failed, last: ${o.lastError}`);
}
