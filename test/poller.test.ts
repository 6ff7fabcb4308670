import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { openDatabase } from '../src/db/client.js';
import { CheckoutRepository } from '../src/db/repository.js';
import { CheckoutService } from '../src/domain/checkout-service.js';
import { CheckoutLifecycle } from '../src/domain/lifecycle.js';
import { createLogger } from '../src/logger.js';
import { createProviderCatalog, hasStatusEndpoint } from '../src/providers/index.js';
import { Poller } from '../src/workers/poller.js';
import { changePublisher, type CheckoutPubSub, createCheckoutPubSub } from '../src/realtime/pubsub.js';
import {
  CreatePayerVaultCheckoutDocument,
  CreateStanCheckoutDocument,
  RefreshCheckoutDocument,
} from './generated/graphql.js';
import {
  expectType,
  isolatedDatabase,
  startScopedTestApp,
  startTestApp,
  useTestApp,
  type TestApp,
} from './support/app.js';
import { pause, waitFor } from './support/async.js';
import {
  smartcheckoutThrough,
  startGatedSmartcheckout,
  type GatedSmartcheckout,
} from './support/gated-smartcheckout.js';
import { rowIdOf } from './support/ids.js';
import { createSmart, sandboxProduct, visibleCheckout } from './support/seed.js';
import { statusChangedPayload } from '../src/webhooks/events.js';

/*
 * The shared status poller through the real app and database: durable schedules, backoff,
 * provider errors, leases, and (on PostgreSQL) two instances polling each checkout exactly once.
 * Provider GETs are counted by a proxy in front of the Smartcheckout sandbox. Assertions are on
 * counts and stored schedule values, never on how long something took.
 */

const INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 400;
const POLL = { POLLER: 'on', POLL_INTERVAL_MS: String(INTERVAL_MS), POLL_MAX_INTERVAL_MS: String(MAX_INTERVAL_MS) };

/** A PROCESSING Smartcheckout purchase of a sandbox product with these scenario controls, and the ids the tests poll by. */
async function createPolledPurchase(t: TestApp, query: string) {
  const checkout = await createSmart(t, {
    productUrl: sandboxProduct(query, 'poll-shop.example'),
    email: 'ada@example.com',
  });
  expect(checkout.status).toBe('PROCESSING');
  return {
    id: checkout.id,
    rowId: rowIdOf(checkout.id),
    providerId: checkout.providerCheckoutId!,
    createdAt: checkout.createdAt as string,
  };
}

/** Milliseconds between two stored timestamps. */
const gap = (later: Date | null | undefined, earlier: Date | null | undefined) => later!.getTime() - earlier!.getTime();

