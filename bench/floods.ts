/**
 * Floods and costly requests against this API as production runs it (bench/servers/ours.ts,
 * NODE_ENV=production, defaults for every limit), the server pinned to core 0, everything else to
 * core 1. Writes bench/results/floods.json; bench/README.md's "Floods" section quotes it.
 *
 * 1. Costly requests, today and at BENCH_FLOODS_BASELINE (default 07a63ca, the commit before the
 *    bounds on variables; run from a git worktree): server CPU per worst request, read from
 *    /proc/<pid>/stat around 20 sequential ones: the 900 KB body with an unused variable
 *    nested 450,000 arrays deep, and 14,000 Stan line items. Then a `{ __typename }` probe
 *    (bench/paced.ts, 50/s for 10 s) alone, and with 20 worst requests always in flight.
 * 2. Hostile sockets (today only): BENCH_FLOODS_SOCKETS (default 20,000) held by four generator
 *    processes (this script with `hostile`), each from 40 source addresses of 127.0.0.0/8 (under
 *    the 256 per address), a third silent, a third slowloris (one header byte every 5 s), a third
 *    WebSockets sending `connection_init` without a key; each socket the server closes is reopened
 *    BENCH_FLOODS_REOPEN_MS (200) later. Meanwhile an authenticated `checkout(id)` probe at 20/s over connections it
 *    opened before the flood (a storefront's pool) measures latency; the server's open files and
 *    refusal counters are read during and after.
 *
 * Usage: npx tsx bench/floods.ts   (BENCH_FLOODS_ONLY=costly|hostile for one part)
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, symlinkSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import {
  BENCH_API_KEY,
  envNumber,
  LOAD_CORE,
  oursEnv,
  progress,
  ROOT,
  SERVER_CORE,
  sleep,
  startPinned,
  writeResults,
} from './lib/common.js';
import { CHECKOUT_QUERY, gql } from './lib/graphql.js';
import { type PacedRun, paced } from './lib/load.js';

// ---------------------------------------------------------------------------------------------
// 1. Costly requests
// ---------------------------------------------------------------------------------------------

const AUTH = { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` };

function worstBodies(): Record<'deep' | 'stan', string> {
  const depth = 450_000;
  const item = { productId: 'p', quantity: 1, unitPrice: 100 };
  return {
    deep: `{"query":"query Q($id: ID!) { checkout(id: $id) { id } }","variables":{"id":"x","unused":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
    stan: JSON.stringify({
      query: 'mutation S($input: CreateStanCheckoutInput!) { createStanCheckout(input: $input) { __typename } }',
      variables: { input: { returnUrl: 'https://shop.example/return', lineItems: Array(14_000).fill(item) } },
    }),
  };
}

/** User + system CPU of a process so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function post(url: string, body: string): Promise<number> {
  const response = await fetch(`${url}/graphql`, { method: 'POST', headers: AUTH, body });
  await response.arrayBuffer();
  return response.status;
}

async function costlyAgainst(root: string, label: string) {
  const server = await startPinned<{ url: string }>(join(root, 'bench/servers/ours.ts'), oursEnv(), SERVER_CORE);
  try {
    const { url } = server.ready;
    const bodies = worstBodies();
    const perRequest: Record<string, { cpuMs: number; status: number }> = {};
    for (const [name, body] of Object.entries(bodies)) {
      for (let i = 0; i < 3; i++) await post(url, body); // warm-up
      const before = cpuMs(server.pid);
      let status = 0;
      for (let i = 0; i < 20; i++) status = await post(url, body);
      perRequest[name] = { cpuMs: (cpuMs(server.pid) - before) / 20, status };
    }
    const probe = { url: `${url}/graphql`, body: JSON.stringify({ query: '{ __typename }' }), headers: AUTH };
    const atRest = await paced(probe, { rate: 50, durationS: 10, connections: 4 });
    // 20 worst requests always in flight, alternating the two kinds, until the probe is done.
    let running = true;
    let sent = 0;
    const workers = Array.from({ length: 20 }, async (_, i) => {
      const body = i % 2 === 0 ? bodies.deep : bodies.stan;
      while (running) {
        await post(url, body).catch(() => 0);
        sent++;
      }
    });
    const underLoad = await paced(probe, { rate: 50, durationS: 10, connections: 4 });
    running = false;
    await Promise.all(workers);
    progress(
      `${label}: ${JSON.stringify({ perRequest, atRest: brief(atRest), underLoad: brief(underLoad), worstSent: sent })}`,
    );
    return { perRequest, probeAtRest: atRest, probeWith20Worst: underLoad, worstRequestsSent: sent };
  } finally {
    await server.stop();
  }
}

function brief(run: PacedRun) {
  return { p50: run.p50, p99: run.p99, max: run.max, non2xx: run.non2xx, errors: run.errors };
}

async function costlyRequests() {
  const today = await costlyAgainst(ROOT, 'today');
  const commit = process.env.BENCH_FLOODS_BASELINE ?? '07a63ca';
  const dir = mkdtempSync(join(tmpdir(), 'bench-floods-baseline-'));
  rmSync(dir, { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: ROOT, stdio: 'ignore' });
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    // The baseline runs on today's node_modules: once a package it imported is gone it cannot start.
    const baseline = await costlyAgainst(dir, `baseline ${commit}`).catch((error: Error) => {
      progress(
        `baseline ${commit} could not run: ${error.message.split('\n').find((line) => line.includes('Error')) ?? error.message}`,
      );
      return { error: error.message.slice(0, 2_000) };
    });
    return { today, baseline: { commit, ...baseline } };
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Hostile sockets
// ---------------------------------------------------------------------------------------------

interface HostileOptions {
  port: number;
  sockets: number;
  /** Source addresses 127.<second>.<i>.1, i < addresses. */
  second: number;
  addresses: number;
  durationMs: number;
  /** How long after the server closes a socket it is reopened. */
  reopenMs: number;
}

