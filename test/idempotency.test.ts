import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkouts } from '../src/db/schema.js';
import {
  CreateSmartCheckoutDocument,
  CreateStanCheckoutDocument,
  type CreateSmartCheckoutInput,
  type CreateStanCheckoutInput,
} from './generated/graphql.js';
import { expectType, isolatedDatabase, useTestApp, type TestApp } from './support/app.js';
import { pause } from './support/async.js';
import { providersAt } from './support/env.js';
import { rowIdOf } from './support/ids.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from './support/recording-server.js';
import { checkoutOf, clean, listedIds, payerVaultResult, smartInput, smartResult, stanResult } from './support/seed.js';

/*
 * Idempotency keys end to end over HTTP, against a recording server that stands in for the three
 * providers and counts what reaches them: concurrent duplicates (one instance, and two instances
 * sharing PostgreSQL), replay of results and typed errors, key reuse, tenants, pruning, and
 * ambiguous creates. Every claim is a count of provider requests or of rows, never a timing.
 */

const SMART_ID = '5f1d8f34-2f5e-4c36-9d0b-0d6f2c1b7a11';
const STAN_ID = 'stan_co_idem_1';
const PAYERVAULT_URL = 'https://pay.example/checkout/idem';
/** One customer for every PayerVault create here: a replay must send the very same input. */
const CUSTOMER_ID = 'cust-idem';

type Recorder = Awaited<ReturnType<typeof startRecordingServer>>;

/** Follows the three providers' documents: Smartcheckout processing, a Stan session, a PayerVault link. */
function providerDocs(delayMs = 0) {
  return (request: RecordedRequest): CannedResponse => {
    if (request.method === 'POST' && request.path === '/v0/checkout') {
      return { status: 200, body: { checkout_id: SMART_ID, status: 'processing' }, delayMs };
    }
    if (request.method === 'GET' && request.path === `/v0/checkout/${SMART_ID}`) {
      return { status: 200, body: { id: SMART_ID, status: 'processing' }, delayMs };
    }
    if (request.method === 'POST' && request.path === '/v1/checkouts') {
      return { status: 200, body: { id: STAN_ID, is_testmode: false, merchant: { name: 'Idem Store' } }, delayMs };
    }
    if (request.method === 'GET' && request.path.startsWith('/api/v1/checkout-link/')) {
      return { status: 200, body: { url: PAYERVAULT_URL }, delayMs };
    }
    return { status: 404, body: { message: 'not found' } };
  };
}

