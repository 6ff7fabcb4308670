/**
 * W1 queries: `checkout(id)` and `checkouts(first: 20)` (line items and merchant) served by
 *   bare     node:http answering the precomputed answers of ours (status, headers, body) (the ceiling)
 *   ours     this API (buildApp: Yoga + production plugins) on PGlite and on PostgreSQL
 *   apollo   the same schema and context on @apollo/server 5 (PGlite and PostgreSQL)
 *   mercurius the same on fastify + mercurius with jit: 1 (PGlite and PostgreSQL)
 *   yoga     the same on graphql-yoga with its defaults and graphql-jit (what ours adds to Yoga)
 * `checkout(id)` is sent in every shape clients send it ({@link SHAPES}): plain JSON (curl, scripts),
 * with a GraphQL client's `Accept`, from a browser on an allowed origin (CORS, configured alike on
 * every server), from the same browser as a trusted document's hash by POST and by GET, and over
 * graphql-ws (ours only, the last three: the peers serve no queries over graphql-ws and no trusted
 * documents; ours is given a manifest with the query, published as the storefront publishes its own).
 * Every server runs alone on core 0 (taskset), the load generators on core 1. All servers stay up
 * and the runs go round-robin (run 1 of every cell, then run 2 ...) so the machine's noise spreads
 * evenly over the cells that are compared. Writes bench/results/w1.json.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
import {
  autocannon,
  paced,
  webSocketLoad,
  type LoadRun,
  type LoadTarget,
  type PacedRun,
  type WebSocketTarget,
} from './lib/load.js';
import {
  BROWSER_HEADERS,
  BROWSER_ORIGIN,
  CHECKOUT_QUERY,
  CHECKOUTS_QUERY,
  GRAPHQL_ACCEPT,
  gql,
  type GraphQLAnswer,
  seedCheckouts,
} from './lib/graphql.js';
import { CSRF_HEADER } from '../src/http/security.js';
import { dropDatabase, freshDatabase } from './lib/postgres.js';
import { type BareAnswer, bareKey } from './servers/bare.js';

/** Seconds of unmeasured load on a server before its first cell of each round. */
const REWARM_S = 1;

/** The highest rate bench/paced.ts is asked to hold (one core of generator). */
const PACED_MAX_RATE = 10_000;

/** A W1 server under test. */
export interface W1Server {
  name: string;
  /** What it is, for the README. */
  description: string;
  database: 'none' | 'pglite' | 'postgres';
}

/** A cell: one server, one query in one request shape. */
export interface W1Cell {
  runs: LoadRun[];
  medianRps: number;
  medianP99: number;
  /** The evenly paced run at half the cell's median maximum rate (latency at a fixed load; HTTP only). */
  halfRate?: { rate: number; run: PacedRun };
  /** The evenly paced run at BENCH_W1_FIXED_RATE (400) req/s, browser-shaped cells only (issue 23: no stalls). */
  fixedRate?: { rate: number; run: PacedRun };
}

/** How a query is sent. */
export type W1Shape = 'json' | 'graphql-accept' | 'browser' | 'persisted-post' | 'persisted-get' | 'graphql-ws';

/** Everything W1 measured. */
export interface W1Results {
  settings: { durationS: number; warmupS: number; connections: number; runs: number };
  /** The machine's load average (1, 5, 15 min) when the run started and when it ended. */
  loadAverage?: { start: number[]; end: number[] };
  servers: W1Server[];
  /** Cell name -> the document it sends (a query in several shapes has one cell per shape). */
  queries: Record<string, string>;
  /** Cell name -> how its requests are sent, and the headers they carry beyond content-type and authorization. */
  shapes?: Record<string, { shape: W1Shape; description: string; headers: Record<string, string> }>;
  /** server -> cell -> measurements */
  cells: Record<string, Record<string, W1Cell>>;
  /** Size of ours' answers in bytes (the bare server answers exactly these). */
  responseBytes: Record<string, number>;
}

const API_KEY = BENCH_API_KEY;

