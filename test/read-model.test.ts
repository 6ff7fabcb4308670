import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import type { CheckoutAggregate } from '../src/db/repository.js';
import { checkouts } from '../src/db/schema.js';
import { CheckoutReadModel } from '../src/readmodel/checkout-read-model.js';
import {
  CheckoutDocument,
  CheckoutsDocument,
  CheckoutStatusChangedDocument,
  EntitiesDocument,
  NodeDocument,
  RefreshCheckoutDocument,
} from './generated/graphql.js';
import {
  DATABASE_KIND,
  expectType,
  startScopedTestApp,
  startTestApp,
  useTestApp,
  type TestApp,
} from './support/app.js';
import { pause, waitFor } from './support/async.js';
import { rowIdOf } from './support/ids.js';
import { metricOf } from './support/metrics.js';
import { privateRedis } from './support/redis.js';
import { clean, createSmart, sandboxProduct } from './support/seed.js';
import { fewestStatements } from './support/statements.js';
import { recordSubscription, scopedWsClient } from './support/subscriptions.js';

/*
 * The read model: checkout aggregates kept in memory per instance. What must hold whatever the
 * cache does: never stale on the instance that wrote, never another tenant's, nothing after a
 * restart that the database contradicts, and nothing lost when the bus drops messages.
 */

/** A source whose loads finish when the test says so, counting the ids asked for. */
function gatedSource(versions: Map<string, string>) {
  const asked: string[][] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    asked,
    hold() {
      gate = new Promise<void>((resolve) => {
        release = resolve;
      });
    },
    release: () => release?.(),
    async aggregatesByIds(ids: readonly string[]): Promise<CheckoutAggregate[]> {
      asked.push([...ids]);
      const snapshot = ids.map((id) => aggregate(id, versions.get(id) ?? 'PENDING'));
      await gate;
      return snapshot;
    },
    async merchantsByIds() {
      return [];
    },
  };
}

function aggregate(id: string, status: string, tenant = 'tenant-a'): CheckoutAggregate {
  return {
    row: { id, tenant, status, merchantId: null } as unknown as CheckoutAggregate['row'],
    lineItems: [],
    events: [],
  };
}