const countOf = (recorder: Recorder, method: string, path: string | RegExp) =>
  recorder.requests.filter(
    (r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
  ).length;
const smartPosts = (recorder: Recorder) => countOf(recorder, 'POST', '/v0/checkout');
const stanPosts = (recorder: Recorder) => countOf(recorder, 'POST', '/v1/checkouts');
const payerVaultGets = (recorder: Recorder) => countOf(recorder, 'GET', /^\/api\/v1\/checkout-link\//);

/** Rows of any tenant holding this key (keys are random per test, so this is exactly ours). */
async function rowsWithKey(t: TestApp, key: string) {
  return t.app.database.db.select().from(checkouts).where(eq(checkouts.idempotencyKey, key));
}

/** One create's result union, as far as these checks read it. */
interface CreateResult {
  __typename?: string;
  checkout?: { id: string; status: string };
  code?: string;
  idempotencyKey?: string;
  retryable?: boolean;
  checkoutId?: string | null;
}

/**
 * Checks the answers to concurrent duplicates: each caller gets either the one checkout, settled
 * (`successType`), or IdempotencyKeyInUseError, retryable and naming that checkout, when it arrived
 * while the first call was still at the provider (Stripe's 409 for a request in flight). Returns
 * the checkout's id.
 */
function expectOneCheckout(results: CreateResult[], successType: string, settled: string[], key: string) {
  const successes = results.filter((r) => r.__typename === successType);
  const inUse = results.filter((r) => r.__typename === 'IdempotencyKeyInUseError');
  expect(successes.length + inUse.length, JSON.stringify(results.map((r) => r.__typename))).toBe(results.length);
  // The first call answers with its own checkout.
  expect(successes.length).toBeGreaterThanOrEqual(1);
  const ids = new Set(successes.map((r) => r.checkout!.id));
  expect(ids.size).toBe(1);
  const id = [...ids][0]!;
  // A success is an answer: never the PENDING row of a call still deciding.
  for (const result of successes) expect(settled).toContain(result.checkout!.status);
  // The calls did overlap: some arrived while the first was still at the provider...
  expect(inUse.length).toBeGreaterThan(0);
  // ...and were told to retry, and which checkout to watch meanwhile.
  for (const error of inUse) {
    expect(error).toMatchObject({
      code: 'IDEMPOTENCY_KEY_IN_USE',
      retryable: true,
      idempotencyKey: key,
      checkoutId: id,
    });
  }
  return id;
}

describe('100 concurrent duplicates on one instance', () => {
  let recorder: Recorder;
  beforeAll(async () => {
    // The provider answers after 300 ms, so the 100 calls overlap the first one's provider call.
    recorder = await startRecordingServer(providerDocs(300));
  });
  afterAll(async () => {
    await recorder?.close();
  });
  // The winner reads the provider's answer while 99 duplicates keep the event loop and PGlite busy:
  // on a loaded machine that took over the default 2 s test budget (a timeout, not a duplicate), so
  // this block gives provider calls 10 s.
  const t = useTestApp(() => providersAt(recorder.url, { PROVIDER_TIMEOUT_MS: '10000' }));
  beforeEach(() => {
    recorder.requests.length = 0;
  });

  it('Smartcheckout: one POST, one checkout, every caller gets it or is told to retry', async () => {
    const key = `smart-${randomUUID()}`;
    const before = await listedIds(t);
    const results = await Promise.all(Array.from({ length: 100 }, () => smartResult(t, { idempotencyKey: key })));
    const id = expectOneCheckout(results, 'CreateSmartCheckoutSuccess', ['PROCESSING'], key);
    expect(smartPosts(recorder)).toBe(1);
    expect(recorder.requests).toHaveLength(1);
    expect(await rowsWithKey(t, key)).toHaveLength(1);
    const after = await listedIds(t);
    expect(after.filter((listed) => !before.includes(listed))).toEqual([id]);
    // Once settled, the key answers the settled checkout, still without a provider call.
    const replay = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess');
    expect(replay.checkout).toMatchObject({ id, status: 'PROCESSING', providerCheckoutId: SMART_ID });
    expect(smartPosts(recorder)).toBe(1);
  });

  it('Stan: one POST, one checkout, every caller gets it or is told to retry', async () => {
    const key = `stan-${randomUUID()}`;
    const before = await listedIds(t);
    const results = await Promise.all(Array.from({ length: 100 }, () => stanResult(t, { idempotencyKey: key })));
    const id = expectOneCheckout(results, 'CreateStanCheckoutSuccess', ['OPEN'], key);
    expect(stanPosts(recorder)).toBe(1);
    expect(recorder.requests).toHaveLength(1);
    expect(await rowsWithKey(t, key)).toHaveLength(1);
    expect((await listedIds(t)).filter((listed) => !before.includes(listed))).toEqual([id]);
    const replay = expectType(await stanResult(t, { idempotencyKey: key }), 'CreateStanCheckoutSuccess');
    expect(replay.checkout).toMatchObject({ id, status: 'OPEN', providerCheckoutId: STAN_ID });
    expect(stanPosts(recorder)).toBe(1);
  });

  it('PayerVault: one link GET, one checkout, every caller gets it or is told to retry', async () => {
    const key = `pv-${randomUUID()}`;
    const before = await listedIds(t);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => payerVaultResult(t, { customerId: CUSTOMER_ID, idempotencyKey: key })),
    );
    const id = expectOneCheckout(results, 'CreatePayerVaultCheckoutSuccess', ['OPEN'], key);
    expect(payerVaultGets(recorder)).toBe(1);
    expect(recorder.requests).toHaveLength(1);
    expect(await rowsWithKey(t, key)).toHaveLength(1);
    expect((await listedIds(t)).filter((listed) => !before.includes(listed))).toEqual([id]);
    const replay = expectType(
      await payerVaultResult(t, { customerId: CUSTOMER_ID, idempotencyKey: key }),
      'CreatePayerVaultCheckoutSuccess',
    );
    expect(replay.checkout).toMatchObject({ id, status: 'OPEN', checkoutUrl: PAYERVAULT_URL });
    expect(payerVaultGets(recorder)).toBe(1);
  });
});