/** The cells every server is measured on: `checkout(id)` in each shape, and a page as plain JSON. */
const SHAPES: { name: string; query: 'checkout' | 'checkouts'; shape: W1Shape; description: string }[] = [
  {
    name: 'checkout(id)',
    query: 'checkout',
    shape: 'json',
    description: 'JSON POST, no Origin, no Accept (curl, scripts)',
  },
  {
    name: 'checkout(id) GraphQL Accept',
    query: 'checkout',
    shape: 'graphql-accept',
    description: `JSON POST with \`Accept: ${GRAPHQL_ACCEPT}\` (Apollo Client, urql, graphql-http, GraphiQL)`,
  },
  {
    name: 'checkout(id) browser',
    query: 'checkout',
    shape: 'browser',
    description: `JSON POST from a page on ${BROWSER_ORIGIN} (an allowed CORS origin): Origin, Referer, the GraphQL Accept and Chromium's fetch headers; the preflight is cached by the browser and not part of the load`,
  },
  {
    name: 'checkout(id) by hash POST',
    query: 'checkout',
    shape: 'persisted-post',
    description:
      "the browser POST with a trusted document's SHA-256 instead of the text (`extensions.persistedQuery`), as the storefront sends it",
  },
  {
    name: 'checkout(id) by hash GET',
    query: 'checkout',
    shape: 'persisted-get',
    description:
      'the same hash by GET (`?variables=…&extensions=…`), from the same browser: a query a CDN or the browser could cache',
  },
  {
    name: 'checkout(id) graphql-ws',
    query: 'checkout',
    shape: 'graphql-ws',
    description: 'the query over graphql-ws (one `subscribe` in flight per socket, the next after `complete`)',
  },
  { name: 'checkouts(first: 20)', query: 'checkouts', shape: 'json', description: 'JSON POST, no Origin, no Accept' },
];

/** The headers of each HTTP shape, beyond content-type and authorization. */
const SHAPE_HEADERS: Record<Exclude<W1Shape, 'graphql-ws'>, Record<string, string>> = {
  json: {},
  'graphql-accept': { accept: GRAPHQL_ACCEPT },
  browser: BROWSER_HEADERS,
  'persisted-post': BROWSER_HEADERS,
  // What the storefront adds to a GET: the API refuses a GET without it as a possible CSRF.
  'persisted-get': { ...BROWSER_HEADERS, [CSRF_HEADER]: '1' },
};

/** The shapes only ours serves: graphql-ws and trusted documents. */
const OURS_ONLY: readonly W1Shape[] = ['graphql-ws', 'persisted-post', 'persisted-get'];

/** The id of W1's `checkout(id)` document in the manifest ours is given: the SHA-256 of its text. */
const CHECKOUT_QUERY_HASH = createHash('sha256').update(CHECKOUT_QUERY).digest('hex');

const durationS = envNumber('BENCH_W1_DURATION', 6);
const warmupS = envNumber('BENCH_W1_WARMUP', 2);
const connections = envNumber('BENCH_W1_CONNECTIONS', 20);
const runs = envNumber('BENCH_W1_RUNS', 3);
const only = process.env.BENCH_W1_SERVERS?.split(',');
const onlyCells = process.env.BENCH_W1_CELLS?.split(',');
/** BENCH_W1_PACED=0 skips the paced half-rate runs. */
const pacedRuns = process.env.BENCH_W1_PACED !== '0';
/** BENCH_W1_FIXED_RATE: the rate of one more paced run of every browser-shaped cell (0 skips it). */
const fixedRate = envNumber('BENCH_W1_FIXED_RATE', 400);
/** BENCH_W1_NODE_ARGS: node flags for the GraphQL servers (e.g. `--trace-gc`; their output shows with BENCH_VERBOSE=1). */
const serverNodeArgs = process.env.BENCH_W1_NODE_ARGS?.split(' ').filter(Boolean);

/** The production-like configuration every GraphQL server gets (W1 never polls). */
function serverEnv(database: { dataDir?: string; databaseUrl?: string }): Record<string, string | undefined> {
  // The default cost limit (5,000) refuses a page of 50 with line items and merchant (about 7,000
  // with graphql-armor's depth factor); kept raised for the page of 20 too, so every run since is
  // configured alike, with every limit still checked.
  return oursEnv({
    LIMIT_MAX_COST: '20000',
    DATA_DIR: database.dataDir ?? 'memory://',
    DATABASE_URL: database.databaseUrl,
    // The storefront's origin, allowed by CORS on every server (the peers read the same variable).
    CORS_ORIGINS: BROWSER_ORIGIN,
  });
}

