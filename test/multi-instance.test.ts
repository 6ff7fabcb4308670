import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { RunningSandbox } from '../src/providers/sandbox-http.js';
import { startSmartcheckoutSandbox } from '../src/providers/smartcheckout/sandbox.js';
import {
  CheckoutStatusChangedDocument,
  CreateSmartCheckoutDocument,
  type CheckoutStatusChangedSubscription,
} from './generated/graphql.js';
import { expectType, isolatedDatabase } from './support/app.js';
import { pause, waitFor } from './support/async.js';
import { newTenant } from './support/env.js';
import {
  gql,
  killAllServerProcesses,
  startServerProcess,
  stopServerProcess,
  type ServerProcess,
} from './support/process.js';
import { recordSubscription, wsClient } from './support/subscriptions.js';

/*
 * Several real server processes (`node --import tsx src/main.ts`) sharing PostgreSQL and Redis.
 * The Smartcheckout provider is a sandbox in this test process, behind a proxy with one port per
 * server process: it counts every GET, can hold GETs (a gate) or slow them down, and it outlives
 * the servers, so a restarted server finds the provider's checkouts where the killed one left them.
 *
 * The servers run against a scratch database created for this file on the DATABASE_URL server:
 * pollers claim due schedules of every tenant, so pollers of other test files sharing the test
 * database would claim these checkouts (and ask their own sandboxes about them), and these pollers
 * would claim theirs.
 */

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const ENABLED = Boolean(DATABASE_URL && REDIS_URL);
if (!ENABLED) {
  console.log(
    'multi-instance tests skipped: they run two server processes sharing PostgreSQL and Redis; set both DATABASE_URL and REDIS_URL (as .ci/run does) to run them.',
  );
}

const PROVIDER_KEY = `sc-key-${randomUUID()}`;
const POLL_ENV = { POLL_INTERVAL_MS: '200', POLL_MAX_INTERVAL_MS: '400' };
const PROCESSING_TIMEOUT = 60_000;

type Status = CheckoutStatusChangedSubscription['checkoutStatusChanged']['status'];

/** One request the proxy forwarded to the sandbox. */
interface ProviderCall {
  /** Which proxy port (which server process) sent it. */
  port: string;
  method: string;
  /** Smartcheckout checkout id of a GET. */
  providerId?: string;
  arrivedAt: number;
  answeredAt?: number;
  /** `status` of the sandbox's answer to a GET. */
  providerStatus?: string;
}

/**
 * The provider as the servers see it: one listening port per label, all forwarding to one
 * Smartcheckout sandbox. GETs can be held (until released) or delayed; POSTs always pass at once.
 */
class ProviderFront {
  readonly calls: ProviderCall[] = [];
  private readonly servers: Server[] = [];
  private readonly gates = new Map<string, { opened: Promise<void>; open: () => void }>();
  private readonly delays = new Map<string, number>();

  constructor(private readonly target: string) {}

  async listen(port: string): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = req.url ?? '/';
        const call: ProviderCall = { port, method: req.method ?? '', arrivedAt: Date.now() };
        const match = /^\/v0\/checkout\/([^/?]+)$/.exec(path);
        if (req.method === 'GET' && match) call.providerId = decodeURIComponent(match[1]!);
        this.calls.push(call);
        const gate = req.method === 'GET' ? this.gates.get(port)?.opened : undefined;
        const delayMs = req.method === 'GET' ? (this.delays.get(port) ?? 0) : 0;
        void (async () => {
          await gate;
          if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
          // Forwarded even when the caller has gone (a killed server): the provider got the request.
          const answer = await fetch(`${this.target}${path}`, {
            method: req.method,
            headers: {
              ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
              ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}),
            },
            body: chunks.length ? Buffer.concat(chunks) : undefined,
          });
          const text = await answer.text();
          call.answeredAt = Date.now();
          if (call.providerId) call.providerStatus = (JSON.parse(text) as { status?: string }).status;
          if (!res.destroyed) {
            res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
            res.end(text);
          }
        })().catch(() => res.destroy());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** GETs arriving on `port` from now on wait until `release(port)`. */
  hold(port: string): void {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.gates.set(port, { opened, open });
  }

  release(port: string): void {
    this.gates.get(port)?.open();
    this.gates.delete(port);
  }

  delay(port: string, ms: number): void {
    this.delays.set(port, ms);
  }

  gets(filter: { providerId?: string; port?: string } = {}): ProviderCall[] {
    return this.calls.filter(
      (call) =>
        call.providerId !== undefined &&
        (filter.providerId === undefined || call.providerId === filter.providerId) &&
        (filter.port === undefined || call.port === filter.port),
    );
  }

  inFlight(port?: string): ProviderCall[] {
    return this.gets({ port }).filter((call) => call.answeredAt === undefined);
  }

  async close(): Promise<void> {
    for (const gate of this.gates.values()) gate.open();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }
}