describe('poll schedules and backoff (one instance)', () => {
  let provider: GatedSmartcheckout;
  beforeAll(async () => {
    provider = await startGatedSmartcheckout();
    // A beforeAll's clean-up runs after the block's afterAll hooks: once the app has stopped.
    return () => provider.close();
  });
  const t = useTestApp(() => ({ ...POLL, PROVIDER_TIMEOUT_MS: '10000', ...smartcheckoutThrough(provider) }), {
    isolate: 'poller',
  });
  // Lets held GETs through before the app stops (after-hooks run in reverse order of registration).
  afterAll(() => provider?.allowAll());
  let repository: CheckoutRepository;
  beforeEach(() => {
    repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
  });

  it('schedules a new Smartcheckout checkout, polls it to COMPLETED, then removes the schedule and never GETs again', async () => {
    provider.holdNew = true;
    const checkout = await createPolledPurchase(t, 'sandbox_after_polls=3');
    provider.holdNew = false;

    const schedule = await repository.pollScheduleOf(checkout.rowId);
    expect(schedule).toBeDefined();
    expect(schedule!.attempts).toBe(0);
    expect(schedule!.lastError).toBeNull();
    // The first poll is due one interval after the provider accepted the purchase.
    const created = new Date(checkout.createdAt);
    expect(gap(schedule!.nextPollAt, created)).toBeGreaterThanOrEqual(INTERVAL_MS);

    provider.allow(checkout.providerId);
    await waitFor(async () => (await visibleCheckout(t, checkout.id)).status === 'COMPLETED', {
      what: 'the checkout to complete',
    });
    expect(await repository.pollScheduleOf(checkout.rowId)).toBeUndefined();
    expect(provider.getCount(checkout.providerId)).toBe(3);

    // A few backoff caps later, still no GET after the terminal status.
    await pause(3 * MAX_INTERVAL_MS);
    expect(provider.getCount(checkout.providerId)).toBe(3);
    const stored = await visibleCheckout(t, checkout.id);
    expect(stored.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
    expect(stored.events.at(-1)!.source).toBeTruthy();
  });

  it('never schedules PayerVault or Stan checkouts (no status endpoint)', async () => {
    const payervault = await t.request(CreatePayerVaultCheckoutDocument, {
      input: { customerId: `cust-${randomUUID()}` },
    });
    const p = expectType(payervault.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;
    const stan = await t.request(CreateStanCheckoutDocument, {
      input: {
        returnUrl: 'https://poll-shop.example/return',
        lineItems: [{ productId: 'p1', quantity: 1, unitPrice: 990 }],
      },
    });
    const s = expectType(stan.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout;
    expect([p.status, s.status]).toEqual(['OPEN', 'OPEN']);
    // Give a running poller the time of a few polls to (wrongly) schedule anything.
    await pause(2 * INTERVAL_MS);
    expect(await repository.pollScheduleOf(rowIdOf(p.id))).toBeUndefined();
    expect(await repository.pollScheduleOf(rowIdOf(s.id))).toBeUndefined();
  });

  it('backs off exponentially while nothing changes, capped at POLL_MAX_INTERVAL_MS', async () => {
    const checkout = await createPolledPurchase(t, 'sandbox_after_polls=1000');
    // attempts -> (next_poll_at - last_polled_at): both are set by one statement, so this is the chosen delay.
    const delays = new Map<number, number>();
    await waitFor(
      async () => {
        const row = await repository.pollScheduleOf(checkout.rowId);
        if (row && row.attempts > 0 && row.lastPolledAt && !delays.has(row.attempts))
          delays.set(row.attempts, gap(row.nextPollAt, row.lastPolledAt));
        return delays.has(5);
      },
      { what: 'five polls without change' },
    );

    expect([...delays.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    const d = (attempts: number) => delays.get(attempts)!;
    // interval * 2^attempts with +-20% jitter, never below the interval nor above the cap.
    // attempts 1: 200 ms +-20%; from attempts 2 on, 2^attempts intervals exceed the cap: the cap, jittered down by at most 20%.
    expect(d(1)).toBeGreaterThanOrEqual(0.8 * 2 * INTERVAL_MS - 1);
    expect(d(1)).toBeLessThanOrEqual(1.2 * 2 * INTERVAL_MS + 1);
    for (const attempts of [2, 3, 4, 5]) {
      expect(d(attempts)).toBeGreaterThanOrEqual(0.8 * MAX_INTERVAL_MS - 1);
      expect(d(attempts)).toBeLessThanOrEqual(MAX_INTERVAL_MS + 1);
      expect(d(attempts)).toBeGreaterThan(d(1));
    }

    const stored = await visibleCheckout(t, checkout.id);
    expect(stored.status).toBe('PROCESSING');
    expect(stored.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING']);
    expect(provider.getCount(checkout.providerId)).toBeGreaterThanOrEqual(5);
  });

  it('Poller.backoffMs is exponential from the interval and capped, deterministic with a fixed random', () => {
    const config = loadConfig({ DATA_DIR: 'memory://' });
    const providers = createProviderCatalog(config, {
      SMARTCHECKOUT: provider.url,
      PAYERVAULT: provider.url,
      STAN: provider.url,
    });
    const pubsub: CheckoutPubSub = createCheckoutPubSub();
    const logger = createLogger('silent');
    const lifecycle = new CheckoutLifecycle({
      store: repository,
      publisher: changePublisher(pubsub),
      isPolled: hasStatusEndpoint,
      logger,
    });
    const service = new CheckoutService({ store: repository, providers, lifecycle, pollIntervalMs: 100, logger });
    const make = (random: () => number) =>
      new Poller(repository, service, lifecycle, logger, {
        instanceId: 'backoff-test',
        intervalMs: 100,
        maxIntervalMs: 1_000,
        leaseMs: 5_000,
        maxAnswerErrors: 10,
        random,
      });

    const middle = make(() => 0.5);
    expect([0, 1, 2, 3, 4, 5, 10, 40].map((attempts) => middle.backoffMs(attempts))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
    // The jitter stays within +-20% and never leaves [interval, cap]; at the cap it can only shorten.
    const low = make(() => 0);
    expect([0, 1, 2, 3, 4, 40].map((attempts) => low.backoffMs(attempts))).toEqual([100, 160, 320, 640, 800, 800]);
    const high = make(() => 0.999_999);
    expect([0, 1, 2, 3].map((attempts) => high.backoffMs(attempts))).toEqual([120, 240, 480, 960]);
    expect(high.backoffMs(4)).toBe(1000);
  });

  it('backs off on a provider error without changing the status, honouring Retry-After, then recovers', async () => {
    let failing = true;
    // Every status GET fails until recovery (the override is on before the checkout exists).
    provider.override = () =>
      failing ? { status: 503, headers: { 'retry-after': '2' }, body: { message: 'Service Unavailable' } } : undefined;
    onTestFinished(() => {
      provider.override = undefined;
    });
    const checkout = await createPolledPurchase(t, 'sandbox_after_polls=1');
    await waitFor(async () => Boolean((await repository.pollScheduleOf(checkout.rowId))?.lastError), {
      what: 'the failed poll to be recorded',
    });
    const schedule = (await repository.pollScheduleOf(checkout.rowId))!;
    expect(schedule.lastError).toContain('503');
    expect(schedule.attempts).toBe(1);
    expect(schedule.leaseOwner).toBeNull();
    // Retry-After: 2 beats the backoff (about 200 ms here).
    expect(gap(schedule.nextPollAt, schedule.lastPolledAt)).toBeGreaterThanOrEqual(1_999);
    expect(provider.getCount(checkout.providerId)).toBe(1);

    const during = await visibleCheckout(t, checkout.id);
    expect(during.status).toBe('PROCESSING');
    expect(during.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING']);

    failing = false;
    await waitFor(async () => (await visibleCheckout(t, checkout.id)).status === 'COMPLETED', {
      what: 'the checkout to complete after recovery',
    });
    expect(await repository.pollScheduleOf(checkout.rowId)).toBeUndefined();
    const times = provider.getTimes(checkout.providerId);
    expect(times).toHaveLength(2);
    // The retry did not come before the provider asked (a lower bound, not a duration claim).
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1_900);
    const after = await visibleCheckout(t, checkout.id);
    expect(after.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
  });
});

describe('the poller driven one round at a time (leases, repeated answers)', () => {
  let provider: GatedSmartcheckout;
  beforeAll(async () => {
    provider = await startGatedSmartcheckout();
    // A beforeAll's clean-up runs after the block's afterAll hooks: once the app has stopped.
    return () => provider.close();
  });
  // POLLER off: the test calls pollDue(), the poller loop's own round, when it wants one.
  const t = useTestApp(() => ({ POLL_INTERVAL_MS: String(INTERVAL_MS), ...smartcheckoutThrough(provider) }), {
    isolate: 'leases',
  });
  let repository: CheckoutRepository;
  beforeEach(() => {
    repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
  });

  /** Sets a schedule's lease and makes it due now. */
  async function lease(checkoutRowId: string, owner: string, expiresIn: '-1 second' | '1 hour') {
    await t.app.database.db.execute(sql`
      update poll_schedules
      set lease_owner = ${owner}, lease_expires_at = now() + ${expiresIn}::interval, next_poll_at = now() - interval '1 second'
      where checkout_id = ${checkoutRowId}`);
  }

  it('takes over a lease whose owner died, and leaves a live lease alone until it expires', async () => {
    const orphaned = await createPolledPurchase(t, 'sandbox_after_polls=1');
    const leased = await createPolledPurchase(t, 'sandbox_after_polls=1');
    await lease(orphaned.rowId, 'crashed-instance', '-1 second');
    await lease(leased.rowId, 'live-instance', '1 hour');

    expect(await t.app.poller.pollDue()).toBe(1);
    expect(provider.getCount(orphaned.providerId)).toBe(1);
    expect((await visibleCheckout(t, orphaned.id)).status).toBe('COMPLETED');
    expect(await repository.pollScheduleOf(orphaned.rowId)).toBeUndefined();

    expect(provider.getCount(leased.providerId)).toBe(0);
    expect((await repository.pollScheduleOf(leased.rowId))?.leaseOwner).toBe('live-instance');
    expect(await t.app.poller.pollDue()).toBe(0);
    expect(provider.getCount(leased.providerId)).toBe(0);
    expect((await visibleCheckout(t, leased.id)).status).toBe('PROCESSING');

    // Once the live owner's lease lapses, it is taken over too.
    await lease(leased.rowId, 'live-instance', '-1 second');
    expect(await t.app.poller.pollDue()).toBe(1);
    expect(provider.getCount(leased.providerId)).toBe(1);
    expect((await visibleCheckout(t, leased.id)).status).toBe('COMPLETED');
  });

  it('writes a provider answer once: a word-for-word repeat only moves the schedule; a new answer, or the first after a refresh, is written', async () => {
    const checkout = await createPolledPurchase(t, 'sandbox_after_polls=1000');
    const makeDue = () =>
      t.app.database.db.execute(
        sql`update poll_schedules set next_poll_at = now() - interval '1 second' where checkout_id = ${checkout.rowId}`,
      );
    const pollOnce = async () => {
      await makeDue();
      expect(await t.app.poller.pollDue()).toBe(1);
    };
    const stored = () => visibleCheckout(t, checkout.id);

    await pollOnce(); // the first answer after the create: it adds nothing to the row, only its fingerprint is kept
    const first = await stored();
    const firstHash = (await repository.pollScheduleOf(checkout.rowId))!.lastAnswerHash;
    expect(firstHash).toBeTruthy();

    await pollOnce(); // the same answer again: only the schedule moves
    expect(provider.getCount(checkout.providerId)).toBe(2);
    expect((await repository.pollScheduleOf(checkout.rowId))!.attempts).toBe(2);
    expect((await stored()).updatedAt).toBe(first.updatedAt);

    // A different answer (same status, new notes) is written, and becomes the one to compare with.
    const answer = (await (
      await fetch(`${provider.url}/v0/checkout/${checkout.providerId}`, {
        headers: { authorization: `Bearer ${provider.apiKey}` },
      })
    ).json()) as Record<string, unknown>;
    provider.override = (id) =>
      id === checkout.providerId ? { status: 200, body: { ...answer, notes: 'Waiting for the merchant' } } : undefined;
    onTestFinished(() => {
      provider.override = undefined;
    });
    await pollOnce();
    const changed = await stored();
    expect(changed.notes).toBe('Waiting for the merchant');
    expect(changed.updatedAt).not.toBe(first.updatedAt);
    const secondHash = (await repository.pollScheduleOf(checkout.rowId))!.lastAnswerHash;
    expect(secondHash).toBeTruthy();
    expect(secondHash).not.toBe(firstHash);

    // A refresh writes another answer outside the poller; when the provider then goes back to the
    // poller's last answer, that answer is written again: the refresh cleared the fingerprint, and
    // a row written since the claim is never skipped.
    let notes = 'Refreshed by an operator';
    provider.override = (id) => (id === checkout.providerId ? { status: 200, body: { ...answer, notes } } : undefined);
    const refreshed = await t.request(RefreshCheckoutDocument, { id: checkout.id });
    expect(expectType(refreshed.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout.notes).toBe(
      'Refreshed by an operator',
    );
    expect((await repository.pollScheduleOf(checkout.rowId))!.lastAnswerHash).toBeNull();
    notes = 'Waiting for the merchant';
    await pollOnce();
    expect((await stored()).notes).toBe('Waiting for the merchant');
    expect((await repository.pollScheduleOf(checkout.rowId))!.lastAnswerHash).toBe(secondHash);
  });
});

describe('stopping an instance', () => {
  it('gives back the leases it holds, and only those', { timeout: 60_000 }, async () => {
    const database = await isolatedDatabase('stop');
    onTestFinished(() => database.drop());
    const dataDir = database.url ? undefined : await mkdtemp(join(tmpdir(), 'checkout-graph-poller-'));
    if (dataDir) onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const provider = await startGatedSmartcheckout();
    onTestFinished(() => provider.close());
    // Started by hand: the test stops it itself and reads what the stop left behind.
    const t = await startTestApp({
      ...POLL,
      DATABASE_URL: database.url,
      ...(dataDir && { DATA_DIR: dataDir }),
      PROVIDER_TIMEOUT_MS: '10000',
      ...smartcheckoutThrough(provider),
    });
    let stopped = false;
    onTestFinished(async () => {
      if (!stopped) {
        provider.allowAll();
        await t.stop();
      }
    });
    const repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
    provider.holdNew = true;
    const inFlight = await createPolledPurchase(t, 'sandbox_after_polls=1000');
    provider.holdNew = false;
    // Its GET is held, so the lease is visible: that owner is this instance.
    await waitFor(async () => provider.getCount(inFlight.providerId) === 1, {
      what: 'the first poll to reach the provider',
    });
    const owner = (await repository.pollScheduleOf(inFlight.rowId))!.leaseOwner;
    expect(owner).toBeTruthy();

    // Two more schedules leased far into the future: one by this instance, one by another.
    provider.holdNew = true;
    const ours = await createPolledPurchase(t, 'sandbox_after_polls=1000');
    const theirs = await createPolledPurchase(t, 'sandbox_after_polls=1000');
    provider.holdNew = false;
    for (const [checkout, leaseOwner] of [
      [ours, owner!],
      [theirs, 'other-instance'],
    ] as const) {
      await t.app.database.db.execute(sql`
        update poll_schedules
        set lease_owner = ${leaseOwner}, lease_expires_at = now() + interval '1 hour', next_poll_at = now() + interval '1 hour'
        where checkout_id = ${checkout.rowId}`);
    }

    // The held poll is abandoned by the stop (its request aborted), not waited for.
    await t.stop();
    provider.allowAll();
    stopped = true;

    const reopened = await openDatabase({ databaseUrl: database.url, dataDir: dataDir ?? 'memory://' });
    onTestFinished(() => reopened.close());
    const after = new CheckoutRepository(reopened.db, statusChangedPayload);
    const [a, b, c] = await Promise.all(
      [inFlight, ours, theirs].map((checkout) => after.pollScheduleOf(checkout.rowId)),
    );
    // Handed back due at once, its attempts unchanged: the abandoned poll does not count.
    expect(a).toMatchObject({ leaseOwner: null, leaseExpiresAt: null, attempts: 0, lastError: null });
    expect(a!.nextPollAt.getTime()).toBeLessThanOrEqual(Date.now());
    expect(b).toMatchObject({ leaseOwner: null, leaseExpiresAt: null });
    expect(c!.leaseOwner).toBe('other-instance');
    expect(c!.leaseExpiresAt).not.toBeNull();
  });
});

const SHARED_POSTGRES = Boolean(process.env.DATABASE_URL);
if (!SHARED_POSTGRES) {
  console.log(
    'poller.test.ts: "two instances poll each checkout exactly once" skipped: it needs a shared PostgreSQL (set DATABASE_URL).',
  );
}

describe.runIf(SHARED_POSTGRES)('two instances sharing PostgreSQL', () => {
  it('poll each checkout exactly once per due time and never after its terminal status', {
    timeout: 60_000,
  }, async () => {
    const database = await isolatedDatabase('instances');
    onTestFinished(() => database.drop());
    const provider = await startGatedSmartcheckout();
    onTestFinished(() => provider.close());
    const env = { ...POLL, DATABASE_URL: database.url, ...smartcheckoutThrough(provider) };
    const apps = [await startScopedTestApp(env), await startScopedTestApp(env)];
    const [first] = apps as [TestApp, TestApp];
    const checkouts = await Promise.all(
      Array.from({ length: 20 }, () => createPolledPurchase(first, 'sandbox_after_polls=3')),
    );
    const repository = new CheckoutRepository(first.app.database.db, statusChangedPayload);

    await waitFor(
      async () => {
        const schedules = await Promise.all(checkouts.map((checkout) => repository.pollScheduleOf(checkout.rowId)));
        return schedules.every((schedule) => schedule === undefined);
      },
      { what: 'every checkout to reach its terminal status', timeoutMs: 30_000 },
    );
    // A few backoff caps later: any GET after a terminal status would show now.
    await pause(3 * MAX_INTERVAL_MS);

    for (const checkout of checkouts) {
      expect((await visibleCheckout(first, checkout.id)).status).toBe('COMPLETED');
      const times = provider.getTimes(checkout.providerId);
      expect(times, checkout.id).toHaveLength(3);
      // Two instances polling one due time would show as two GETs milliseconds apart.
      for (let index = 1; index < times.length; index++) {
        expect(times[index]! - times[index - 1]!, checkout.id).toBeGreaterThanOrEqual(INTERVAL_MS / 2);
      }
    }
    const polls = apps.map((app) => app.app.poller.stats.polls);
    expect(polls[0]! + polls[1]!).toBe(60);
    console.log(`poller.test.ts: polls per instance ${polls.join(' + ')}`);
  });
});