describe('CheckoutReadModel', () => {
  it('loads the reads of one turn of the event loop in one statement (a resync tick of many streams)', async () => {
    const source = gatedSource(new Map());
    const model = new CheckoutReadModel(source, { maxEntries: 10 });
    const reads = await Promise.all(['c1', 'c2', 'c3', 'c2'].map((id) => model.rows('tenant-a', [id])));
    expect(reads.map(([row]) => row!.id)).toEqual(['c1', 'c2', 'c3', 'c2']);
    expect(source.asked).toEqual([['c1', 'c2', 'c3', 'c2']]);
    // Another turn, another statement; what the first one loaded is served from memory.
    await Promise.all(['c4', 'c1'].map((id) => model.rows('tenant-a', [id])));
    expect(source.asked).toEqual([['c1', 'c2', 'c3', 'c2'], ['c4']]);
  });

  it('fails every read of a batch whose statement fails', async () => {
    const failing = {
      aggregatesByIds: async () => Promise.reject(new Error('database unreachable')),
      merchantsByIds: async () => [],
    };
    const model = new CheckoutReadModel(failing, { maxEntries: 10 });
    const reads = await Promise.allSettled([model.rows('tenant-a', ['c1']), model.rows('tenant-a', ['c2'])]);
    expect(reads.map((read) => read.status === 'rejected' && String(read.reason))).toEqual([
      'Error: database unreachable',
      'Error: database unreachable',
    ]);
  });

  it('serves a second read from memory and a read after a write from the source', async () => {
    const versions = new Map([['c1', 'PROCESSING']]);
    const source = gatedSource(versions);
    const model = new CheckoutReadModel(source, { maxEntries: 10 });
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('PROCESSING');
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('PROCESSING');
    expect(source.asked).toEqual([['c1']]);
    versions.set('c1', 'COMPLETED');
    model.written('c1', null);
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('COMPLETED');
    expect(source.asked).toEqual([['c1'], ['c1']]);
  });

  it('does not keep what a load read before a write that finished during the load', async () => {
    const versions = new Map([['c1', 'PROCESSING']]);
    const source = gatedSource(versions);
    const model = new CheckoutReadModel(source, { maxEntries: 10 });
    source.hold();
    const racing = model.rows('tenant-a', ['c1']);
    await pause(5);
    versions.set('c1', 'COMPLETED');
    model.written('c1', null);
    source.release();
    // The racing read answers what it read; it is not kept.
    expect((await racing)[0]!.status).toBe('PROCESSING');
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('COMPLETED');
    expect(source.asked).toHaveLength(2);
  });

  it('holds what a write stored, unless a newer or unordered write is known, and no racing load replaces it', async () => {
    const versions = new Map([['c1', 'PENDING']]);
    const source = gatedSource(versions);
    const model = new CheckoutReadModel(source, { maxEntries: 10 });
    const stored = (status: string, updatedAt: number) => ({
      row: { id: 'c1', tenant: 'tenant-a', status, merchantId: null, updatedAt: new Date(updatedAt) },
      lineItems: [],
      events: [],
    });
    // A load that read before the write finishes after it: the write's result stays.
    source.hold();
    const racing = model.rows('tenant-a', ['c1']);
    await pause(5);
    model.stored(stored('PROCESSING', 1_000) as never, null);
    source.release();
    expect((await racing)[0]!.status).toBe('PENDING');
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('PROCESSING');
    expect(source.asked).toHaveLength(1);
    // An older write's result arriving late does not replace a newer one.
    model.stored(stored('COMPLETED', 3_000) as never, null);
    model.stored(stored('PROCESSING', 2_000) as never, null);
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('COMPLETED');
    // Another instance's write (announced, not ordered) wins: the next read loads.
    model.written('c1', null);
    model.stored(stored('FAILED', 4_000) as never, null);
    versions.set('c1', 'EXPIRED');
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('EXPIRED');
  });

  it("never answers one tenant with another's checkout, held or not", async () => {
    const source = {
      aggregatesByIds: async (ids: readonly string[]) => ids.map((id) => aggregate(id, 'OPEN', 'tenant-a')),
      merchantsByIds: async () => [],
    };
    const model = new CheckoutReadModel(source, { maxEntries: 10 });
    expect(await model.rows('tenant-b', ['c1'])).toEqual([]);
    expect(await model.rows('tenant-a', ['c1'])).toHaveLength(1);
    expect(await model.rows('tenant-b', ['c1'])).toEqual([]);
    expect(await model.lineItemsOf('tenant-b', ['c1'])).toEqual([]);
    expect(await model.eventsOf('tenant-b', ['c1'])).toEqual([]);
  });

  it('holds at most maxEntries checkouts and counts what it drops for capacity', async () => {
    const evicted: string[] = [];
    const model = new CheckoutReadModel(gatedSource(new Map()), {
      maxEntries: 3,
      counters: { lookup: () => undefined, evicted: (reason, count) => evicted.push(`${reason}:${count}`) },
    });
    await model.rows('tenant-a', ['c1', 'c2', 'c3', 'c4', 'c5']);
    expect(model.size).toBe(3);
    expect(evicted).toEqual(['capacity:1', 'capacity:1']);
  });

  it('loads every read while the bus is down, and caches again once it is back', async () => {
    const source = gatedSource(new Map());
    const model = new CheckoutReadModel(source, { maxEntries: 10 });
    await model.rows('tenant-a', ['c1']);
    model.busDown();
    expect(model.size).toBe(0);
    await model.rows('tenant-a', ['c1']);
    await model.rows('tenant-a', ['c1']);
    expect(source.asked).toHaveLength(3);
    model.busUp();
    await model.rows('tenant-a', ['c1']);
    await model.rows('tenant-a', ['c1']);
    expect(source.asked).toHaveLength(4);
  });

  it('with ttlMs serves an entry for that long at most (writes nobody announces show within it)', async () => {
    const versions = new Map([['c1', 'PROCESSING']]);
    const source = gatedSource(versions);
    const model = new CheckoutReadModel(source, { maxEntries: 10, ttlMs: 100 });
    await model.rows('tenant-a', ['c1']);
    versions.set('c1', 'COMPLETED');
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('PROCESSING');
    await pause(150);
    expect((await model.rows('tenant-a', ['c1']))[0]!.status).toBe('COMPLETED');
    expect(source.asked).toHaveLength(2);
  });

  it('with maxEntries 0 holds nothing', async () => {
    const source = gatedSource(new Map());
    const model = new CheckoutReadModel(source, { maxEntries: 0 });
    await model.rows('tenant-a', ['c1']);
    await model.rows('tenant-a', ['c1']);
    expect(source.asked).toHaveLength(2);
    expect(model.size).toBe(0);
  });
});