if (!process.env.DATABASE_URL) {
  console.log(
    'idempotency.test.ts: the two-instance test needs PostgreSQL (two processes cannot share a PGlite); set DATABASE_URL to run it.',
  );
}

describe.runIf(Boolean(process.env.DATABASE_URL))('duplicates spread across two instances sharing PostgreSQL', () => {
  let recorder: Recorder;
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  const apiKey = `key-x-${randomUUID()}`;
  const tenant = `tenant-x-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    recorder = await startRecordingServer(providerDocs(300));
    database = await isolatedDatabase('idempotency');
  });
  // Runs after both apps stopped (after-hooks run in reverse order), so nothing holds the database.
  afterAll(async () => {
    await recorder?.close();
    await database?.drop();
  });
  const env = () => providersAt(recorder.url, { DATABASE_URL: database.url!, API_KEYS: `${tenant}:${apiKey}` });
  const first = useTestApp(env);
  const second = useTestApp(env);
  beforeEach(() => {
    recorder.requests.length = 0;
  });

  it('Smartcheckout: 50 calls to each instance at once make one POST and one checkout', async () => {
    const key = `two-smart-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => smartResult(i % 2 ? second : first, { idempotencyKey: key }, { apiKey })),
    );
    const id = expectOneCheckout(results, 'CreateSmartCheckoutSuccess', ['PROCESSING'], key);
    expect(smartPosts(recorder)).toBe(1);
    expect(recorder.requests).toHaveLength(1);
    const rows = await rowsWithKey(first, key);
    expect(rows.map((row) => row.tenant)).toEqual([tenant]);
    expect(await listedIds(first, { apiKey })).toEqual([id]);
    expect(await listedIds(second, { apiKey })).toEqual([id]);
  });

  it('Stan: 50 calls to each instance at once make one POST and one checkout', async () => {
    const key = `two-stan-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => stanResult(i % 2 ? first : second, { idempotencyKey: key }, { apiKey })),
    );
    const id = expectOneCheckout(results, 'CreateStanCheckoutSuccess', ['OPEN'], key);
    expect(stanPosts(recorder)).toBe(1);
    expect(recorder.requests).toHaveLength(1);
    expect(await rowsWithKey(second, key)).toHaveLength(1);
    expect(await listedIds(second, { apiKey })).toContain(id);
  });
});

describe('replay, reuse, tenants and pruning', () => {
  let recorder: Recorder;
  let respond: (request: RecordedRequest) => CannedResponse;
  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
  });
  afterAll(async () => {
    await recorder?.close();
  });
  const t = useTestApp(() => providersAt(recorder.url));
  beforeEach(() => {
    recorder.requests.length = 0;
    respond = providerDocs();
  });

  it('the same key and input after completion returns the original checkout without a provider call', async () => {
    const key = `done-${randomUUID()}`;
    const original = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
    expect(smartPosts(recorder)).toBe(1);
    for (let i = 0; i < 3; i++) {
      const replay = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
      expect(replay).toEqual(original);
    }
    expect(recorder.requests).toHaveLength(1);

    const stan = expectType(
      await stanResult(t, { idempotencyKey: `done-stan-${key}` }),
      'CreateStanCheckoutSuccess',
    ).checkout;
    const stanAgain = expectType(
      await stanResult(t, { idempotencyKey: `done-stan-${key}` }),
      'CreateStanCheckoutSuccess',
    ).checkout;
    expect(stanAgain.id).toBe(stan.id);
    expect(stanPosts(recorder)).toBe(1);
  });

  it('the same key with another input is IdempotencyKeyReuseError, with no provider call and no row', async () => {
    const key = `reuse-${randomUUID()}`;
    const original = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
    const before = await listedIds(t);
    recorder.requests.length = 0;
    const variants: CreateSmartCheckoutInput[] = [
      smartInput({ idempotencyKey: key, prompt: 'Size L' }),
      smartInput({ idempotencyKey: key, email: 'other@example.com' }),
      smartInput({ idempotencyKey: key, userData: { gift: true } }),
    ];
    for (const input of variants) {
      const reuse = expectType(await smartResult(t, input), 'IdempotencyKeyReuseError');
      expect(reuse).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSE', idempotencyKey: key });
    }
    // Another provider under the same key is another input too.
    expectType(await payerVaultResult(t, { customerId: CUSTOMER_ID, idempotencyKey: key }), 'IdempotencyKeyReuseError');
    expectType(await stanResult(t, { idempotencyKey: key }), 'IdempotencyKeyReuseError');
    expect(recorder.requests).toEqual([]);
    expect(await listedIds(t)).toEqual(before);
    // The original still replays.
    expect(expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout.id).toBe(
      original.id,
    );
  });

  it('replays a provider rejection (400) as the same ProviderError without a provider call, even once the provider recovers', async () => {
    const key = `rejected-${randomUUID()}`;
    respond = (request) =>
      request.method === 'POST'
        ? { status: 400, body: { message: 'url is not a product page' } }
        : providerDocs()(request);
    const first = expectType(await smartResult(t, { idempotencyKey: key }), 'ProviderError');
    expect(first).toMatchObject({
      provider: 'SMARTCHECKOUT',
      retryable: false,
      httpStatus: 400,
      providerMessage: 'url is not a product page',
    });
    expect(smartPosts(recorder)).toBe(1);
    const [row] = await rowsWithKey(t, key);
    expect(row).toMatchObject({ status: 'FAILED' });

    respond = providerDocs();
    const replay = expectType(await smartResult(t, { idempotencyKey: key }), 'ProviderError');
    expect(replay).toEqual(first);
    expect(smartPosts(recorder)).toBe(1);
    expect(await rowsWithKey(t, key)).toHaveLength(1);
  });

  it("replays PayerVault's empty cart as the same EmptyCartError without a provider call", async () => {
    const key = `empty-${randomUUID()}`;
    respond = () => ({ status: 404, body: { message: 'No products in cart' } });
    const first = expectType(
      await payerVaultResult(t, { customerId: 'cust-empty', idempotencyKey: key }),
      'EmptyCartError',
    );
    expect(first).toMatchObject({
      code: 'EMPTY_CART',
      customerId: 'cust-empty',
      providerMessage: 'No products in cart',
    });
    expect(payerVaultGets(recorder)).toBe(1);

    respond = providerDocs();
    const replay = expectType(
      await payerVaultResult(t, { customerId: 'cust-empty', idempotencyKey: key }),
      'EmptyCartError',
    );
    expect(replay).toEqual(first);
    expect(payerVaultGets(recorder)).toBe(1);
    const rows = await rowsWithKey(t, key);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('FAILED');
    // Another customer under the same key is another input.
    expectType(await payerVaultResult(t, { customerId: 'cust-full', idempotencyKey: key }), 'IdempotencyKeyReuseError');
    expect(recorder.requests).toHaveLength(1);
  });

  it('the order of keys in the input does not matter', async () => {
    // Sent exactly as written: smartInput and stanInput would put their own keys first.
    const createSmartAsWritten = async (input: CreateSmartCheckoutInput) =>
      clean(await t.request(CreateSmartCheckoutDocument, { input })).createSmartCheckout;
    const createStanAsWritten = async (input: CreateStanCheckoutInput) =>
      clean(await t.request(CreateStanCheckoutDocument, { input })).createStanCheckout;
    const key = `order-${randomUUID()}`;
    const original = expectType(
      await createSmartAsWritten({
        idempotencyKey: key,
        productUrl: 'https://shop.example/p/order',
        email: 'order@example.com',
        prompt: 'Blue',
        userData: { a: 1, nested: { x: [1, 2], y: 'z' } },
        shippingAddress: { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
      }),
      'CreateSmartCheckoutSuccess',
    ).checkout;
    const reordered = expectType(
      await createSmartAsWritten({
        shippingAddress: { country: 'FR', postalCode: '75001', city: 'Paris', line1: '1 Main St' },
        userData: { nested: { y: 'z', x: [1, 2] }, a: 1 },
        prompt: 'Blue',
        email: 'order@example.com',
        productUrl: 'https://shop.example/p/order',
        idempotencyKey: key,
      }),
      'CreateSmartCheckoutSuccess',
    ).checkout;
    expect(reordered.id).toBe(original.id);
    // Array order is content, though: a reordered array is another input.
    expectType(
      await createSmartAsWritten({
        idempotencyKey: key,
        productUrl: 'https://shop.example/p/order',
        email: 'order@example.com',
        prompt: 'Blue',
        userData: { a: 1, nested: { x: [2, 1], y: 'z' } },
        shippingAddress: { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' },
      }),
      'IdempotencyKeyReuseError',
    );

    const stanKey = `order-stan-${randomUUID()}`;
    const stan = expectType(
      await createStanAsWritten({
        idempotencyKey: stanKey,
        returnUrl: 'https://r.example',
        discountAmount: 100,
        lineItems: [{ productId: 'p', quantity: 1, unitPrice: 500, sku: 's' }],
      }),
      'CreateStanCheckoutSuccess',
    ).checkout;
    const stanAgain = expectType(
      await createStanAsWritten({
        lineItems: [{ sku: 's', unitPrice: 500, quantity: 1, productId: 'p' }],
        discountAmount: 100,
        returnUrl: 'https://r.example',
        idempotencyKey: stanKey,
      }),
      'CreateStanCheckoutSuccess',
    ).checkout;
    expect(stanAgain.id).toBe(stan.id);
    expect(smartPosts(recorder)).toBe(1);
    expect(stanPosts(recorder)).toBe(1);
  });

  it('the same key in another tenant is independent', async () => {
    const key = `tenant-${randomUUID()}`;
    const asA = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
    // Same key, same input, tenant b: a checkout of its own, and a provider call of its own.
    const asB = expectType(
      await smartResult(t, { idempotencyKey: key }, { apiKey: t.keys.b }),
      'CreateSmartCheckoutSuccess',
    ).checkout;
    expect(asB.id).not.toBe(asA.id);
    expect(smartPosts(recorder)).toBe(2);
    // Different input in b under a's key: no IdempotencyKeyReuseError leaks a's use of it.
    const otherB = await smartResult(t, { idempotencyKey: `${key}-b`, prompt: 'b' }, { apiKey: t.keys.b });
    expectType(otherB, 'CreateSmartCheckoutSuccess');
    // Each tenant replays its own.
    expect(expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout.id).toBe(
      asA.id,
    );
    expect(
      expectType(await smartResult(t, { idempotencyKey: key }, { apiKey: t.keys.b }), 'CreateSmartCheckoutSuccess')
        .checkout.id,
    ).toBe(asB.id);
    expect(smartPosts(recorder)).toBe(3);
    const rows = await rowsWithKey(t, key);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((row) => row.tenant)).size).toBe(2);
  });

  it('keeps a key younger than the TTL through maintenance, and frees it once pruned while the old checkout stays', async () => {
    const key = `prune-${randomUUID()}`;
    const original = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
    const rowId = rowIdOf(original.id);

    await t.app.maintenance.runOnce();
    const kept = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
    expect(kept.id).toBe(original.id);
    expect(smartPosts(recorder)).toBe(1);

    // 25 hours old: past the 24-hour TTL.
    await t.app.database.db
      .update(checkouts)
      .set({ createdAt: sql`${checkouts.createdAt} - interval '25 hours'` })
      .where(eq(checkouts.id, rowId));
    const { prunedKeys } = await t.app.maintenance.runOnce();
    expect(prunedKeys).toBeGreaterThanOrEqual(1);
    const [pruned] = await t.app.database.db.select().from(checkouts).where(eq(checkouts.id, rowId));
    expect(pruned).toMatchObject({ idempotencyKey: null, requestHash: null, status: 'PROCESSING' });

    // The key is free again: a NEW checkout, with a provider call; the old one is still there.
    const fresh = expectType(await smartResult(t, { idempotencyKey: key }), 'CreateSmartCheckoutSuccess').checkout;
    expect(fresh.id).not.toBe(original.id);
    expect(smartPosts(recorder)).toBe(2);
    const old = await checkoutOf(t, original.id);
    expect(old).toMatchObject({ id: original.id, status: 'PROCESSING' });
    const rows = await t.app.database.db
      .select()
      .from(checkouts)
      .where(and(eq(checkouts.tenant, pruned!.tenant), eq(checkouts.idempotencyKey, key)));
    expect(rows.map((row) => row.id)).toEqual([rowIdOf(fresh.id)]);
  });
});

describe('ambiguous creates', () => {
  const TIMEOUT_MS = 300;
  let recorder: Recorder;
  let respond: (request: RecordedRequest) => CannedResponse;
  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
  });
  afterAll(async () => {
    await recorder?.close();
  });
  const t = useTestApp(() => providersAt(recorder.url, { PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS) }));
  beforeEach(() => {
    recorder.requests.length = 0;
  });

  async function expectUnknownAndReplayed<R extends { __typename?: string }>(
    create: () => Promise<R>,
    posts: () => number,
    key: string,
    expected: Record<string, unknown>,
  ) {
    const before = await listedIds(t);
    const first = expectType(await create(), 'ProviderError');
    // Not retryable: the provider may have acted, and a retry under a new key could buy twice.
    expect(first).toMatchObject({ code: 'PROVIDER_ERROR', retryable: false, ...expected });
    expect(posts()).toBe(1);
    const created = (await listedIds(t)).filter((id) => !before.includes(id));
    expect(created).toHaveLength(1);
    const checkout = (await checkoutOf(t, created[0]!))!;
    expect(checkout.status).toBe('UNKNOWN');
    expect(checkout.notes).toMatch(/may have created the checkout/);
    expect(checkout.events.map((e) => e.status)).toEqual(['PENDING', 'UNKNOWN']);

    // Even once the provider is healthy, the retry replays the error and POSTs nothing.
    respond = providerDocs();
    const retried = expectType(await create(), 'ProviderError');
    expect(retried).toEqual(first);
    expect(posts()).toBe(1);
    expect(await rowsWithKey(t, key)).toHaveLength(1);
    expect(await listedIds(t)).toEqual([...created, ...before]);
  }

  it('Smartcheckout POST that times out: UNKNOWN, replayed, never POSTed again', async () => {
    respond = (request) => ({ ...providerDocs()(request), delayMs: TIMEOUT_MS + 700 });
    const key = `timeout-${randomUUID()}`;
    await expectUnknownAndReplayed(
      () => smartResult(t, { idempotencyKey: key }),
      () => smartPosts(recorder),
      key,
      {
        provider: 'SMARTCHECKOUT',
        httpStatus: null,
      },
    );
  });

  it('Smartcheckout POST answered 502: UNKNOWN, replayed, never POSTed again', async () => {
    respond = () => ({ status: 502, body: { message: 'Bad gateway' } });
    const key = `502-${randomUUID()}`;
    await expectUnknownAndReplayed(
      () => smartResult(t, { idempotencyKey: key }),
      () => smartPosts(recorder),
      key,
      {
        provider: 'SMARTCHECKOUT',
        httpStatus: 502,
        providerMessage: 'Bad gateway',
      },
    );
  });

  it('Stan POST that times out: UNKNOWN, replayed, never POSTed again', async () => {
    respond = (request) => ({ ...providerDocs()(request), delayMs: TIMEOUT_MS + 700 });
    const key = `stan-timeout-${randomUUID()}`;
    await expectUnknownAndReplayed(
      () => stanResult(t, { idempotencyKey: key }),
      () => stanPosts(recorder),
      key,
      {
        provider: 'STAN',
        httpStatus: null,
      },
    );
  });
});

describe('a create that never reached the provider', () => {
  let recorder: Recorder;
  let respond: (request: RecordedRequest) => CannedResponse;
  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
    respond = providerDocs();
  });
  afterAll(async () => {
    await recorder?.close();
  });
  // A breaker that opens after one outage and lets a probe through 200 ms later.
  const t = useTestApp(() =>
    providersAt(recorder.url, { PROVIDER_BREAKER_THRESHOLD: '1', PROVIDER_BREAKER_HALF_OPEN_MS: '200' }),
  );

  it('does not burn its key: once the breaker closes, a retry with the same key reaches the provider', async () => {
    respond = () => ({ status: 503, body: { message: 'down' } });
    expectType(await stanResult(t), 'ProviderError');
    expect(stanPosts(recorder)).toBe(1);

    const key = `never-sent-${randomUUID()}`;
    const failedFast = expectType(await stanResult(t, { idempotencyKey: key }), 'ProviderError');
    // Retryable, and provably nothing was sent.
    expect(failedFast).toMatchObject({ retryable: true, httpStatus: null });
    expect(stanPosts(recorder)).toBe(1);
    // Known in advance to reach nothing, so nothing was recorded: no row holds the key.
    expect(await rowsWithKey(t, key)).toEqual([]);

    respond = providerDocs();
    await pause(300);
    // "retryable: true" must mean something for a client that keeps its key (as it should):
    // the provider was never asked, so the retry asks it, exactly once.
    const retried = await stanResult(t, { idempotencyKey: key });
    expect(retried.__typename).toBe('CreateStanCheckoutSuccess');
    expect(stanPosts(recorder)).toBe(2);
  });
});