interface Created {
  /** Global GraphQL id. */
  id: string;
  providerId: string;
}

async function createCheckout(server: ServerProcess, apiKey: string, afterPolls: number, n: number): Promise<Created> {
  const result = await gql(server, apiKey, CreateSmartCheckoutDocument, {
    input: {
      productUrl: `https://shop.example/item-${n}?sandbox_after_polls=${afterPolls}&sandbox_amount=12.50`,
      email: 'ada@example.com',
    },
  });
  expect(result.errors).toBeUndefined();
  const { checkout } = expectType(result.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess');
  expect(checkout.status).toBe('PROCESSING');
  expect(checkout.providerCheckoutId).toBeTruthy();
  return { id: checkout.id, providerId: checkout.providerCheckoutId! };
}

/** A graphql-ws subscription's statuses and how it ended; disposed when the test finishes. */
function subscribe(server: ServerProcess, apiKey: string, id: string) {
  const client = wsClient(server.url, apiKey);
  const recording = recordSubscription(client, CheckoutStatusChangedDocument, { id });
  onTestFinished(() => {
    recording.dispose();
    void client.dispose();
  });
  return {
    recording,
    statuses: () => recording.events.map((event) => event.checkoutStatusChanged.status as Status),
    closeCode: () => recording.errors?.[0]?.extensions?.closeCode,
  };
}

/**
 * An SSE subscription read as a stream, so a test can wait for its first event before acting;
 * aborted when the test finishes.
 */
function subscribeSse(server: ServerProcess, apiKey: string, id: string) {
  const events: Status[] = [];
  let completed = false;
  const controller = new AbortController();
  const done = (async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: print(CheckoutStatusChangedDocument), variables: { id } }),
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (\w+)/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'next' && data) {
          events.push(
            (JSON.parse(data) as { data: CheckoutStatusChangedSubscription }).data.checkoutStatusChanged.status,
          );
        }
        if (event === 'complete') completed = true;
      }
    }
  })();
  onTestFinished(() => controller.abort());
  return { events, done, isCompleted: () => completed };
}

/** Logs of `server` with this message. */
function logsOf(server: ServerProcess, msg: string) {
  return server.logs.filter((line) => line.msg === msg);
}

