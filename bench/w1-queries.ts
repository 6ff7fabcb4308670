/**
 * W1 queries: `checkout(id)` and `checkouts(first: 20)` (line items and merchant) served by
 *   bare     node:http answering the precomputed bytes of ours' answer (the ceiling)
 *   ours     this API (buildApp: Yoga + production plugins) on PGlite and on PostgreSQL
 *   apollo   the same schema and context on @apollo/server 5 (PGlite and PostgreSQL)
 *   mercurius the same on fastify + mercurius with jit: 1 (PGlite and PostgreSQL)
 * Every server runs alone on core 0 (taskset), autocannon on core 1. All servers stay up and the
 * runs go round-robin (run 1 of every cell, then run 2 ...) so the machine's noise spreads evenly
 * over the cells that are compared. Writes bench/results/w1.json.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_API_KEY,
  envNumber,
  median,
  oursEnv,
  progress,
  SERVER_CORE,
  startPinned,
  writeResults,
  type BenchProcess,
} from './lib/common.js';
import { autocannon, paced, type LoadRun, type LoadTarget, type PacedRun } from './lib/load.js';
import { CHECKOUT_QUERY, CHECKOUTS_QUERY, gql, seedCheckouts } from './lib/graphql.js';
import { dropDatabase, freshDatabase } from './lib/postgres.js';

/** The highest rate bench/paced.ts is asked to hold (one core of generator). */
const PACED_MAX_RATE = 10_000;

/** A W1 server under test. */
export interface W1Server {
  name: string;
  /** What it is, for the README. */
  description: string;
  database: 'none' | 'pglite' | 'postgres';
}

/** A cell: one server, one query. */
export interface W1Cell {
  runs: LoadRun[];
  medianRps: number;
  medianP99: number;
  /** The evenly paced run at half the cell's median maximum rate (latency at a fixed load). */
  halfRate?: { rate: number; run: PacedRun };
}

/** Everything W1 measured. */
export interface W1Results {
  settings: { durationS: number; warmupS: number; connections: number; runs: number };
  servers: W1Server[];
  queries: Record<string, string>;
  /** server -> query -> cell */
  cells: Record<string, Record<string, W1Cell>>;
  /** Size of ours' answers in bytes (the bare server answers exactly these). */
  responseBytes: Record<string, number>;
}

const API_KEY = BENCH_API_KEY;
const QUERY_NAMES = ['checkout(id)', 'checkouts(first: 20)'] as const;

const durationS = envNumber('BENCH_W1_DURATION', 6);
const warmupS = envNumber('BENCH_W1_WARMUP', 2);
const connections = envNumber('BENCH_W1_CONNECTIONS', 20);
const runs = envNumber('BENCH_W1_RUNS', 3);
const only = process.env.BENCH_W1_SERVERS?.split(',');

/** The production-like configuration every GraphQL server gets (W1 never polls). */
function serverEnv(database: { dataDir?: string; databaseUrl?: string }): Record<string, string | undefined> {
  // The default cost limit (5,000) refuses a page of 50 with line items and merchant (about 7,000
  // with graphql-armor's depth factor); kept raised for the page of 20 too, so every run since is
  // configured alike, with every limit still checked.
  return oursEnv({
    LIMIT_MAX_COST: '20000',
    DATA_DIR: database.dataDir ?? 'memory://',
    DATABASE_URL: database.databaseUrl,
  });
}

interface Running {
  server: W1Server;
  process: BenchProcess<{ url: string }>;
  targets: Record<string, LoadTarget>;
  cleanup: () => Promise<void>;
}

async function startGraphQLServer(server: W1Server, entry: string, extraEnv: Record<string, string>): Promise<Running> {
  let dataDir: string | undefined;
  let dbName: string | undefined;
  let databaseUrl: string | undefined;
  if (server.database === 'pglite') dataDir = mkdtempSync(join(tmpdir(), `bench-w1-${server.name}-`));
  else {
    dbName = `bench_w1_${server.name.replace(/[^a-z]/g, '_')}`;
    databaseUrl = await freshDatabase(dbName);
  }
  const process_ = await startPinned<{ url: string }>(
    entry,
    { ...serverEnv({ dataDir, databaseUrl }), ...extraEnv },
    SERVER_CORE,
  );
  const { url } = process_.ready;
  let targets: Record<string, LoadTarget>;
  try {
    const ids = await seedCheckouts(url, API_KEY, 50);
    // The newest checkout is a Smartcheckout one; the one before it is a Stan checkout with two line items.
    targets = buildTargets(url, ids[ids.length - 2]!);
    await verify(server.name, url, targets);
  } catch (error) {
    await process_.stop();
    throw error;
  }
  return {
    server,
    process: process_,
    targets,
    cleanup: async () => {
      await process_.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (dbName) await dropDatabase(dbName);
    },
  };
}