/** BENCH_FLOODS_REOPEN_MS: how soon the attacker reopens a closed socket (default 200 ms). */
const REOPEN_MS = envNumber('BENCH_FLOODS_REOPEN_MS', 200);

async function hostileSockets(total: number) {
  // The machine's own open-file limit for the server, so its default instance limit is what production gets.
  const fileLimit = Number(execFileSync('bash', ['-c', 'ulimit -n']).toString().trim());
  // BENCH_FLOODS_CPU_PROF_DIR: a V8 CPU profile of the server for the whole flood (written when it stops).
  const profileDir = process.env.BENCH_FLOODS_CPU_PROF_DIR;
  // BENCH_FLOODS_MAX_CONNECTIONS: another instance limit than the default (half the open-file limit).
  const env = oursEnv({ LIMIT_MAX_CONNECTIONS: process.env.BENCH_FLOODS_MAX_CONNECTIONS });
  const server = await startPinned<{ url: string }>('bench/servers/ours.ts', env, SERVER_CORE, {
    ulimitFiles: fileLimit,
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  });
  try {
    const { url } = server.ready;
    const created = await gql<{ createPayerVaultCheckout: { checkout: { id: string } } }>(
      url,
      BENCH_API_KEY,
      'mutation { createPayerVaultCheckout(input: { customerId: "cust-floods" }) { ... on CreatePayerVaultCheckoutSuccess { checkout { id } } } }',
    );
    const id = created.answer.data!.createPayerVaultCheckout.checkout.id;
    const probe = {
      url: `${url}/graphql`,
      body: JSON.stringify({ query: CHECKOUT_QUERY, variables: { id } }),
      headers: AUTH,
    };
    const atRest = await paced(probe, { rate: 20, durationS: 10, connections: 2 });
    progress(`hostile: probe at rest ${JSON.stringify(brief(atRest))}`);

    const durationMs = 25_000;
    const port = Number(new URL(url).port);
    // The probe's 2 s warm-up opens its connections before the flood starts.
    const probing = paced(probe, { rate: 20, durationS: 20, connections: 2 });
    await sleep(2_500);
    const generators = [0, 1, 2, 3].map((g) =>
      runHostile({
        port,
        sockets: Math.ceil(total / 4),
        second: 10 + g,
        addresses: 40,
        durationMs,
        reopenMs: REOPEN_MS,
      }),
    );
    const files: number[] = [];
    const sampling = (async () => {
      for (let i = 0; i < 20; i++) {
        await sleep(1_000);
        files.push(readdirSync(`/proc/${server.pid}/fd`).length);
      }
    })();
    const underFlood = await probing;
    await sampling;
    const hostileReports = await Promise.all(generators);
    await sleep(2_000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const refused = Object.fromEntries(
      [...metrics.matchAll(/^checkout_connections_refused_total\{reason="(\w+)"\} (\d+)/gm)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    const report = {
      fileLimit,
      maxConnections: process.env.BENCH_FLOODS_MAX_CONNECTIONS ?? 'default',
      sockets: total,
      reopenMs: REOPEN_MS,
      probeAtRest: atRest,
      probeUnderFlood: underFlood,
      serverOpenFiles: { max: Math.max(...files), samples: files },
      refused,
      generators: hostileReports,
    };
    progress(
      `hostile: ${JSON.stringify({ underFlood: brief(underFlood), files: report.serverOpenFiles.max, refused })}`,
    );
    return report;
  } finally {
    await server.stop();
  }
}

/** Runs one generator process on the load core with room for its sockets; resolves with its report. */
function runHostile(options: HostileOptions): Promise<Record<string, number>> {
  const command = `ulimit -n ${options.sockets + 1024}; exec nice -n 19 taskset -c ${LOAD_CORE} node --import tsx bench/floods.ts hostile '${JSON.stringify(options)}'`;
  const child = spawn('bash', ['-c', command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) =>
    child.once('exit', () => resolve(JSON.parse(output.trim().split('\n').at(-1) ?? '{}'))),
  );
}

/** One generator: keeps `sockets` hostile connections open (reopening what the server closes) for `durationMs`. */
async function hostile(options: HostileOptions): Promise<void> {
  const counts = {
    opened: 0,
    closedByServer: 0,
    refused503: 0,
    ws4403: 0,
    connectErrors: 0,
    openAtEnd: 0,
    peakOpen: 0,
  };
  let open = 0;
  let stopping = false;
  const live = new Set<Socket | WebSocket>();
  const request = 'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ';
  const reopen = (slot: number) => {
    if (!stopping) setTimeout(() => start(slot), options.reopenMs);
  };
  const start = (slot: number) => {
    const localAddress = `127.${options.second}.${slot % options.addresses}.1`;
    counts.opened++;
    if (slot % 3 === 2) {
      const ws = new WebSocket(`ws://127.0.0.1:${options.port}/graphql`, 'graphql-transport-ws', { localAddress });
      live.add(ws);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        open++;
        counts.peakOpen = Math.max(counts.peakOpen, open);
        ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      });
      ws.on('error', () => counts.connectErrors++);
      ws.on('close', (code) => {
        if (code === 4403) counts.ws4403++;
        if (opened) open--;
        live.delete(ws);
        if (!stopping) counts.closedByServer++;
        reopen(slot);
      });
      return;
    }
    const socket = connect({ host: '127.0.0.1', port: options.port, localAddress });
    live.add(socket);
    let timer: NodeJS.Timeout | undefined;
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      open++;
      counts.peakOpen = Math.max(counts.peakOpen, open);
      if (slot % 3 === 1) {
        let next = 0;
        timer = setInterval(() => socket.write(request[next++ % request.length]!), 5_000);
      }
    });
    socket.on('data', (data) => {
      if (data.toString('latin1').startsWith('HTTP/1.1 503')) counts.refused503++;
    });
    socket.on('error', () => counts.connectErrors++);
    socket.on('close', () => {
      clearInterval(timer);
      if (connected) open--;
      live.delete(socket);
      if (!stopping) counts.closedByServer++;
      reopen(slot);
    });
  };
  // Opened in batches, so the listen backlog is not what refuses them.
  for (let slot = 0; slot < options.sockets; slot++) {
    start(slot);
    if (slot % 200 === 199) await sleep(20);
  }
  const started = performance.now();
  await sleep(Math.max(0, options.durationMs - (performance.now() - started)));
  counts.openAtEnd = open;
  stopping = true;
  for (const s of live) s instanceof WebSocket ? s.terminate() : s.destroy();
  console.log(JSON.stringify(counts));
}

// Last: the functions above use constants declared before them.
if (process.argv[2] === 'hostile') {
  await hostile(JSON.parse(process.argv[3]!) as HostileOptions);
  process.exit(0);
}

const only = process.env.BENCH_FLOODS_ONLY;
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  load: readFileSync('/proc/loadavg', 'utf8').trim(),
};
if (only !== 'hostile') results.costly = await costlyRequests();
if (only !== 'costly') results.hostile = await hostileSockets(envNumber('BENCH_FLOODS_SOCKETS', 20_000));
results.loadAfter = readFileSync('/proc/loadavg', 'utf8').trim();
progress(`results: ${writeResults('floods', results)}`);
