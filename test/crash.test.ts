import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pg from 'pg';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { RunningSandbox } from '../src/providers/sandbox-http.js';
import { startSmartcheckoutSandbox } from '../src/providers/smartcheckout/sandbox.js';
import { CheckoutStatusChangedDocument, CheckoutsDocument, CreateSmartCheckoutDocument } from './generated/graphql.js';
import { expectType, isolatedDatabase } from './support/app.js';
import {
  clearFaults,
  countersOf,
  eventHistoryProblems,
  faultState,
  injectFault,
  type EventRow,
} from './support/faults.js';
import { waitFor } from './support/async.js';
import { newTenant } from './support/env.js';
import {
  gql,
  killAllServerProcesses,
  startServerProcess,
  stopServerProcess,
  type GraphQLResult,
  type ServerProcess,
} from './support/process.js';

/*
 * Crashes and shutdowns of real server processes (`node --import tsx src/main.ts`): a SIGKILL
 * loses no checkout and buys nothing twice, a SIGTERM lets the work in flight finish. The
 * Smartcheckout provider is a sandbox in this test process (faults on): it outlives the servers,
 * so a restarted server finds the provider's checkouts where the killed one left them, and its
 * /__faults counters tell how many create POSTs the provider acted on, across every process.
 *
 * Each case runs on PGlite with a data folder in a temp directory (SIGKILL of an embedded
 * database: the restarted process must recover the folder) and, when DATABASE_URL is set, on a
 * PostgreSQL database of its own. The database is read directly: through pg for PostgreSQL, by
 * opening the data folder in this process for PGlite (only while no server has it open).
 */

const PROVIDER_KEY = `sc-crash-${randomUUID()}`;
const POLL_ENV = { POLLER: 'on', POLL_INTERVAL_MS: '200', POLL_MAX_INTERVAL_MS: '400' };
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'EXPIRED', 'UNKNOWN']);

/** Totals for the one-line summary. */
const tally = { checkouts: 0, processedPosts: 0, duplicates: 0, rowsLost: 0 };

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startSmartcheckoutSandbox({ apiKey: PROVIDER_KEY, faults: true });
});
afterAll(async () => {
  await killAllServerProcesses();
  await sandbox?.close();
  console.log(
    `crash suite: checkouts: ${tally.checkouts}, processed POSTs: ${tally.processedPosts}, duplicates: ${tally.duplicates}, rows lost: ${tally.rowsLost}`,
  );
});

type Query = <T>(text: string, params?: unknown[]) => Promise<T[]>;

/** Where a case's data lives, and how this process reads it. */
interface Store {
  name: string;
  env: Record<string, string>;
  /**
   * Runs `work` with a query function on the data. For PGlite the folder is opened in this
   * process and closed after `work`: no server may have it open meanwhile.
   */
  read<R>(work: (query: Query) => Promise<R>): Promise<R>;
  drop(): Promise<void>;
}

async function pgliteStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'cg-crash-'));
  return {
    name: 'pglite',
    env: { DATA_DIR: dir },
    async read(work) {
      const db = await PGlite.create(dir);
      try {
        return await work(async <T>(text: string, params: unknown[] = []) => (await db.query<T>(text, params)).rows);
      } finally {
        await db.close();
      }
    },
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

async function postgresStore(): Promise<Store> {
  const database = await isolatedDatabase('crash');
  const url = database.url!;
  return {
    name: 'postgres',
    env: { DATABASE_URL: url },
    async read(work) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return await work(
          async <T>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[],
        );
      } finally {
        await client.end();
      }
    },
    drop: database.drop,
  };
}

const STORES: { name: string; open: () => Promise<Store> }[] = [
  { name: 'PGlite (data folder)', open: pgliteStore },
  ...(process.env.DATABASE_URL ? [{ name: 'PostgreSQL', open: postgresStore }] : []),
];

/** Environment of a server process on `store` for `tenant`, polling, with the sandbox as Smartcheckout. */
function crashServerEnv(
  store: Store,
  tenant: { name: string; key: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...store.env,
    API_KEYS: `${tenant.name}:${tenant.key}`,
    SMARTCHECKOUT_BASE_URL: sandbox.url,
    SMARTCHECKOUT_API_KEY: PROVIDER_KEY,
    PROVIDER_TIMEOUT_MS: '1000',
    ...POLL_ENV,
    ...extra,
  };
}