function buildTargets(url: string, checkoutId: string): Record<string, LoadTarget> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
  return {
    'checkout(id)': {
      url: `${url}/graphql`,
      headers,
      body: JSON.stringify({ query: CHECKOUT_QUERY, variables: { id: checkoutId } }),
    },
    'checkouts(first: 20)': { url: `${url}/graphql`, headers, body: JSON.stringify({ query: CHECKOUTS_QUERY }) },
  };
}

/** Each server must answer both queries completely and without errors before it is measured. */
async function verify(name: string, url: string, targets: Record<string, LoadTarget>): Promise<Record<string, string>> {
  const bodies: Record<string, string> = {};
  for (const [query, target] of Object.entries(targets)) {
    const { query: document, variables } = JSON.parse(target.body) as {
      query: string;
      variables?: Record<string, unknown>;
    };
    const { status, body, answer } = await gql<Record<string, unknown>>(url, API_KEY, document, variables);
    if (status !== 200 || answer.errors)
      throw new Error(`${name} answered ${query} with ${status}: ${body.slice(0, 500)}`);
    const data = answer.data as {
      checkout?: { lineItems: unknown[]; merchant: unknown };
      checkouts?: { edges: { node: { lineItems: unknown[]; merchant: unknown } }[] };
    };
    const nodes = data.checkout ? [data.checkout] : (data.checkouts?.edges.map((edge) => edge.node) ?? []);
    const expected = query === 'checkout(id)' ? 1 : 20;
    if (nodes.length !== expected || nodes.some((node) => node.lineItems.length === 0 || node.merchant === null)) {
      throw new Error(`${name} answered ${query} incompletely: ${body.slice(0, 500)}`);
    }
    bodies[query] = body;
  }
  return bodies;
}