/** What one cell sends: an HTTP request, or an operation over graphql-ws. */
type Target = { http: LoadTarget } | { ws: WebSocketTarget };

interface Running {
  server: W1Server;
  process: BenchProcess<{ url: string }>;
  targets: Record<string, Target>;
  cleanup: () => Promise<void>;
}

/** The cells a server is measured on: every one (ours), else those in the shapes every server serves. */
function cellsOf(ours: boolean) {
  return SHAPES.filter(
    (cell) => (ours || !OURS_ONLY.includes(cell.shape)) && (!onlyCells || onlyCells.includes(cell.name)),
  );
}

async function startGraphQLServer(
  server: W1Server,
  entry: string,
  extraEnv: Record<string, string>,
  /** Ours: also serves the ours-only cells (graphql-ws, by hash), so it gets W1's manifest. */
  ours: boolean,
): Promise<Running> {
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
    { nodeArgs: serverNodeArgs },
  );
  const { url } = process_.ready;
  let targets: Record<string, Target>;
  try {
    const ids = await seedCheckouts(url, API_KEY, 50);
    if (ours) await publishCheckoutQuery(url);
    // The newest checkout is a Smartcheckout one; the one before it is a Stan checkout with two line items.
    targets = buildTargets(url, ids[ids.length - 2]!, cellsOf(ours));
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

/**
 * Publishes W1's `checkout(id)` document as a trusted document of the bench tenant (app `bench`),
 * with the mutation a `write`-scoped key may call, as the storefront's manifest is published.
 */
async function publishCheckoutQuery(url: string): Promise<void> {
  const published = await gql<{ publishDocumentManifest: { __typename: string } }>(
    url,
    API_KEY,
    `mutation Publish($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) { __typename } }`,
    { input: { appName: 'bench', appVersion: '1', documents: { [`sha256:${CHECKOUT_QUERY_HASH}`]: CHECKOUT_QUERY } } },
  );
  if (published.answer.data?.publishDocumentManifest.__typename !== 'PublishDocumentManifestSuccess')
    throw new Error(`publishing the W1 manifest failed: ${published.body.slice(0, 500)}`);
}

function buildTargets(url: string, checkoutId: string, cells: typeof SHAPES): Record<string, Target> {
  const targets: Record<string, Target> = {};
  for (const cell of cells) {
    const query = cell.query === 'checkout' ? CHECKOUT_QUERY : CHECKOUTS_QUERY;
    const variables = cell.query === 'checkout' ? { id: checkoutId } : undefined;
    if (cell.shape === 'graphql-ws') {
      targets[cell.name] = {
        ws: { url: `${url}/graphql`, authorization: `Bearer ${API_KEY}`, query, variables },
      };
      continue;
    }
    const headers = { authorization: `Bearer ${API_KEY}`, ...SHAPE_HEADERS[cell.shape] };
    const extensions = { persistedQuery: { version: 1, sha256Hash: CHECKOUT_QUERY_HASH } };
    if (cell.shape === 'persisted-get') {
      const search = new URLSearchParams({
        variables: JSON.stringify(variables),
        extensions: JSON.stringify(extensions),
      });
      targets[cell.name] = { http: { url: `${url}/graphql?${search}`, method: 'GET', headers, body: '' } };
      continue;
    }
    const body =
      cell.shape === 'persisted-post' ? { variables, extensions } : variables ? { query, variables } : { query };
    targets[cell.name] = {
      http: {
        url: `${url}/graphql`,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      },
    };
  }
  return targets;
}

/** A recorded answer of one HTTP cell. */
interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/**
 * Each server must answer every HTTP cell completely and without errors before it is measured, the
 * same body bytes in every shape of one query, and allow the browser's origin (its preflight too).
 */
async function verify(name: string, url: string, targets: Record<string, Target>): Promise<Record<string, Answer>> {
  const answers: Record<string, Answer> = {};
  for (const [cellName, target] of Object.entries(targets)) {
    if (!('http' in target)) continue;
    const { headers } = target.http;
    const response = await fetch(target.http.url, {
      method: target.http.method ?? 'POST',
      headers,
      body: target.http.method === 'GET' ? undefined : target.http.body,
    });
    const body = await response.text();
    const { status } = response;
    const answer = { headers: response.headers, answer: JSON.parse(body) as GraphQLAnswer };
    if (status !== 200 || answer.answer.errors)
      throw new Error(`${name} answered ${cellName} with ${status}: ${body.slice(0, 500)}`);
    const data = answer.answer.data as {
      checkout?: { lineItems: unknown[]; merchant: unknown };
      checkouts?: { edges: { node: { lineItems: unknown[]; merchant: unknown } }[] };
    };
    const nodes = data.checkout ? [data.checkout] : (data.checkouts?.edges.map((edge) => edge.node) ?? []);
    const expected = data.checkout ? 1 : 20;
    if (nodes.length !== expected || nodes.some((node) => node.lineItems.length === 0 || node.merchant === null)) {
      throw new Error(`${name} answered ${cellName} incompletely: ${body.slice(0, 500)}`);
    }
    if (headers.origin && answer.headers.get('access-control-allow-origin') !== headers.origin)
      throw new Error(`${name} does not allow ${headers.origin} by CORS in ${cellName}`);
    answers[cellName] = { status, headers: answer.headers, body };
  }
  const plain = answers['checkout(id)']?.body;
  for (const [cellName, answer] of Object.entries(answers))
    if (cellName.startsWith('checkout(id)') && plain !== undefined && answer.body !== plain)
      throw new Error(`${name} answered ${cellName} with other bytes than the plain JSON POST`);
  const preflight = await fetch(`${url}/graphql`, {
    method: 'OPTIONS',
    headers: {
      origin: BROWSER_ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
  if (preflight.status >= 300 || preflight.headers.get('access-control-allow-origin') !== BROWSER_ORIGIN)
    throw new Error(`${name} refused the CORS preflight from ${BROWSER_ORIGIN} (${preflight.status})`);
  return answers;
}

/** One measured run of a cell. */
function load(target: Target, seconds: number): Promise<LoadRun> {
  return 'http' in target
    ? autocannon(target.http, { connections, durationS: seconds })
    : webSocketLoad(target.ws, { connections, durationS: seconds });
}

/** Ours' answers, as bare node:http replays them: status, headers (not date, connection, length), body. */
function bareTable(targets: Record<string, Target>, answers: Record<string, Answer>): Record<string, BareAnswer> {
  const table: Record<string, BareAnswer> = {};
  for (const [cellName, answer] of Object.entries(answers)) {
    const target = targets[cellName]!;
    if (!('http' in target)) continue;
    const headers: Record<string, string> = {};
    answer.headers.forEach((value, key) => {
      if (!['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(key))
        headers[key] = value;
    });
    const { accept, origin } = target.http.headers;
    const { pathname, search } = new URL(target.http.url);
    const request = { method: target.http.method ?? 'POST', url: pathname + search };
    const body = request.method === 'GET' ? '' : target.http.body;
    table[bareKey(request, accept, origin, body)] = { status: answer.status, headers, body: answer.body };
  }
  return table;
}

async function main(): Promise<void> {
  const plan: { server: W1Server; entry: string; env: Record<string, string>; ours: boolean }[] = [];
  for (const database of ['pglite', 'postgres'] as const) {
    const label = database === 'pglite' ? 'PGlite' : 'PostgreSQL';
    plan.push(
      {
        server: {
          name: `ours-${database}`,
          description: `this API (buildApp, production plugins, every request through Yoga) on ${label}`,
          database,
        },
        entry: 'bench/servers/ours.ts',
        env: {},
        ours: true,
      },
      {
        server: {
          name: `apollo-${database}`,
          description: `@apollo/server 5 (as its standalone server, with CORS origins), same schema and context, ${label}`,
          database,
        },
        entry: 'bench/servers/peer.ts',
        env: { BENCH_PEER: 'apollo' },
        ours: false,
      },
      {
        server: {
          name: `mercurius-${database}`,
          description: `fastify 5 + mercurius 16 (jit: 1, CORS in an onRequest hook), same schema and context, ${label}`,
          database,
        },
        entry: 'bench/servers/peer.ts',
        env: { BENCH_PEER: 'mercurius' },
        ours: false,
      },
      {
        server: {
          name: `yoga-${database}`,
          description: `graphql-yoga 5 with its defaults and graphql-jit (src/app/jit.ts), CORS configured, same schema and context, ${label}: the framework ours is built on, without ours' plugins and request front`,
          database,
        },
        entry: 'bench/servers/peer.ts',
        env: { BENCH_PEER: 'yoga' },
        ours: false,
      },
    );
  }
  const bare: W1Server = {
    name: 'bare',
    description:
      'bare node:http answering the precomputed answers of ours (status, headers, body) to the same requests (the ceiling)',
    database: 'none',
  };
  const running: Running[] = [];
  const results: W1Results = {
    settings: { durationS, warmupS, connections, runs },
    loadAverage: { start: loadavg(), end: [] },
    servers: [],
    queries: {},
    shapes: {},
    cells: {},
    responseBytes: {},
  };
  for (const cell of SHAPES) {
    if (onlyCells && !onlyCells.includes(cell.name)) continue;
    results.queries[cell.name] = cell.query === 'checkout' ? CHECKOUT_QUERY : CHECKOUTS_QUERY;
    results.shapes![cell.name] = {
      shape: cell.shape,
      description: cell.description,
      headers: cell.shape === 'graphql-ws' ? {} : SHAPE_HEADERS[cell.shape],
    };
  }
  try {
    for (const { server, entry, env, ours } of plan) {
      if (only && !only.includes(server.name) && !(server.name === 'ours-pglite' && only.includes('bare'))) continue;
      progress(`W1: starting ${server.name} and seeding 50 checkouts`);
      running.push(await startGraphQLServer(server, entry, env, ours));
      if (server.name === 'ours-pglite') {
        // The ceiling answers exactly what ours answered, for the same requests.
        const ours = running[running.length - 1]!;
        const answers = await verify(server.name, ours.process.ready.url, ours.targets);
        for (const [cellName, answer] of Object.entries(answers))
          results.responseBytes[cellName] = Buffer.byteLength(answer.body);
        const file = join(tmpdir(), `bench-w1-bare-${process.pid}.json`);
        writeFileSync(file, JSON.stringify(bareTable(ours.targets, answers)));
        if (!only || only.includes('bare')) {
          const bareProcess = await startPinned<{ url: string }>(
            'bench/servers/bare.ts',
            { BENCH_BARE_RESPONSES: file },
            SERVER_CORE,
          );
          const targets: Record<string, Target> = {};
          for (const [cellName, target] of Object.entries(ours.targets))
            if ('http' in target)
              targets[cellName] = {
                http: { ...target.http, url: target.http.url.replace(ours.process.ready.url, bareProcess.ready.url) },
              };
          running.unshift({ server: bare, process: bareProcess, targets, cleanup: () => bareProcess.stop() });
        }
      }
    }
    results.servers = running.map((r) => r.server);
    for (const r of running) results.cells[r.server.name] = {};

    progress(`W1: warm-up ${warmupS}s per cell`);
    for (const r of running) for (const target of Object.values(r.targets)) await load(target, warmupS);

    for (let run = 1; run <= runs; run++) {
      for (const r of running) {
        // A server idle while the others were measured warms up again before its first cell (the
        // run's first cell was otherwise the slowest of every server, whatever it sent).
        await load(Object.values(r.targets)[0]!, REWARM_S);
        for (const [cellName, target] of Object.entries(r.targets)) {
          const result = await load(target, durationS);
          results.cells[r.server.name]![cellName] ??= { runs: [], medianRps: 0, medianP99: 0 };
          const cell = results.cells[r.server.name]![cellName]!;
          cell.runs.push(result);
          progress(
            `W1 run ${run}/${runs} ${r.server.name.padEnd(18)} ${cellName.padEnd(28)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms${result.non2xx + result.errors ? `  (${result.non2xx} non-2xx, ${result.errors} errors)` : ''}`,
          );
        }
      }
    }
    for (const r of running) {
      for (const [cellName, target] of Object.entries(r.targets)) {
        const cell = results.cells[r.server.name]![cellName]!;
        cell.medianRps = median(cell.runs.map((x) => x.rps));
        cell.medianP99 = median(cell.runs.map((x) => x.p99));
        if (!pacedRuns || !('http' in target)) continue;
        // One core of generator paces up to about 10,000 requests a second; the bare ceiling's half is capped there.
        const rate = Math.min(PACED_MAX_RATE, Math.round(cell.medianRps / 2));
        const run = await paced(target.http, { rate, durationS, connections });
        cell.halfRate = { rate, run };
        progress(
          `W1 half rate ${r.server.name.padEnd(18)} ${cellName.padEnd(28)} at ${rate} req/s (paced): p50 ${run.p50} ms  p99 ${run.p99} ms  (generator late p99 ${run.lateSendsP99} ms)`,
        );
        if (fixedRate <= 0 || !cellName.endsWith(' browser')) continue;
        // The same load for every server (a fifth of what ours serves): stalls show as a p99 far above bare's.
        const fixed = await paced(target.http, { rate: fixedRate, durationS, connections });
        cell.fixedRate = { rate: fixedRate, run: fixed };
        progress(
          `W1 fixed rate ${r.server.name.padEnd(18)} ${cellName.padEnd(28)} at ${fixedRate} req/s (paced): p50 ${fixed.p50} ms  p99 ${fixed.p99} ms  (generator late p99 ${fixed.lateSendsP99} ms)`,
        );
      }
    }
  } finally {
    for (const r of running)
      await r.cleanup().catch((error: unknown) => console.error(`cleanup of ${r.server.name}:`, error));
  }
  results.loadAverage!.end = loadavg();
  progress(`W1 results: ${writeResults('w1', results)}`);
  for (const line of summary(results)) console.log(line);
}

/** The shapes table and the ratios the issue asks for, as text for the console. */
function summary(results: W1Results): string[] {
  const lines: string[] = [];
  const rps = (server: string, cell: string) => results.cells[server]?.[cell]?.medianRps;
  const fmt = (value: number | undefined, digits = 0) => (value === undefined ? 'n/a' : value.toFixed(digits));
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? 'n/a' : (a / b).toFixed(2);
  const shapeCells = Object.keys(results.queries).filter((cell) => cell.startsWith('checkout(id)'));
  lines.push(`load average at start ${results.loadAverage?.start.map((x) => x.toFixed(2)).join(' ')}`);
  lines.push(`| server | ${Object.keys(results.queries).join(' | ')} |`);
  for (const server of results.servers)
    lines.push(
      `| ${server.name} | ${Object.keys(results.queries)
        .map((cell) => fmt(rps(server.name, cell)))
        .join(' | ')} |`,
    );
  for (const database of ['pglite', 'postgres']) {
    const ours = `ours-${database}`;
    const values = shapeCells.map((cell) => rps(ours, cell)).filter((value): value is number => value !== undefined);
    if (values.length === 0) continue;
    lines.push(
      `${ours}: slowest / fastest shape ${(Math.min(...values) / Math.max(...values)).toFixed(2)} (target >= 0.9)`,
    );
    lines.push(
      `${ours}: browser / bare ${ratio(rps(ours, 'checkout(id) browser'), rps('bare', 'checkout(id) browser'))} (target >= 0.15)`,
    );
    for (const cell of shapeCells.filter((name) => !name.endsWith('graphql-ws')))
      lines.push(
        `${ours} ${cell}: / Apollo ${ratio(rps(ours, cell), rps(`apollo-${database}`, cell))} (>= 2), / Mercurius ${ratio(rps(ours, cell), rps(`mercurius-${database}`, cell))} (>= 1), / Yoga ${ratio(rps(ours, cell), rps(`yoga-${database}`, cell))}`,
      );
  }
  return lines;
}

await main();