function createInput(key: string, n: number, scenario: string) {
  return {
    input: {
      idempotencyKey: key,
      productUrl: `https://shop.example/crash-${n}?${scenario}`,
      email: 'crash@example.com',
    },
  };
}

/** The tenant's checkouts as the API lists them (id, status), up to 100. */
async function listed(server: ServerProcess, apiKey: string, statuses?: string[]) {
  const result = await gql(server, apiKey, CheckoutsDocument, {
    first: 100,
    ...(statuses ? { filter: { status: statuses as never } } : {}),
  });
  expect(result.errors).toBeUndefined();
  return result.data!.checkouts.edges.map((edge) => edge.node);
}

async function createCounters() {
  return countersOf(await faultState(sandbox.url), 'create');
}

interface StoredCheckout {
  id: string;
  status: string;
  notes: string | null;
  provider_checkout_id: string | null;
  idempotency_key: string | null;
}

/** Rows, event histories and poll schedules of the tenant, read directly from the database. */
async function storedState(store: Store, tenant: string) {
  return store.read(async (query) => {
    const rows = await query<StoredCheckout>(
      'select id, status, notes, provider_checkout_id, idempotency_key from checkouts where tenant = $1 order by seq',
      [tenant],
    );
    const events = await query<EventRow & { checkout_id: string }>(
      'select e.checkout_id, e.id, e.status, e.at from checkout_events e join checkouts c on c.id = e.checkout_id where c.tenant = $1 order by e.id',
      [tenant],
    );
    const schedules = await query<{ checkout_id: string; lease_owner: string | null; lease_expires_at: Date | null }>(
      'select s.checkout_id, s.lease_owner, s.lease_expires_at from poll_schedules s join checkouts c on c.id = s.checkout_id where c.tenant = $1',
      [tenant],
    );
    const historyOf = new Map<string, EventRow[]>();
    for (const event of events) historyOf.set(event.checkout_id, [...(historyOf.get(event.checkout_id) ?? []), event]);
    return { rows, historyOf, schedules };
  });
}

