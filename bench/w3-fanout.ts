/**
 * W3 fan-out: 10,000 graphql-ws subscribers of `checkoutStatusChanged`, (a) all on 1 checkout and
 * (b) spread over 1,000 checkouts (10 each). Server: this API (PGlite in memory, POLLER=off) on
 * core 0; subscribers: one client process on core 1 (bench/w3-clients.ts). The status change is
 * made by `refreshCheckout` (one Smartcheckout sandbox GET that answers `completed`); each client
 * measures receive time minus the event's `updatedAt`, the time the server wrote the change.
 * Server RSS per subscription = (RSS with every subscriber connected - RSS before) / subscribers,
 * both read right after a full garbage collection in the server.
 * Writes bench/results/w3.json.
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
  percentile,
  progress,
  SERVER_CORE,
  sleep,
  startPinned,
  writeResults,
  type BenchProcess,
} from './lib/common.js';
import { gql } from './lib/graphql.js';

const API_KEY = BENCH_API_KEY;
const clients = envNumber('BENCH_W3_CLIENTS', 10_000);
const runs = envNumber('BENCH_W3_RUNS', 3);

/** One W3 run. */
export interface W3Run {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  missing: number;
  connectMs: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  kbPerSubscription: number;
  /** The same from V8's heap and external memory (heapUsed + external), which the OS's page reuse does not blur. */
  heapKbPerSubscription: number;
  /** How long the trigger mutations took to send (the 1,000-checkout scenario sends 1,000). */
  triggerMs: number;
}

/** Everything W3 measured, per scenario. */
export interface W3Results {
  clients: number;
  scenarios: Record<
    string,
    {
      checkouts: number;
      runs: W3Run[];
      median: { p50Ms: number; p99Ms: number; kbPerSubscription: number; heapKbPerSubscription: number };
    }
  >;
}

const CREATE = `mutation ($input: CreateSmartCheckoutInput!) { createSmartCheckout(input: $input) { __typename ... on CreateSmartCheckoutSuccess { checkout { id status } } ... on Error { message } } }`;
const REFRESH = `mutation ($id: ID!) { refreshCheckout(id: $id) { __typename ... on RefreshCheckoutSuccess { checkout { status } } ... on Error { message } } }`;

/** Creates `count` Smartcheckout checkouts whose first status GET answers `completed` (10 at a time). */
async function createCheckouts(url: string, count: number): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < count) {
        const index = next++;
        const { answer } = await gql<{ createSmartCheckout: { checkout?: { id: string; status: string } } }>(
          url,
          API_KEY,
          CREATE,
          {
            input: {
              productUrl: `https://store-${index % 20}.example/item/${index}?sandbox_after_polls=1&sandbox_outcome=completed&sandbox_amount=9.99`,
              email: 'ada@example.com',
            },
          },
        );
        const checkout = answer.data?.createSmartCheckout.checkout;
        if (checkout?.status !== 'PROCESSING') throw new Error(`create failed: ${JSON.stringify(answer)}`);
        ids[index] = checkout.id;
      }
    }),
  );
  return ids;
}

/** Refreshes every checkout (each one status write and one publish), 50 at a time. */
async function refreshAll(url: string, ids: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(50, ids.length) }, async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const { answer } = await gql<{ refreshCheckout: { checkout?: { status: string } } }>(url, API_KEY, REFRESH, {
          id,
        });
        if (answer.data?.refreshCheckout.checkout?.status !== 'COMPLETED')
          throw new Error(`refresh failed: ${JSON.stringify(answer)}`);
      }
    }),
  );
}

async function waitForLine(process_: BenchProcess, prefix: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = process_.output.find((entry) => entry.startsWith(prefix));
    if (line) return line.slice(prefix.length);
    if (process_.child.exitCode !== null) break;
    await sleep(100);
  }
  throw new Error(`no ${prefix.trim()} line:\n${process_.output.slice(-20).join('\n')}`);
}

