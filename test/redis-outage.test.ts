import { describe, expect, it } from 'vitest';
import {
  CheckoutDocument,
  CheckoutStatusChangedDocument,
  CreatePayerVaultCheckoutDocument,
  RefreshCheckoutDocument,
  TypenameDocument,
} from './generated/graphql.js';
import { DATABASE_KIND, expectType, startScopedTestApp, type TestApp } from './support/app.js';
import { privateRedis } from './support/redis.js';
import { createSmart } from './support/seed.js';
import { recordSubscription, scopedWsClient } from './support/subscriptions.js';

/*
 * A Redis of the test's own, frozen with SIGSTOP (a network partition: connections stay open and
 * nothing answers) and killed: no request waits for it, /health says `degraded`, one log line
 * marks the outage and one its end, and subscribers hear every change, on the instance that made
 * it at once and on the others once Redis is back.
 */

/** Rejects when `work` is still waiting after `ms`: what a request stalled on Redis would do. */
function notStalled<T>(work: Promise<T>, what: string, ms = 5_000): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} still waiting after ${ms} ms`)), ms).unref(),
    ),
  ]);
}

async function health(t: TestApp) {
  const response = await fetch(`${t.url}/health`);
  return { status: response.status, body: await response.json() };
}

/** Queries, a read and a create: what the request path does, each of which once touched Redis. */
async function serves(t: TestApp, checkoutId: string, apiKey = t.keys.a!) {
  const as = { apiKey };
  expect((await notStalled(t.request(TypenameDocument, {}, as), '{ __typename }')).data).toEqual({
    __typename: 'Query',
  });
  const read = await notStalled(t.request(CheckoutDocument, { id: checkoutId }, as), 'checkout(id)');
  expect(read.data?.checkout?.id).toBe(checkoutId);
  const created = await notStalled(
    t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-redis' } }, as),
    'createPayerVaultCheckout',
  );
  expectType(created.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess');
}

const outageLines = (t: TestApp) => t.logs.filter((line) => line.includes('Redis is unavailable')).length;
const recoveryLines = (t: TestApp) => t.logs.filter((line) => line.includes('Redis answers again')).length;

// Each test starts its own Redis and apps (a few seconds each on a busy machine).
describe('Redis frozen or gone', { timeout: 60_000 }, () => {
  it('a frozen Redis stalls no request, /health says degraded, and the instance that changed a checkout tells its subscribers at once', async () => {
    const redis = await privateRedis();
    const t = await startScopedTestApp({ REDIS_URL: redis.url, SUBSCRIPTION_RESYNC_MS: '3600000' });
    const checkout = await createSmart(t, { productUrl: 'https://shop.example/item?sandbox_after_polls=1' });
    const watched = recordSubscription(scopedWsClient(t.url, t.keys.a!), CheckoutStatusChangedDocument, {
      id: checkout.id,
    });
    await expect.poll(() => watched.events.length).toBe(1);
    expect(await health(t)).toEqual({
      status: 200,
      body: { status: 'ok', database: DATABASE_KIND, bus: { kind: 'redis', connected: true } },
    });

    redis.freeze();
    await serves(t, checkout.id);
    // The rate limiter's command hit its deadline, or the ping did: the bus is known sick.
    await expect
      .poll(() => health(t), { timeout: 5_000, interval: 100 })
      .toEqual({
        status: 200,
        body: { status: 'degraded', database: DATABASE_KIND, bus: { kind: 'redis', connected: false } },
      });
    await serves(t, checkout.id);

    // Changed on this instance while Redis cannot carry it: its own subscriber hears it at once.
    const refreshed = await notStalled(t.request(RefreshCheckoutDocument, { id: checkout.id }), 'refreshCheckout');
    expect(expectType(refreshed.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout.status).toBe('COMPLETED');
    await watched.done;
    expect(watched.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);

    redis.thaw();
    await expect.poll(() => health(t), { timeout: 5_000, interval: 100 }).toMatchObject({ body: { status: 'ok' } });
    expect({ outages: outageLines(t), recoveries: recoveryLines(t) }).toEqual({ outages: 1, recoveries: 1 });
  });

  it('a Redis that is gone costs no request a wait, and is used again once it is back', async () => {
    const redis = await privateRedis();
    const t = await startScopedTestApp({ REDIS_URL: redis.url });
    const checkout = await createSmart(t);
    await redis.kill();
    await serves(t, checkout.id);
    await expect
      .poll(() => health(t), { timeout: 5_000, interval: 100 })
      .toMatchObject({ body: { status: 'degraded' } });
    await serves(t, checkout.id);
    await redis.start();
    await expect.poll(() => health(t), { timeout: 10_000, interval: 100 }).toMatchObject({ body: { status: 'ok' } });
    await serves(t, checkout.id);
    expect(outageLines(t)).toBe(1);
    expect(recoveryLines(t)).toBe(1);
  });
});

describe.skipIf(DATABASE_KIND !== 'postgres')(
  'two instances sharing PostgreSQL, Redis frozen',
  { timeout: 60_000 },
  () => {
    it('neither stalls, and the other instance’s subscriber gets the change once Redis is back', async () => {
      const redis = await privateRedis();
      // One tenant on both instances (the test kit gives each app random ones otherwise).
      const tenant = `tenant-redis-${Date.now()}`;
      const key = `key-redis-${Math.random().toString(36).slice(2)}`;
      const env = { REDIS_URL: redis.url, SUBSCRIPTION_RESYNC_MS: '3600000', API_KEYS: `${tenant}:${key}` };
      const writer = await startScopedTestApp(env);
      const reader = await startScopedTestApp(env);
      const checkout = await createSmart(
        writer,
        { productUrl: 'https://shop.example/item?sandbox_after_polls=1' },
        { apiKey: key },
      );
      const watched = recordSubscription(scopedWsClient(reader.url, key), CheckoutStatusChangedDocument, {
        id: checkout.id,
      });
      await expect.poll(() => watched.events.length).toBe(1);

      redis.freeze();
      await serves(writer, checkout.id, key);
      await serves(reader, checkout.id, key);
      const refreshed = await notStalled(
        writer.request(RefreshCheckoutDocument, { id: checkout.id }, { apiKey: key }),
        'refreshCheckout',
      );
      expect(expectType(refreshed.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout.status).toBe('COMPLETED');
      // The reader's instance learns of Redis's freeze from its own ping, then of its return.
      await expect
        .poll(() => health(reader), { timeout: 5_000, interval: 100 })
        .toMatchObject({ body: { status: 'degraded' } });
      expect(watched.events).toHaveLength(1);

      redis.thaw();
      await watched.done;
      expect(watched.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);
    });
  },
);
