import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckoutStatusChangedDocument,
  CreateSmartCheckoutDocument,
  type CheckoutStatusChangedSubscription,
  type CreateSmartCheckoutMutation,
} from './generated/graphql.js';
import { publicCheckoutId } from '../src/domain/public-id.js';
import { expectType, isolatedDatabase } from './support/app.js';
import { startGatedSmartcheckout } from './support/gated-smartcheckout.js';
import { metricSample } from './support/metrics.js';
import { waitFor } from './support/async.js';
import { freePort } from './support/net.js';
import { killAllServerProcesses, startServerProcess, type ServerProcess } from './support/process.js';
import { recordSse, recordSubscription, wsClient } from './support/subscriptions.js';

/*
 * The scale-out topology on real parts: two API processes sharing PostgreSQL (a scratch database of
 * this file) and Redis, the example orders subgraph, and Hive Gateway on the supergraph that
 * `npm run supergraph` composes for CHECKOUTS_URLS, configured by the repository's gateway.config.ts
 * (round-robin over the instances the supergraph names). Every request of these tests goes through the gateway. The Smartcheckout
 * provider is its sandbox behind a proxy that counts POSTs and GETs and can hold GETs.
 */

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const ENABLED = Boolean(DATABASE_URL && REDIS_URL);
if (!ENABLED) {
  console.log(
    'gateway tests skipped: they run two API processes sharing PostgreSQL and Redis behind Hive Gateway; set DATABASE_URL and REDIS_URL (as .ci/run does).',
  );
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
type Status = CheckoutStatusChangedSubscription['checkoutStatusChanged']['status'];

/** A metric's value in Prometheus text, 0 when it has no sample yet (a counter before its first count). */
const sample = (text: string, name: string, labels: Record<string, string> = {}) =>
  metricSample(text, name, labels) ?? 0;

/** The database id inside a checkout's global id (`SmartCheckout:<uuid>`, base64). */
const databaseIdOf = (globalId: string) => Buffer.from(globalId, 'base64').toString('utf8').split(':')[1]!;

describe.runIf(ENABLED)('two API instances behind Hive Gateway', () => {
  const tenant = { name: `gw-${randomUUID().slice(0, 8)}`, key: `key-gw-${randomUUID()}` };
  let provider: Awaited<ReturnType<typeof startGatedSmartcheckout>>;
  let instances: ServerProcess[] = [];
  let gateway: ServerProcess;
  let sql: pg.Pool;
  let dropDatabase: (() => Promise<void>) | undefined;
  let workDir: string;

  /** A GraphQL request through the gateway, as the tenant unless `apiKey` is null. */
  async function viaGateway<T>(
    query: string,
    variables: Record<string, unknown> = {},
    headers: Record<string, string> = {},
    apiKey: string | null = tenant.key,
  ) {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        ...headers,
      },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as {
      data?: T;
      errors?: { message: string; extensions?: Record<string, unknown> }[];
    };
  }

  /** A Smartcheckout create through the gateway: its result union as answered. */
  async function createResultViaGateway(
    afterPolls: number,
    extra: { idempotencyKey?: string; requestId?: string } = {},
  ) {
    const result = await viaGateway<CreateSmartCheckoutMutation>(
      print(CreateSmartCheckoutDocument),
      {
        input: {
          productUrl: `https://shop.example/gw?sandbox_after_polls=${afterPolls}&sandbox_amount=49.99`,
          email: 'ada@example.com',
          ...(extra.idempotencyKey ? { idempotencyKey: extra.idempotencyKey } : {}),
        },
      },
      extra.requestId ? { 'x-request-id': extra.requestId } : {},
    );
    expect(result.errors).toBeUndefined();
    return result.data?.createSmartCheckout;
  }

  async function createViaGateway(afterPolls: number, extra: { idempotencyKey?: string; requestId?: string } = {}) {
    const { checkout } = expectType(await createResultViaGateway(afterPolls, extra), 'CreateSmartCheckoutSuccess');
    return { id: checkout.id, providerCheckoutId: checkout.providerCheckoutId! };
  }

  const metricsOf = async (instance: ServerProcess) => (await fetch(`${instance.url}/metrics`)).text();
  const openSubscriptions = async () =>
    Promise.all(
      instances.map(async (instance) =>
        instance.exited ? 0 : sample(await metricsOf(instance), 'checkout_open_subscriptions'),
      ),
    );
  const statusChangedLines = (checkoutId: string) =>
    instances.flatMap((instance) =>
      instance.logs
        .filter((line) => line.msg === 'status changed' && line.checkoutId === checkoutId)
        .map((line) => ({ instance: instance.name, line })),
    );

  beforeAll(async () => {
    provider = await startGatedSmartcheckout();
    const database = await isolatedDatabase('gateway');
    dropDatabase = database.drop;
    sql = new pg.Pool({ connectionString: database.url, max: 2 });
    sql.on('error', () => undefined);
    const env = {
      DATABASE_URL: database.url!,
      REDIS_URL: REDIS_URL!,
      API_KEYS: `${tenant.name}:${tenant.key}`,
      SMARTCHECKOUT_BASE_URL: provider.url,
      SMARTCHECKOUT_API_KEY: provider.apiKey,
      POLLER: 'on',
      POLL_INTERVAL_MS: '200',
      POLL_MAX_INTERVAL_MS: '400',
      // Leases last the provider timeout + 5 s: a killed instance's leases lapse 7 s after its claim.
      PROVIDER_TIMEOUT_MS: '2000',
    };
    // Started one after the other: both run migrations, under an advisory lock, on the same database.
    instances = [await startServerProcess('api-1', env), await startServerProcess('api-2', env)];

    const ordersPort = await freePort();
    const orders = await startServerProcess('orders', {}, 30_000, {
      args: ['--import', 'tsx', 'examples/orders/server.ts'],
      port: ordersPort,
      healthPath: '/health',
    });

    // The documented composition command, writing the supergraph this gateway serves.
    workDir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
    const supergraph = join(workDir, 'supergraph.graphql');
    const checkoutsUrls = instances.map((instance) => `${instance.url}/graphql`).join(',');
    await run(process.execPath, ['--import', 'tsx', 'scripts/compose-supergraph.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        CHECKOUTS_URLS: checkoutsUrls,
        ORDERS_URL: `${orders.url}/graphql`,
        SUPERGRAPH_OUT: supergraph,
      },
    });
    expect(readFileSync(supergraph, 'utf8')).toContain(
      `@join__graph(name: "checkouts", url: "${instances[0]!.url}/graphql")`,
    );

    // One variable: the gateway reads the instances from the supergraph (CHECKOUTS_URLS given again must match).
    gateway = await startServerProcess('gateway', { CHECKOUTS_URLS: checkoutsUrls }, 60_000, {
      args: [
        'node_modules/@graphql-hive/gateway/dist/bin.js',
        'supergraph',
        supergraph,
        '--config-path',
        'gateway.config.ts',
      ],
      port: await freePort(),
      healthPath: '/readiness',
    });
  }, 120_000);

  afterAll(async () => {
    await killAllServerProcesses();
    await sql?.end();
    await provider?.close();
    await dropDatabase?.();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('refuses to start, in one line, with CHECKOUTS_URLS other than the supergraph was composed for', async () => {
    const supergraph = join(workDir, 'supergraph.graphql');
    const failed = await run(
      process.execPath,
      [
        'node_modules/@graphql-hive/gateway/dist/bin.js',
        'supergraph',
        supergraph,
        '--config-path',
        'gateway.config.ts',
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PORT: String(await freePort()), CHECKOUTS_URLS: 'http://127.0.0.1:1/graphql' },
        timeout: 60_000,
      },
    ).then(
      () => undefined,
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(failed?.code).toBe(1);
    const lines = (failed?.stderr ?? '').trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^gateway\.config\.ts: CHECKOUTS_URLS is http:\/\/127\.0\.0\.1:1\/graphql but .* was composed for http:\/\/127\.0\.0\.1:\d+\/graphql,http:\/\/127\.0\.0\.1:\d+\/graphql: /,
      ),
    ]);
  }, 90_000);

  it('answers a query across both subgraphs: an order of the orders service with its checkout from the checkout graph', async () => {
    const requestId = `gw-${randomUUID()}`;
    const checkout = await createViaGateway(1, { requestId });
    const placed = await viaGateway<{ placeOrder: { id: string } }>(
      'mutation($c: ID!) { placeOrder(number: "A-1001", checkoutId: $c) { id } }',
      { c: checkout.id },
    );
    expect(placed.errors).toBeUndefined();

    const orderQuery =
      'query($id: ID!) { order(id: $id) { number checkout { id status total { decimal currency } merchant { name } } } }';
    type OrderResult = {
      order: {
        number: string;
        checkout: {
          id: string;
          status: string;
          total: { decimal: string; currency: string } | null;
          merchant: { name: string } | null;
        };
      };
    };
    await expect
      .poll(
        async () =>
          (await viaGateway<OrderResult>(orderQuery, { id: placed.data!.placeOrder.id })).data?.order.checkout.status,
        { timeout: 20_000, interval: 200 },
      )
      .toBe('COMPLETED');
    const order = await viaGateway<OrderResult>(orderQuery, { id: placed.data!.placeOrder.id });
    console.log(`gateway query: ${orderQuery}\n  → ${JSON.stringify(order.data)}`);
    expect(order.data?.order).toEqual({
      number: 'A-1001',
      checkout: {
        id: checkout.id,
        status: 'COMPLETED',
        total: { decimal: '49.99', currency: 'USD' },
        merchant: { name: expect.any(String) },
      },
    });

    // The gateway passed the client's request id on: the create's provider call is logged with it.
    const providerCalls = instances.flatMap((instance) =>
      instance.logs.filter((line) => line.msg === 'provider call' && line.requestId === requestId),
    );
    expect(providerCalls).toEqual([
      expect.objectContaining({ method: 'POST', provider: 'SMARTCHECKOUT', outcome: 'ok' }),
    ]);

    // Without the key the checkout graph refuses; the orders subgraph never needed it.
    const anonymous = await viaGateway<OrderResult>(orderQuery, { id: placed.data!.placeOrder.id }, {}, null);
    expect(anonymous.data?.order?.checkout ?? null).toBeNull();
    expect(JSON.stringify(anonymous.errors)).toContain('UNAUTHENTICATED');
  });

  it('spreads requests over both instances, and an idempotency key holds across them', async () => {
    const before = await Promise.all(
      instances.map(async (instance) =>
        sample(await metricsOf(instance), 'graphql_envelop_request_duration_count', {
          operationName: 'CreateSmartCheckout',
        }),
      ),
    );
    const postsBefore = provider.postCount();
    const idempotencyKey = `gw-idem-${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 6 }, () => createResultViaGateway(1, { idempotencyKey })));
    // Each duplicate gets the checkout, or (while the first is still deciding) the retryable
    // IdempotencyKeyInUseError naming it: one checkout either way.
    const named = results.map((result) =>
      result?.__typename === 'CreateSmartCheckoutSuccess'
        ? result.checkout.id
        : result?.__typename === 'IdempotencyKeyInUseError'
          ? result.checkoutId
          : `unexpected ${JSON.stringify(result)}`,
    );
    expect(new Set(named).size).toBe(1);
    expect(results.some((result) => result?.__typename === 'CreateSmartCheckoutSuccess')).toBe(true);
    expect(provider.postCount() - postsBefore).toBe(1);
    const { rows } = await sql.query('select id from checkouts where tenant = $1 and idempotency_key = $2', [
      tenant.name,
      idempotencyKey,
    ]);
    expect(rows).toHaveLength(1);
    const after = await Promise.all(
      instances.map(async (instance) =>
        sample(await metricsOf(instance), 'graphql_envelop_request_duration_count', {
          operationName: 'CreateSmartCheckout',
        }),
      ),
    );
    // Round-robin: each instance served three of the six.
    expect(after.map((count, i) => count - before[i]!)).toEqual([3, 3]);
  });

  it('delivers status changes polled by either instance to subscriptions opened through the gateway, polling each checkout exactly once per due time', async () => {
    provider.holdNew = true;
    const checkouts = await Promise.all([1, 2, 3, 4].map(() => createViaGateway(2)));
    provider.holdNew = false;
    const client = wsClient(gateway.url, tenant.key);
    const overWs = checkouts.map((checkout) =>
      recordSubscription(client, CheckoutStatusChangedDocument, { id: checkout.id }),
    );
    const overSse = recordSse(gateway.url, tenant.key, CheckoutStatusChangedDocument, { id: checkouts[0]!.id });
    // Five streams, spread by the gateway over both instances.
    await waitFor(async () => (await openSubscriptions()).reduce((a, b) => a + b, 0) === 5, {
      timeoutMs: 10_000,
      what: 'five open subscriptions',
    });
    const spread = await openSubscriptions();
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(1);
    await waitFor(() => overWs.every((recording) => recording.events.length === 1), {
      what: 'the first event of each subscription',
    });

    provider.allowAll();
    await Promise.all(overWs.map((recording) => recording.done));
    const sse = await overSse;
    await client.dispose();

    for (const recording of overWs) {
      expect(recording.errors).toBeUndefined();
      expect(recording.completed).toBe(true);
      expect(recording.events.map((event) => event.checkoutStatusChanged.status as Status)).toEqual([
        'PROCESSING',
        'COMPLETED',
      ]);
    }
    expect(sse.completed).toBe(true);
    expect(sse.events.map((event) => event.data?.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);
    console.log(
      `gateway subscription: ${print(CheckoutStatusChangedDocument).replace(/\s+/g, ' ')}\n  → ${overWs.length} over WebSocket and 1 over SSE, each [PROCESSING, COMPLETED] then complete; open subscriptions per instance while waiting: ${JSON.stringify(spread)}`,
    );

    // Exactly once: the sandbox completes on the 2nd poll, so exactly 2 GETs, and one applied change, per checkout.
    const pollers = new Set<string>();
    for (const checkout of checkouts) {
      expect(provider.getCount(checkout.providerCheckoutId)).toBe(2);
      const changes = statusChangedLines(checkout.id);
      expect(changes).toHaveLength(1);
      pollers.add(changes[0]!.instance);
    }

    // The metrics of both instances add up to what the provider saw.
    const texts = await Promise.all(instances.map(metricsOf));
    const { rows } = await sql.query<{ provider_checkout_id: string }>(
      'select provider_checkout_id from checkouts where tenant = $1',
      [tenant.name],
    );
    const providerGets = rows.reduce((sum, row) => sum + provider.getCount(row.provider_checkout_id), 0);
    const polls = texts.map((text) => sample(text, 'checkout_poller_polls_total', { provider: 'SMARTCHECKOUT' }));
    expect(polls.reduce((a, b) => a + b, 0)).toBe(providerGets);
    expect(texts.map((text) => sample(text, 'checkout_open_subscriptions'))).toEqual([0, 0]);
    expect(texts.map((text) => sample(text, 'checkout_poller_due_backlog'))).toEqual([0, 0]);
    console.log(
      `metrics read: checkout_poller_polls_total{provider="SMARTCHECKOUT"} per instance ${JSON.stringify(polls)} (provider saw ${providerGets} GETs); ` +
        `changes applied by ${[...pollers].join(' and ')}; checkout_open_subscriptions back to [0, 0]; due backlog [0, 0]`,
    );
  }, 60_000);

  it('keeps delivering when one instance is killed: the other takes over its leases, and the gateway stops routing to it', async () => {
    provider.holdNew = true;
    const checkouts = await Promise.all([1, 2, 3, 4].map(() => createViaGateway(1)));
    provider.holdNew = false;
    const client = wsClient(gateway.url, tenant.key);
    const first = checkouts.map((checkout) =>
      recordSubscription(client, CheckoutStatusChangedDocument, { id: checkout.id }),
    );
    await waitFor(async () => (await openSubscriptions()).reduce((a, b) => a + b, 0) === 4, {
      timeoutMs: 10_000,
      what: 'four open subscriptions',
    });
    await waitFor(() => first.every((recording) => recording.events.length === 1), {
      what: 'the first event of each subscription',
    });
    // Every checkout's first GET is held at the provider, so every schedule is leased by whoever claimed it.
    await waitFor(() => checkouts.every((checkout) => provider.getCount(checkout.providerCheckoutId) === 1), {
      timeoutMs: 10_000,
      what: 'a held GET per checkout',
    });
    const { rows: leases } = await sql.query<{ checkout_id: string; lease_owner: string; lease_expires_at: Date }>(
      'select checkout_id, lease_owner, lease_expires_at from poll_schedules where checkout_id = any($1)',
      [checkouts.map((checkout) => databaseIdOf(checkout.id))],
    );
    expect(leases).toHaveLength(4);
    // The victim is whoever holds the first checkout's lease; the other instance must take it over.
    const victim = instances.find((instance) => leases[0]!.lease_owner.split(':').at(-2) === String(instance.pid))!;
    const survivor = instances.find((instance) => instance !== victim)!;
    const victimLeases = leases.filter((lease) => lease.lease_owner.split(':').at(-2) === String(victim.pid));
    const perInstance = await openSubscriptions();
    const survivorSubscriptions = perInstance[instances.indexOf(survivor)]!;
    expect(survivorSubscriptions).toBeGreaterThanOrEqual(1);

    victim.kill('SIGKILL');
    await victim.exit;
    provider.allowAll();

    // Streams served by the survivor complete on their own; those served by the victim end, and
    // their clients subscribe again through the gateway, which now routes only to the survivor.
    await Promise.all(first.map((recording) => recording.done));
    const uninterrupted = first.filter(
      (recording) => recording.completed && recording.events.at(-1)?.checkoutStatusChanged.status === 'COMPLETED',
    );
    expect(uninterrupted.length).toBeGreaterThanOrEqual(survivorSubscriptions);
    const interrupted = checkouts.filter((_, i) => !uninterrupted.includes(first[i]!));
    const again = interrupted.map((checkout) =>
      recordSubscription(client, CheckoutStatusChangedDocument, { id: checkout.id }),
    );
    await Promise.all(again.map((recording) => recording.done));
    await client.dispose();
    for (const recording of again) {
      expect(recording.errors).toBeUndefined();
      expect(recording.events.at(-1)?.checkoutStatusChanged.status).toBe('COMPLETED');
    }

    // The victim's leased checkouts were completed by the survivor, not polled again before the lease lapsed.
    for (const lease of victimLeases) {
      const changes = statusChangedLines(publicCheckoutId('SMARTCHECKOUT', lease.checkout_id));
      expect(changes.map((change) => change.instance)).toEqual([survivor.name]);
      expect(Number(changes[0]!.line.time)).toBeGreaterThanOrEqual(lease.lease_expires_at.getTime());
    }
    // New requests reach the survivor only.
    const after = await viaGateway<{ checkouts: { edges: unknown[] } }>('{ checkouts(first: 1) { edges { cursor } } }');
    expect(after.errors).toBeUndefined();
    console.log(
      `killed ${victim.name} holding ${victimLeases.length} of 4 leases; ${uninterrupted.length} subscriptions on ${survivor.name} completed uninterrupted, ${again.length} resubscribed and got COMPLETED; ${survivor.name} completed the victim's checkouts after their leases lapsed`,
    );
  }, 90_000);
});