async function scenario(name: string, checkoutsPerRun: number): Promise<W3Results['scenarios'][string]> {
  // 10,000 subscribers from one address: past the per-address limit (256) and near the instance's
  // (half the open-file limit), which are for floods, not for this fan-out's one trusted client.
  const env = oursEnv({ LIMIT_MAX_CONNECTIONS_PER_ADDRESS: '0', LIMIT_MAX_CONNECTIONS: '30000' });
  const server = await startPinned<{ url: string; pid: number }>('bench/servers/ours.ts', env, SERVER_CORE, {
    nodeArgs: [
      '--expose-gc',
      ...(process.env.BENCH_W3_CPU_PROF_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_W3_CPU_PROF_DIR}`]
        : []),
    ],
  });
  /** The server's RSS right after a full garbage collection. */
  const settledRss = async (): Promise<{ rss: number; heap: number }> => {
    server.output.length = 0;
    process.kill(server.ready.pid, 'SIGUSR2');
    return JSON.parse(await waitForLine(server, 'RSS ', 30_000)) as { rss: number; heap: number };
  };
  /** Subscribers that connect, get their first event and leave: brings the server's RSS to its working size. */
  const warmUp = async (idsFile: string) => {
    const client = await startPinned(
      'bench/w3-clients.ts',
      { W3_URL: server.ready.url, W3_API_KEY: API_KEY, W3_IDS_FILE: idsFile, W3_CLIENTS: String(clients) },
      LOAD_CORE,
      {
        timeoutMs: 300_000,
      },
    );
    await client.stop();
  };
  const results: W3Run[] = [];
  try {
    progress(`W3 ${name}: creating ${runs} x ${checkoutsPerRun} checkouts`);
    const allIds = await createCheckouts(server.ready.url, runs * checkoutsPerRun);
    for (let run = 0; run < runs; run++) {
      const ids = allIds.slice(run * checkoutsPerRun, (run + 1) * checkoutsPerRun);
      const idsFile = join(tmpdir(), `bench-w3-ids-${process.pid}.json`);
      writeFileSync(idsFile, JSON.stringify(ids));
      if (run === 0) {
        progress(`W3 ${name}: warm-up connect of ${clients} subscribers`);
        await warmUp(idsFile);
      }
      await sleep(2_000);
      const rssBefore = await settledRss();
      const client = await startPinned<{ subscribed: number; connectMs: number }>(
        'bench/w3-clients.ts',
        { W3_URL: server.ready.url, W3_API_KEY: API_KEY, W3_IDS_FILE: idsFile, W3_CLIENTS: String(clients) },
        LOAD_CORE,
        { timeoutMs: 300_000, nodeArgs: ['--max-old-space-size=4096'] },
      );
      try {
        // Let the server settle (and collect the garbage of 10,000 handshakes) before reading its memory.
        await sleep(3_000);
        const rssAfter = await settledRss();
        const triggerStart = Date.now();
        await refreshAll(server.ready.url, ids);
        const triggerMs = Date.now() - triggerStart;
        const done = JSON.parse(await waitForLine(client, 'DONE ', 120_000)) as {
          latenciesMs: number[];
          missing: number;
        };
        const latencies = done.latenciesMs;
        const result: W3Run = {
          p50Ms: latencies.length ? percentile(latencies, 50) : NaN,
          p99Ms: latencies.length ? percentile(latencies, 99) : NaN,
          maxMs: latencies.length ? Math.max(...latencies) : NaN,
          missing: done.missing,
          connectMs: client.ready.connectMs,
          rssBeforeMb: Math.round(rssBefore.rss / 1048576),
          rssAfterMb: Math.round(rssAfter.rss / 1048576),
          kbPerSubscription: Math.round(((rssAfter.rss - rssBefore.rss) / clients / 1024) * 10) / 10,
          heapKbPerSubscription: Math.round(((rssAfter.heap - rssBefore.heap) / clients / 1024) * 10) / 10,
          triggerMs,
        };
        results.push(result);
        progress(
          `W3 ${name} run ${run + 1}/${runs}: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms, missing ${result.missing}; ` +
            `RSS ${result.rssBeforeMb} -> ${result.rssAfterMb} MB = ${result.kbPerSubscription} KB/subscription (heap ${result.heapKbPerSubscription} KB); connect ${result.connectMs} ms; trigger ${triggerMs} ms`,
        );
      } finally {
        await client.stop();
        rmSync(idsFile, { force: true });
      }
    }
  } finally {
    await server.stop();
  }
  return {
    checkouts: checkoutsPerRun,
    runs: results,
    median: {
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      kbPerSubscription: median(results.map((r) => r.kbPerSubscription)),
      heapKbPerSubscription: median(results.map((r) => r.heapKbPerSubscription)),
    },
  };
}

const results: W3Results = { clients, scenarios: {} };
results.scenarios[`${clients} on 1 checkout`] = await scenario('1 checkout', 1);
results.scenarios[`${clients} over ${clients / 10} checkouts`] = await scenario(
  `${clients / 10} checkouts`,
  clients / 10,
);
progress(`W3 results: ${writeResults('w3', results)}`);