describe.runIf(ENABLED)('several server processes sharing PostgreSQL and Redis', () => {
  let sandbox: RunningSandbox;
  let front: ProviderFront;
  let sql: pg.Pool;
  let databaseUrl: string;
  let dropDatabase: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    sandbox = await startSmartcheckoutSandbox({ apiKey: PROVIDER_KEY });
    front = new ProviderFront(sandbox.url);
    // A database of its own on the same server (see the note at the top).
    const database = await isolatedDatabase('multi_instance');
    databaseUrl = database.url!;
    dropDatabase = database.drop;
    sql = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    sql.on('error', () => undefined); // idle connections are cut when the database is dropped
  });

  afterAll(async () => {
    await killAllServerProcesses();
    await sql?.end();
    await front?.close();
    await sandbox?.close();
    await dropDatabase?.();
  });

  /** Environment of a server process for `tenant`, talking to the provider through proxy port `providerUrl`. */
  function instanceEnv(
    tenant: { name: string; key: string },
    providerUrl: string,
    extra: Record<string, string>,
  ): Record<string, string> {
    return {
      DATABASE_URL: databaseUrl,
      REDIS_URL: REDIS_URL!,
      API_KEYS: `${tenant.name}:${tenant.key}`,
      SMARTCHECKOUT_BASE_URL: providerUrl,
      SMARTCHECKOUT_API_KEY: PROVIDER_KEY,
      ...POLL_ENV,
      ...extra,
    };
  }

  async function statusesOf(tenant: string): Promise<Map<string, string>> {
    const { rows } = await sql.query<{ provider_checkout_id: string; status: string }>(
      'select provider_checkout_id, status from checkouts where tenant = $1',
      [tenant],
    );
    return new Map(rows.map((row) => [row.provider_checkout_id, row.status]));
  }

  /** Poll schedules of the tenant's checkouts, by provider checkout id. */
  async function schedulesOf(tenant: string) {
    const { rows } = await sql.query<{
      provider_checkout_id: string;
      lease_owner: string | null;
      lease_expires_at: Date | null;
      live: boolean;
    }>(
      `select c.provider_checkout_id, s.lease_owner, s.lease_expires_at, coalesce(s.lease_expires_at > now(), false) as live
         from poll_schedules s join checkouts c on c.id = s.checkout_id
        where c.tenant = $1`,
      [tenant],
    );
    return rows;
  }

  /** Lease owners are `<host>:<pid>:<random>`. */
  const ownedBy = (server: ServerProcess) => (owner: string | null) => owner?.split(':').at(-2) === String(server.pid);

  it(
    'two polling processes poll each checkout exactly once per due time, and never after its terminal status',
    async () => {
      const tenant = newTenant('multi');
      const [urlA, urlB] = await Promise.all([front.listen('t1-a'), front.listen('t1-b')]);
      const servers = await Promise.all([
        startServerProcess('A', instanceEnv(tenant, urlA, { POLLER: 'on' })),
        startServerProcess('B', instanceEnv(tenant, urlB, { POLLER: 'on' })),
      ]);
      onTestFinished(async () => {
        await Promise.all(servers.map((server) => stopServerProcess(server)));
      });
      const [a, b] = servers;

      const created: Created[] = [];
      for (let n = 0; n < 20; n++) created.push(await createCheckout(n % 2 === 0 ? a : b, tenant.key, 3, n));

      await waitFor(
        async () => [...(await statusesOf(tenant.name)).values()].every((status) => status === 'COMPLETED'),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: '20 checkouts COMPLETED',
        },
      );
      expect((await statusesOf(tenant.name)).size).toBe(20);
      // The terminal poll removed each schedule in the transaction that completed the checkout.
      expect(await schedulesOf(tenant.name)).toEqual([]);
      // Long enough for any stray poll of a finished checkout to reach the provider (max interval 400 ms).
      await waitFor(() => front.inFlight().length === 0, { what: 'no GET in flight' });
      await pause(600);

      for (const { providerId } of created) {
        const gets = front.gets({ providerId }).sort((x, y) => x.arrivedAt - y.arrivedAt);
        // sandbox_after_polls=3: processing, processing, completed, and nothing after it.
        expect(
          gets.map((call) => call.providerStatus),
          providerId,
        ).toEqual(['processing', 'processing', 'completed']);
        for (let i = 1; i < gets.length; i++) {
          // Two instances claiming one due time would send two GETs within a few ms.
          expect(
            gets[i]!.arrivedAt - gets[i - 1]!.arrivedAt,
            `gap between GETs of ${providerId}`,
          ).toBeGreaterThanOrEqual(100);
        }
      }
      expect(front.gets({ port: 't1-a' }).length + front.gets({ port: 't1-b' }).length).toBe(60);

      // Exactly one 'status changed' per checkout over both processes, and each process did some.
      const changes = [...logsOf(a, 'status changed'), ...logsOf(b, 'status changed')];
      expect(changes).toHaveLength(20);
      expect(new Set(changes.map((line) => line.checkoutId)).size).toBe(20);
      expect(changes.every((line) => line.from === 'PROCESSING' && line.to === 'COMPLETED')).toBe(true);
      const instancesOfA = new Set(logsOf(a, 'status changed').map((line) => line.instanceId));
      const instancesOfB = new Set(logsOf(b, 'status changed').map((line) => line.instanceId));
      expect(instancesOfA.size, "A's 'status changed' lines").toBe(1);
      expect(instancesOfB.size, "B's 'status changed' lines").toBe(1);
      expect([...instancesOfA][0]).not.toBe([...instancesOfB][0]);
      // The proxy can tell the processes apart too: each has its own port.
      expect(front.gets({ port: 't1-a' }).length).toBeGreaterThan(0);
      expect(front.gets({ port: 't1-b' }).length).toBeGreaterThan(0);
    },
    PROCESSING_TIMEOUT,
  );

  it(
    'an API-only process delivers over graphql-ws and SSE a change another process polled (through Redis)',
    async () => {
      const tenant = newTenant('multi');
      const [urlA, urlB] = await Promise.all([front.listen('t2-a'), front.listen('t2-b')]);
      const servers = await Promise.all([
        startServerProcess('A', instanceEnv(tenant, urlA, { POLLER: 'on', PROVIDER_TIMEOUT_MS: '5000' })),
        startServerProcess('B', instanceEnv(tenant, urlB, { POLLER: 'off' })),
      ]);
      onTestFinished(async () => {
        await Promise.all(servers.map((server) => stopServerProcess(server)));
      });
      const [a, b] = servers;
      // A's GETs wait until B's subscribers are in place, so they see PROCESSING first whatever the timing.
      front.hold('t2-a');
      onTestFinished(() => front.release('t2-a'));
      const checkout = await createCheckout(b, tenant.key, 2, 0);
      await waitFor(() => front.inFlight('t2-a').length > 0, { what: "A's first GET" });

      const ws = [subscribe(b, tenant.key, checkout.id)];
      const sse = subscribeSse(b, tenant.key, checkout.id);
      await waitFor(() => ws[0]!.recording.events.length > 0 && sse.events.length > 0, {
        what: 'first events on B',
      });
      front.release('t2-a');

      await Promise.race([
        Promise.all([ws[0]!.recording.done, sse.done]),
        new Promise((_, reject) => setTimeout(() => reject(new Error('subscriptions on B did not complete')), 15_000)),
      ]);
      expect(ws[0]!.recording.errors).toBeUndefined();
      expect(ws[0]!.statuses()).toEqual(['PROCESSING', 'COMPLETED']);
      expect(ws[0]!.recording.completed).toBe(true);
      expect(sse.events).toEqual(['PROCESSING', 'COMPLETED']);
      expect(sse.isCompleted()).toBe(true);

      // Only A polled: the change reached B's subscribers through Redis.
      expect(front.gets({ port: 't2-b' })).toEqual([]);
      expect(front.gets({ port: 't2-a', providerId: checkout.providerId }).map((call) => call.providerStatus)).toEqual([
        'processing',
        'completed',
      ]);
      expect(logsOf(b, 'status changed')).toEqual([]);
      expect(logsOf(a, 'status changed')).toHaveLength(1);
    },
    PROCESSING_TIMEOUT,
  );

  it(
    'SIGKILL mid-poll then restart: every checkout reaches COMPLETED, lapsed leases are taken over, resubscribers get current then terminal',
    async () => {
      const tenant = newTenant('multi');
      const urlBefore = await front.listen('t3-before');
      const urlAfter = await front.listen('t3-after');
      front.delay('t3-before', 300);
      front.delay('t3-after', 300);
      // PROVIDER_TIMEOUT_MS=1000: a lease lasts 6 s.
      const env = (url: string) => instanceEnv(tenant, url, { POLLER: 'on', PROVIDER_TIMEOUT_MS: '1000' });
      const first = await startServerProcess('A', env(urlBefore));
      onTestFinished(() => first.kill('SIGKILL'));

      // Held GETs: no poll can finish before the kill, so it happens mid-poll for certain.
      front.hold('t3-before');
      onTestFinished(() => front.release('t3-before'));
      const created: Created[] = [];
      for (let n = 0; n < 10; n++) created.push(await createCheckout(first, tenant.key, 2, n));
      const watched = subscribe(first, tenant.key, created[0]!.id);
      await waitFor(() => watched.recording.events.length > 0, { what: 'first event before the kill' });
      await waitFor(() => front.inFlight('t3-before').length > 0, { what: 'a GET in flight' });

      first.kill('SIGKILL');
      expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' });
      const inFlightAtKill = new Set(front.inFlight('t3-before').map((call) => call.providerId));
      expect(inFlightAtKill.size).toBeGreaterThan(0);
      await watched.recording.done;
      expect(watched.recording.completed).toBe(false);
      expect(watched.statuses()).toEqual(['PROCESSING']);

      const statuses = await statusesOf(tenant.name);
      expect(statuses.size).toBe(10);
      expect([...statuses.values()].every((status) => status === 'PROCESSING')).toBe(true);
      // The killed process still holds leases on the checkouts it was polling.
      const deadLeases = (await schedulesOf(tenant.name)).filter((row) => ownedBy(first)(row.lease_owner));
      const deadLeaseIds = new Set(deadLeases.map((row) => row.provider_checkout_id));
      // Every GET in flight had its lease; a claimed poll whose GET had not reached the provider has one too.
      for (const providerId of inFlightAtKill) expect(deadLeaseIds.has(providerId!), providerId).toBe(true);
      expect(deadLeases.every((row) => row.live)).toBe(true);
      const leaseExpiry = new Map(deadLeases.map((row) => [row.provider_checkout_id, row.lease_expires_at!.getTime()]));

      // Restart with GETs held again, so resubscribers see the current state before anything changes.
      front.hold('t3-after');
      front.release('t3-before');
      const second = await startServerProcess('A (restarted)', env(urlAfter));
      onTestFinished(async () => {
        await stopServerProcess(second);
      });
      // Registered after the stop, so it runs before it: held GETs would keep the stop waiting.
      onTestFinished(() => front.release('t3-after'));
      const again = created.map((checkout) => subscribe(second, tenant.key, checkout.id));
      await waitFor(() => again.every((subscription) => subscription.recording.events.length > 0), {
        what: 'current states after restart',
      });
      expect(again.map((subscription) => subscription.statuses()[0])).toEqual(created.map(() => 'PROCESSING'));
      front.release('t3-after');

      await waitFor(
        async () => [...(await statusesOf(tenant.name)).values()].every((status) => status === 'COMPLETED'),
        {
          timeoutMs: 20_000,
          intervalMs: 100,
          what: '10 checkouts COMPLETED after the restart',
        },
      );
      await Promise.race([
        Promise.all(again.map((subscription) => subscription.recording.done)),
        new Promise((_, reject) => setTimeout(() => reject(new Error('resubscriptions did not complete')), 10_000)),
      ]);
      for (const subscription of again) {
        expect(subscription.recording.errors).toBeUndefined();
        expect(subscription.statuses()).toEqual(['PROCESSING', 'COMPLETED']);
        expect(subscription.recording.completed).toBe(true);
      }
      expect(await schedulesOf(tenant.name)).toEqual([]);
      for (const { providerId } of created) {
        const after = front.gets({ providerId, port: 't3-after' });
        // Each checkout finished with a GET of the restarted process (the killed one never got an answer).
        expect(after.at(-1)?.providerStatus, providerId).toBe('completed');
        const expiry = leaseExpiry.get(providerId);
        // A checkout the killed process held was left alone until its lease lapsed, then taken over.
        if (expiry !== undefined)
          expect(after[0]!.arrivedAt, `first GET of ${providerId} after the restart`).toBeGreaterThanOrEqual(
            expiry - 50,
          );
      }
    },
    PROCESSING_TIMEOUT,
  );

  it(
    'SIGTERM: exits 0 within 10 s, closes its WebSockets with 1001, releases its leases, and the other process takes over',
    async () => {
      const tenant = newTenant('multi');
      const subscriptions: ReturnType<typeof subscribe>[] = [];
      const [urlA, urlB] = await Promise.all([front.listen('t4-a'), front.listen('t4-b')]);
      // A 25 s lease: B could not take over within this test if A did not give its leases back.
      const a = await startServerProcess(
        'A',
        instanceEnv(tenant, urlA, { POLLER: 'on', PROVIDER_TIMEOUT_MS: '20000' }),
      );
      onTestFinished(() => a.kill('SIGKILL'));
      front.hold('t4-a');
      onTestFinished(() => front.release('t4-a'));
      const created: Created[] = [];
      for (let n = 0; n < 6; n++) created.push(await createCheckout(a, tenant.key, 2, n));
      await waitFor(() => front.inFlight('t4-a').length > 0, { what: "A's GETs in flight" });
      const b = await startServerProcess('B', instanceEnv(tenant, urlB, { POLLER: 'on' }));
      onTestFinished(async () => {
        await stopServerProcess(b);
      });

      const heldByA = (await schedulesOf(tenant.name)).filter((row) => ownedBy(a)(row.lease_owner));
      expect(heldByA.length).toBeGreaterThan(0);
      const heldIds = new Set(heldByA.map((row) => row.provider_checkout_id));
      const watchedIds = created.filter((checkout) => heldIds.has(checkout.providerId));
      // Two clients per held checkout, connected to A.
      for (const checkout of watchedIds) {
        subscriptions.push(subscribe(a, tenant.key, checkout.id), subscribe(a, tenant.key, checkout.id));
      }
      await waitFor(() => subscriptions.every((subscription) => subscription.recording.events.length > 0), {
        what: 'subscriptions on A',
      });
      expect(subscriptions.every((subscription) => subscription.statuses()[0] === 'PROCESSING')).toBe(true);

      const sentAt = Date.now();
      a.kill('SIGTERM');
      await waitFor(() => subscriptions.every((subscription) => subscription.recording.errors !== undefined), {
        timeoutMs: 10_000,
        what: 'WebSocket clients closed',
      });
      expect(subscriptions.map((subscription) => subscription.closeCode())).toEqual(subscriptions.map(() => 1001));
      expect(subscriptions.some((subscription) => subscription.recording.completed)).toBe(false);
      // The provider answers the GETs A had in flight; A lets them finish, then exits.
      front.release('t4-a');
      const exit = await Promise.race([
        a.exit,
        new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), Math.max(0, 10_000 - (Date.now() - sentAt))),
        ),
      ]);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(logsOf(a, 'checkout graph stopped')).toHaveLength(1);

      const after = await schedulesOf(tenant.name);
      expect(after.filter((row) => ownedBy(a)(row.lease_owner))).toEqual([]);

      await waitFor(
        async () => [...(await statusesOf(tenant.name)).values()].every((status) => status === 'COMPLETED'),
        {
          timeoutMs: 10_000,
          intervalMs: 100,
          what: 'B completing the checkouts A held',
        },
      );
      for (const providerId of heldIds) {
        expect(front.gets({ providerId, port: 't4-b' }).at(-1)?.providerStatus, providerId).toBe('completed');
      }
    },
    PROCESSING_TIMEOUT,
  );
});