describe('the read model in the API', () => {
  const t = useTestApp();

  /** Statements of a warm read (the fewest of three tries: the app's idle claims count too). */
  const statementsFor = <T>(run: () => Promise<T>) => fewestStatements(t, run);

  it('answers a warm checkout(id) without a statement, and counts hits and misses', async () => {
    const checkout = await createSmart(t, { productUrl: sandboxProduct('sandbox_after_polls=3') });
    const misses = await metricOf(t, 'checkout_read_model_lookups_total', { outcome: 'miss' });
    await t.request(CheckoutDocument, { id: checkout.id });
    const hits = await metricOf(t, 'checkout_read_model_lookups_total', { outcome: 'hit' });
    const { statements, result } = await statementsFor(() => t.request(CheckoutDocument, { id: checkout.id }));
    expect(statements).toBe(0);
    expect(clean(result).checkout).toMatchObject({ id: checkout.id, status: 'PROCESSING' });
    expect(await metricOf(t, 'checkout_read_model_lookups_total', { outcome: 'hit' })).toBeGreaterThan(hits);
    expect(await metricOf(t, 'checkout_read_model_lookups_total', { outcome: 'miss' })).toBeGreaterThanOrEqual(misses);
    expect(await metricOf(t, 'checkout_read_model_entries')).toBeGreaterThan(0);
  });

  it('is never stale after a write on this instance: the refresh and the next read show the new status', async () => {
    const checkout = await createSmart(t, { productUrl: sandboxProduct('sandbox_after_polls=1') });
    expect(clean(await t.request(CheckoutDocument, { id: checkout.id })).checkout?.status).toBe('PROCESSING');
    const refreshed = clean(await t.request(RefreshCheckoutDocument, { id: checkout.id })).refreshCheckout;
    expect(expectType(refreshed, 'RefreshCheckoutSuccess').checkout.status).toBe('COMPLETED');
    // The write put what it stored in the read model: the next read needs no statement.
    const { statements, result } = await statementsFor(() => t.request(CheckoutDocument, { id: checkout.id }));
    expect(statements).toBe(0);
    const read = clean(result).checkout!;
    expect(read.status).toBe('COMPLETED');
    expect(read.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
    const listed = clean(await t.request(CheckoutsDocument, { first: 5 })).checkouts.edges.map((edge) => edge.node);
    expect(listed.find((node) => node.id === checkout.id)?.status).toBe('COMPLETED');
  });

  it('serves a warm checkout to no other tenant, over checkout, node, _entities and the list', async () => {
    const checkout = await createSmart(t, { productUrl: sandboxProduct('sandbox_after_polls=3') });
    expect(clean(await t.request(CheckoutDocument, { id: checkout.id })).checkout?.id).toBe(checkout.id);
    const asB = { apiKey: t.keys.b };
    expect(clean(await t.request(CheckoutDocument, { id: checkout.id }, asB)).checkout).toBeNull();
    expect(clean(await t.request(NodeDocument, { id: checkout.id }, asB)).node).toBeNull();
    const representations = [{ __typename: 'SmartCheckout', id: checkout.id }];
    expect(clean(await t.request(EntitiesDocument, { representations }, asB))._entities).toEqual([null]);
    const listed = clean(await t.request(CheckoutsDocument, { first: 100 }, asB)).checkouts.edges;
    expect(listed.map((edge) => edge.node.id)).not.toContain(checkout.id);
  });

  it('shows the event-loop delay on /metrics', async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
  });
});

describe('the read model and the poller', () => {
  it('a read right after the subscription event shows what the event showed', async () => {
    const t = await startScopedTestApp({ POLLER: 'on', POLL_INTERVAL_MS: '100' });
    const checkout = await createSmart(t, { productUrl: sandboxProduct('sandbox_after_polls=2') });
    expect(clean(await t.request(CheckoutDocument, { id: checkout.id })).checkout?.status).toBe('PROCESSING');
    const stream = recordSubscription(scopedWsClient(t.url, t.keys.a!), CheckoutStatusChangedDocument, {
      id: checkout.id,
    });
    await waitFor(() => stream.completed, { what: 'the stream to complete' });
    expect(stream.events.at(-1)?.checkoutStatusChanged.status).toBe('COMPLETED');
    expect(clean(await t.request(CheckoutDocument, { id: checkout.id })).checkout?.status).toBe('COMPLETED');
  });
});