async function main(): Promise<void> {
  const plan: { server: W1Server; entry: string; env: Record<string, string> }[] = [
    {
      server: {
        name: 'ours-pglite',
        description: 'this API (buildApp, production plugins) on PGlite',
        database: 'pglite',
      },
      entry: 'bench/servers/ours.ts',
      env: {},
    },
    {
      server: {
        name: 'ours-yoga-pglite',
        description: 'this API with FAST_QUERY_PATH=off (every request through Yoga, the previous pipeline) on PGlite',
        database: 'pglite',
      },
      entry: 'bench/servers/ours.ts',
      env: { FAST_QUERY_PATH: 'off' },
    },
    {
      server: {
        name: 'apollo-pglite',
        description: '@apollo/server 5 standalone, same schema and context, PGlite',
        database: 'pglite',
      },
      entry: 'bench/servers/peer.ts',
      env: { BENCH_PEER: 'apollo' },
    },
    {
      server: {
        name: 'mercurius-pglite',
        description: 'fastify 5 + mercurius 16 (jit: 1), same schema and context, PGlite',
        database: 'pglite',
      },
      entry: 'bench/servers/peer.ts',
      env: { BENCH_PEER: 'mercurius' },
    },
    {
      server: {
        name: 'ours-postgres',
        description: 'this API (buildApp, production plugins) on PostgreSQL',
        database: 'postgres',
      },
      entry: 'bench/servers/ours.ts',
      env: {},
    },
    {
      server: {
        name: 'ours-yoga-postgres',
        description:
          'this API with FAST_QUERY_PATH=off (every request through Yoga, the previous pipeline) on PostgreSQL',
        database: 'postgres',
      },
      entry: 'bench/servers/ours.ts',
      env: { FAST_QUERY_PATH: 'off' },
    },
    {
      server: {
        name: 'apollo-postgres',
        description: '@apollo/server 5 standalone, same schema and context, PostgreSQL',
        database: 'postgres',
      },
      entry: 'bench/servers/peer.ts',
      env: { BENCH_PEER: 'apollo' },
    },
    {
      server: {
        name: 'mercurius-postgres',
        description: 'fastify 5 + mercurius 16 (jit: 1), same schema and context, PostgreSQL',
        database: 'postgres',
      },
      entry: 'bench/servers/peer.ts',
      env: { BENCH_PEER: 'mercurius' },
    },
  ];
  const bare: W1Server = {
    name: 'bare',
    description: "bare node:http answering the precomputed bytes of ours' answers (the ceiling)",
    database: 'none',
  };
  const running: Running[] = [];
  const results: W1Results = {
    settings: { durationS, warmupS, connections, runs },
    servers: [],
    queries: { 'checkout(id)': CHECKOUT_QUERY, 'checkouts(first: 20)': CHECKOUTS_QUERY },
    cells: {},
    responseBytes: {},
  };
  try {
    for (const { server, entry, env } of plan) {
      if (only && !only.includes(server.name) && !(server.name === 'ours-pglite' && only.includes('bare'))) continue;
      progress(`W1: starting ${server.name} and seeding 50 checkouts`);
      running.push(await startGraphQLServer(server, entry, env));
      if (server.name === 'ours-pglite') {
        // The ceiling answers exactly the bytes ours answered, for the same request bodies.
        const ours = running[running.length - 1]!;
        const answers = await verify(server.name, ours.process.ready.url, ours.targets);
        const table: Record<string, string> = {};
        for (const query of QUERY_NAMES) {
          table[ours.targets[query]!.body] = answers[query]!;
          results.responseBytes[query] = Buffer.byteLength(answers[query]!);
        }
        const file = join(tmpdir(), `bench-w1-bare-${process.pid}.json`);
        writeFileSync(file, JSON.stringify(table));
        if (!only || only.includes('bare')) {
          const bareProcess = await startPinned<{ url: string }>(
            'bench/servers/bare.ts',
            { BENCH_BARE_RESPONSES: file },
            SERVER_CORE,
          );
          const targets = Object.fromEntries(
            QUERY_NAMES.map((query) => [query, { ...ours.targets[query]!, url: `${bareProcess.ready.url}/graphql` }]),
          );
          running.unshift({ server: bare, process: bareProcess, targets, cleanup: () => bareProcess.stop() });
        }
      }
    }
    results.servers = running.map((r) => r.server);
    for (const r of running) results.cells[r.server.name] = {};

    progress(`W1: warm-up ${warmupS}s per cell`);
    for (const r of running)
      for (const query of QUERY_NAMES) await autocannon(r.targets[query]!, { connections, durationS: warmupS });

    for (let run = 1; run <= runs; run++) {
      for (const r of running) {
        for (const query of QUERY_NAMES) {
          const result = await autocannon(r.targets[query]!, { connections, durationS });
          results.cells[r.server.name]![query] ??= { runs: [], medianRps: 0, medianP99: 0 };
          const cell = results.cells[r.server.name]![query]!;
          cell.runs.push(result);
          progress(
            `W1 run ${run}/${runs} ${r.server.name.padEnd(18)} ${query.padEnd(20)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms${result.non2xx + result.errors ? `  (${result.non2xx} non-2xx, ${result.errors} errors)` : ''}`,
          );
        }
      }
    }
    for (const r of running) {
      for (const query of QUERY_NAMES) {
        const cell = results.cells[r.server.name]![query]!;
        cell.medianRps = median(cell.runs.map((x) => x.rps));
        cell.medianP99 = median(cell.runs.map((x) => x.p99));
        // One core of generator paces up to about 10,000 requests a second; the bare ceiling's half is capped there.
        const rate = Math.min(PACED_MAX_RATE, Math.round(cell.medianRps / 2));
        const run = await paced(r.targets[query]!, { rate, durationS, connections });
        cell.halfRate = { rate, run };
        progress(
          `W1 half rate ${r.server.name.padEnd(18)} ${query.padEnd(20)} at ${rate} req/s (paced): p50 ${run.p50} ms  p99 ${run.p99} ms  (generator late p99 ${run.lateSendsP99} ms)`,
        );
      }
    }
  } finally {
    for (const r of running)
      await r.cleanup().catch((error: unknown) => console.error(`cleanup of ${r.server.name}:`, error));
  }
  progress(`W1 results: ${writeResults('w1', results)}`);
}

await main();