/** A graphql-transport-ws socket subscribed to one checkout: its first event, and its close code. */
async function watch(server: ServerProcess, apiKey: string, id: string) {
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  let firstEvent!: () => void;
  const first = new Promise<void>((resolve) => (firstEvent = resolve));
  const statuses: string[] = [];
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as {
      type: string;
      payload?: { data?: { checkoutStatusChanged?: { status: string } } };
    };
    if (message.type === 'connection_ack') {
      socket.send(
        JSON.stringify({
          id: '1',
          type: 'subscribe',
          payload: { query: print(CheckoutStatusChangedDocument), variables: { id } },
        }),
      );
    }
    if (message.type === 'next') {
      statuses.push(message.payload?.data?.checkoutStatusChanged?.status ?? '?');
      firstEvent();
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiKey}` } }));
  return { first, closed, statuses, socket };
}

/**
 * A GraphQL POST through a node:http agent, so a test controls connection reuse (keep-alive with
 * one socket: a second request waits for the first and then goes over the same connection).
 */
function postOver<TResult, TVariables>(
  agent: Agent,
  server: ServerProcess,
  apiKey: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<GraphQLResult<TResult> & { connection: string | undefined }> {
  const { hostname, port } = new URL(server.url);
  const body = JSON.stringify({ query: print(document), variables });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: hostname,
        port: Number(port),
        method: 'POST',
        path: '/graphql',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${apiKey}`,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Omit<GraphQLResult<TResult>, 'status'> = {};
          try {
            parsed = JSON.parse(text) as typeof parsed;
          } catch {
            // Not GraphQL (a 503 page, say): status alone tells.
          }
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, ...parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Kills `server` (SIGKILL) when the test finishes, however it ends, and waits for it to exit. */
function killedOnFinish(server: ServerProcess): ServerProcess {
  onTestFinished(async () => {
    server.kill('SIGKILL');
    await server.exit;
  });
  return server;
}

/** Whether a brand-new TCP connection to the server's port is refused. */
function connectionRefused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

for (const [storeIndex, { name, open }] of STORES.entries()) {
  describe(`crash and shutdown on ${name}`, () => {
    it('SIGKILL while 50 checkouts are PROCESSING: after a restart all complete, no duplicate POST, no lost row', {
      timeout: 60_000,
    }, async () => {
      const store = await open();
      onTestFinished(() => store.drop());
      const tenant = newTenant('crash');
      await clearFaults(sandbox.url);
      const before = await createCounters();
      const pollsBefore = countersOf(await faultState(sandbox.url), 'status').processed;
      // The first process polls each checkout once a second, so sandbox_after_polls=5 keeps every
      // checkout PROCESSING for at least 5 s after its creation: long enough to create all 50 first.
      const first = killedOnFinish(
        await startServerProcess(
          'crash-1',
          crashServerEnv(store, tenant, { POLL_INTERVAL_MS: '1000', POLL_MAX_INTERVAL_MS: '1000' }),
        ),
      );

      const keys = Array.from({ length: 50 }, () => `crash-${randomUUID()}`);
      const created: string[] = [];
      for (let batch = 0; batch < 50; batch += 10) {
        const results = await Promise.all(
          keys
            .slice(batch, batch + 10)
            .map((key, i) =>
              gql(first, tenant.key, CreateSmartCheckoutDocument, createInput(key, batch + i, 'sandbox_after_polls=5')),
            ),
        );
        for (const result of results) {
          expect(result.errors).toBeUndefined();
          const { checkout } = expectType(result.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess');
          expect(checkout.status).toBe('PROCESSING');
          created.push(checkout.id);
        }
      }
      tally.checkouts += 50;
      // Polls have begun (leases are taken) and every checkout is still PROCESSING when the process dies.
      await waitFor(async () => countersOf(await faultState(sandbox.url), 'status').processed > pollsBefore, {
        what: 'the first polls',
      });
      expect(await listed(first, tenant.key, ['PROCESSING'])).toHaveLength(50);
      first.kill('SIGKILL');
      expect((await first.exit).signal).toBe('SIGKILL');

      const second = killedOnFinish(await startServerProcess('crash-2', crashServerEnv(store, tenant)));
      await waitFor(async () => (await listed(second, tenant.key)).every((node) => TERMINAL.has(node.status)), {
        timeoutMs: 40_000,
        intervalMs: 200,
        what: '50 checkouts terminal after the restart',
      });
      const nodes = await listed(second, tenant.key);
      expect(nodes).toHaveLength(50);
      expect(new Set(nodes.map((node) => node.id))).toEqual(new Set(created));
      expect(nodes.every((node) => node.status === 'COMPLETED')).toBe(true);

      const after = await createCounters();
      const processedPosts = after.processed - before.processed;
      tally.processedPosts += processedPosts;
      tally.duplicates += Math.max(0, processedPosts - 50);
      expect(after.received - before.received).toBe(50);
      expect(processedPosts).toBe(50);

      expect((await stopServerProcess(second))?.code).toBe(0);
      const { rows, historyOf, schedules } = await storedState(store, tenant.name);
      tally.rowsLost += Math.max(0, 50 - rows.length);
      expect(rows).toHaveLength(50);
      expect(new Set(rows.map((row) => row.idempotency_key))).toEqual(new Set(keys));
      // Each provider checkout is recorded once: no second purchase hides behind another row.
      expect(new Set(rows.map((row) => row.provider_checkout_id)).size).toBe(50);
      for (const row of rows) {
        const history = historyOf.get(row.id) ?? [];
        expect(eventHistoryProblems(history, row.status), row.id).toEqual([]);
        expect(history.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
      }
      // Terminal checkouts are not polled any more.
      expect(schedules).toEqual([]);
    });

    it('SIGKILL while create calls are in flight: PENDING, then UNKNOWN after the grace period; never POSTed again', {
      timeout: 40_000,
    }, async () => {
      const store = await open();
      onTestFinished(() => store.drop());
      onTestFinished(() => clearFaults(sandbox.url));
      const tenant = newTenant('crash');
      const IN_FLIGHT = 5;
      await clearFaults(sandbox.url);
      const first = killedOnFinish(await startServerProcess('inflight-1', crashServerEnv(store, tenant)));
      const before = await createCounters();
      // The provider acts at once but answers after 10 s: the process dies in between.
      await injectFault(sandbox.url, { operation: 'create', fault: 'latency', latencyMs: 10_000, count: IN_FLIGHT });
      const keys = Array.from({ length: IN_FLIGHT }, () => `inflight-${randomUUID()}`);
      const calls = keys.map((key, n) =>
        gql(first, tenant.key, CreateSmartCheckoutDocument, createInput(key, n, 'sandbox_after_polls=1')).then(
          () => 'answered',
          () => 'no answer',
        ),
      );
      tally.checkouts += IN_FLIGHT;
      await waitFor(async () => (await createCounters()).processed - before.processed === IN_FLIGHT, {
        what: 'the provider acting on every create',
      });
      first.kill('SIGKILL');
      await first.exit;
      expect(await Promise.all(calls)).toEqual(keys.map(() => 'no answer'));
      await clearFaults(sandbox.url);

      // Between the processes: every row was written before its POST, and is still PENDING.
      const crashed = await storedState(store, tenant.name);
      expect(crashed.rows.map((row) => row.status)).toEqual(keys.map(() => 'PENDING'));
      expect(new Set(crashed.rows.map((row) => row.idempotency_key))).toEqual(new Set(keys));
      expect(crashed.rows.every((row) => row.provider_checkout_id === null)).toBe(true);

      const second = killedOnFinish(
        await startServerProcess('inflight-2', crashServerEnv(store, tenant, { PENDING_GRACE_MS: '1000' })),
      );
      await waitFor(async () => (await listed(second, tenant.key, ['UNKNOWN'])).length === IN_FLIGHT, {
        timeoutMs: 15_000,
        intervalMs: 100,
        what: 'the in-flight checkouts UNKNOWN after the grace period',
      });

      // A retry with the same key replays the checkout as it stands: no new POST.
      for (const [n, key] of keys.entries()) {
        const replay = await gql(
          second,
          tenant.key,
          CreateSmartCheckoutDocument,
          createInput(key, n, 'sandbox_after_polls=1'),
        );
        expect(replay.errors).toBeUndefined();
        expect(expectType(replay.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout.status).toBe(
          'UNKNOWN',
        );
      }
      const after = await createCounters();
      const processedPosts = after.processed - before.processed;
      tally.processedPosts += processedPosts;
      tally.duplicates += Math.max(0, processedPosts - IN_FLIGHT);
      expect(after.received - before.received).toBe(IN_FLIGHT);
      expect(processedPosts).toBe(IN_FLIGHT);

      expect((await stopServerProcess(second))?.code).toBe(0);
      const { rows, historyOf } = await storedState(store, tenant.name);
      tally.rowsLost += Math.max(0, IN_FLIGHT - rows.length);
      expect(rows).toHaveLength(IN_FLIGHT);
      for (const row of rows) {
        expect(row.status).toBe('UNKNOWN');
        expect(row.notes).toMatch(/never recorded/);
        const history = historyOf.get(row.id) ?? [];
        expect(eventHistoryProblems(history, 'UNKNOWN')).toEqual([]);
        expect(history.map((event) => event.status)).toEqual(['PENDING', 'UNKNOWN']);
      }
    });

    it('SIGTERM: the in-flight mutation answers, new connections are refused, WebSockets close 1001, exit 0 within 10 s, leases released', {
      timeout: 40_000,
    }, async () => {
      const store = await open();
      onTestFinished(() => store.drop());
      onTestFinished(() => clearFaults(sandbox.url));
      const tenant = newTenant('crash');
      await clearFaults(sandbox.url);
      // A status poll hangs at the provider far longer than the shutdown may take.
      const server = killedOnFinish(
        await startServerProcess('sigterm', crashServerEnv(store, tenant, { PROVIDER_TIMEOUT_MS: '20000' })),
      );
      const before = await faultState(sandbox.url);
      const createsAtStart = countersOf(before, 'create');
      await injectFault(sandbox.url, { operation: 'status', fault: 'hang', count: 1000 });
      const polled = await gql(
        server,
        tenant.key,
        CreateSmartCheckoutDocument,
        createInput(`sigterm-${randomUUID()}`, 0, 'sandbox_after_polls=1000'),
      );
      const { checkout } = expectType(polled.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess');
      await waitFor(
        async () =>
          countersOf(await faultState(sandbox.url), 'status').received > countersOf(before, 'status').received,
        {
          what: 'a status poll hanging at the provider',
        },
      );

      const subscriber = await watch(server, tenant.key, checkout.id);
      await subscriber.first;
      expect(subscriber.statuses).toEqual(['PROCESSING']);

      // A create the provider answers 1.5 s later is in flight when SIGTERM arrives.
      await injectFault(sandbox.url, { operation: 'create', fault: 'latency', latencyMs: 1500 });
      const createsBefore = await createCounters();
      let answered = false;
      const inFlight = gql(
        server,
        tenant.key,
        CreateSmartCheckoutDocument,
        createInput(`sigterm-${randomUUID()}`, 1, 'sandbox_after_polls=1000'),
      ).finally(() => (answered = true));
      await waitFor(async () => (await createCounters()).received > createsBefore.received, {
        what: 'the create POST at the provider',
      });

      const signalledAt = performance.now();
      server.kill('SIGTERM');
      await waitFor(() => server.logs.some((line) => line.msg === 'stopping'), { what: "the 'stopping' log line" });
      // Refused while the in-flight mutation is still being served: no new work, old work goes on.
      await waitFor(() => connectionRefused(server.url), { timeoutMs: 1_000, what: 'new connections refused' });
      expect(answered).toBe(false);

      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.errors).toBeUndefined();
      expect(expectType(answer.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout.status).toBe(
        'PROCESSING',
      );
      tally.checkouts += 2;

      expect(await subscriber.closed).toBe(1001);
      const exit = await server.exit;
      const tookMs = performance.now() - signalledAt;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(10_000);

      const creates = (await createCounters()).processed - createsAtStart.processed;
      tally.processedPosts += creates;
      tally.duplicates += Math.max(0, creates - 2);
      expect(creates).toBe(2);
      const { rows, historyOf, schedules } = await storedState(store, tenant.name);
      tally.rowsLost += Math.max(0, 2 - rows.length);
      expect(rows.map((row) => row.status)).toEqual(['PROCESSING', 'PROCESSING']);
      for (const row of rows) expect(eventHistoryProblems(historyOf.get(row.id) ?? [], row.status)).toEqual([]);
      // Every schedule is still there (both checkouts are PROCESSING) and no lease is held.
      expect(schedules).toHaveLength(2);
      expect(schedules.every((schedule) => schedule.lease_owner === null && schedule.lease_expires_at === null)).toBe(
        true,
      );
    });

    // HTTP behaviour, the same whatever the database: run once.
    it.runIf(storeIndex === 0)(
      'SIGTERM: a request arriving after the stop began on a connection kept alive from before starts no new work',
      { timeout: 30_000 },
      async () => {
        const store = await open();
        onTestFinished(() => store.drop());
        onTestFinished(() => clearFaults(sandbox.url));
        const tenant = newTenant('crash');
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        onTestFinished(() => agent.destroy());
        await clearFaults(sandbox.url);
        const server = killedOnFinish(
          await startServerProcess(
            'sigterm-keepalive',
            crashServerEnv(store, tenant, { POLLER: 'off', PROVIDER_TIMEOUT_MS: '5000' }),
          ),
        );
        const before = await createCounters();
        await injectFault(sandbox.url, { operation: 'create', fault: 'latency', latencyMs: 1500 });
        // B is in flight on the agent's one socket when SIGTERM arrives, so that socket is busy
        // (not idle) when the stop begins and survives it.
        const inFlight = postOver(
          agent,
          server,
          tenant.key,
          CreateSmartCheckoutDocument,
          createInput(`keepalive-${randomUUID()}`, 0, 'sandbox_after_polls=1000'),
        );
        await waitFor(async () => (await createCounters()).received > before.received, {
          what: 'the create POST at the provider',
        });
        server.kill('SIGTERM');
        await waitFor(() => server.logs.some((line) => line.msg === 'stopping'), {
          what: "the 'stopping' log line",
        });
        // C is sent after the stop began; the agent hands it B's socket as soon as B is answered.
        const late = postOver(
          agent,
          server,
          tenant.key,
          CreateSmartCheckoutDocument,
          createInput(`keepalive-${randomUUID()}`, 1, 'sandbox_after_polls=1000'),
        ).then(
          (result) => ({
            served:
              result.status === 200 && result.data?.createSmartCheckout?.__typename === 'CreateSmartCheckoutSuccess',
            result,
          }),
          (error: NodeJS.ErrnoException) => ({ served: false, result: error.code }),
        );

        const answer = await inFlight;
        expect(answer.status).toBe(200);
        expect(expectType(answer.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout.status).toBe(
          'PROCESSING',
        );
        const lateOutcome = await late;
        expect((await server.exit).code).toBe(0);
        tally.checkouts += 1;

        // Only B reached the provider and the database: C was refused (closed connection or 503).
        const creates = await createCounters();
        tally.processedPosts += creates.processed - before.processed;
        expect(creates.received - before.received, `late request: ${JSON.stringify(lateOutcome.result)}`).toBe(1);
        expect(lateOutcome.served).toBe(false);
        const { rows } = await storedState(store, tenant.name);
        expect(rows).toHaveLength(1);
      },
    );
  });
}