describe.skipIf(DATABASE_KIND !== 'pglite')('the read model after a restart', () => {
  it('serves nothing the database contradicts after a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'read-model-restart-'));
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const env = { DATA_DIR: dataDir, API_KEYS: `tenant-restart:key-restart-${Date.now()}` };
    const as = { apiKey: env.API_KEYS.split(':')[1]! };
    const first = await startTestApp(env);
    const checkout = await createSmart(first, { productUrl: sandboxProduct('sandbox_after_polls=3') }, as);
    expect(clean(await first.request(CheckoutDocument, { id: checkout.id }, as)).checkout?.status).toBe('PROCESSING');
    await first.stop();
    // Changed while no instance runs (an operator's repair, a restore).
    const database = await openDatabase({ dataDir });
    await database.db
      .update(checkouts)
      .set({ status: 'FAILED' })
      .where(eq(checkouts.id, rowIdOf(checkout.id)));
    await database.close();
    const second = await startScopedTestApp(env);
    expect(clean(await second.request(CheckoutDocument, { id: checkout.id }, as)).checkout?.status).toBe('FAILED');
  });
});

describe.skipIf(DATABASE_KIND !== 'postgres')('two instances on PostgreSQL and Redis', () => {
  async function twoInstances(redisUrl: string) {
    const tenant = `tenant-rm-${Date.now()}`;
    const key = `key-rm-${Math.random().toString(36).slice(2)}`;
    const env = { REDIS_URL: redisUrl, API_KEYS: `${tenant}:${key}`, SUBSCRIPTION_RESYNC_MS: '60000' };
    const writer = await startScopedTestApp(env);
    const reader = await startScopedTestApp(env);
    return { writer, reader, key };
  }

  /**
   * A writer and a reader on a private Redis; a PROCESSING purchase created on the writer, held in
   * the reader's read model, and watched by a subscriber on the reader that has its first state.
   */
  async function watchedOnReader() {
    const redis = await privateRedis();
    const { writer, reader, key } = await twoInstances(redis.url);
    const as = { apiKey: key };
    const checkout = await createSmart(writer, { productUrl: sandboxProduct('sandbox_after_polls=1') }, as);
    expect(clean(await reader.request(CheckoutDocument, { id: checkout.id }, as)).checkout?.status).toBe('PROCESSING');
    const stream = recordSubscription(scopedWsClient(reader.url, key), CheckoutStatusChangedDocument, {
      id: checkout.id,
    });
    await waitFor(() => stream.events.length >= 1, { what: 'the first state' });
    return { redis, writer, reader, as, checkout, stream };
  }

  it('a read on the other instance is fresh once it has delivered the change to its subscribers', async () => {
    const { writer, reader, as, checkout, stream } = await watchedOnReader();
    clean(await writer.request(RefreshCheckoutDocument, { id: checkout.id }, as));
    await waitFor(() => stream.completed, { what: 'the stream on the reader to complete' });
    expect(stream.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);
    expect(clean(await reader.request(CheckoutDocument, { id: checkout.id }, as)).checkout?.status).toBe('COMPLETED');
  });

  it('a change made while Redis is down reaches the subscriber once it is back, and reads are fresh', async () => {
    const { redis, writer, reader, as, checkout, stream } = await watchedOnReader();
    await redis.kill();
    await waitFor(async () => (await healthOf(reader)).bus?.connected === false, {
      what: 'the reader to see the outage',
    });
    clean(await writer.request(RefreshCheckoutDocument, { id: checkout.id }, as));
    // While the bus is down the reader reads the database, not what it held.
    expect(clean(await reader.request(CheckoutDocument, { id: checkout.id }, as)).checkout?.status).toBe('COMPLETED');
    await pause(8_000);
    expect(stream.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING']);
    await redis.start();
    await waitFor(() => stream.completed, { timeoutMs: 30_000, what: 'the stream to catch up after the outage' });
    expect(stream.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);
    expect((await healthOf(reader)).bus).toEqual({ kind: 'redis', connected: true });
    for (const app of [writer, reader]) {
      const outageLines = app.logs.filter((line) => line.includes('Redis connection error'));
      expect(outageLines.length).toBeLessThanOrEqual(2);
      for (const line of outageLines) expect(() => JSON.parse(line)).not.toThrow();
    }
  }, 60_000);
});

async function healthOf(app: TestApp): Promise<{ status: string; bus?: { kind: string; connected: boolean } }> {
  return (await fetch(`${app.url}/health`)).json() as Promise<{
    status: string;
    bus?: { kind: string; connected: boolean };
  }>;
}
