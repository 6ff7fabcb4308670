import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { ApiKeyRepository } from '../src/db/api-keys.js';
import { CheckoutRepository } from '../src/db/repository.js';
import { checkoutEvents, checkouts } from '../src/db/schema.js';
import { startPayerVaultSandbox } from '../src/providers/payervault/sandbox.js';
import type { RunningSandbox } from '../src/providers/sandbox-http.js';
import { startSmartcheckoutSandbox } from '../src/providers/smartcheckout/sandbox.js';
import {
  CheckoutStatusChangedDocument,
  CreateStanCheckoutDocument,
  RecordCheckoutOutcomeDocument,
  type CheckoutStatus,
} from './generated/graphql.js';
import {
  DATABASE_KIND,
  expectType,
  isolatedDatabase,
  startScopedTestApp,
  useTestApp,
  type TestApp,
} from './support/app.js';
import { pause, waitFor } from './support/async.js';
import { rowIdOf } from './support/ids.js';
import { metricOf as metric } from './support/metrics.js';
import { createPayerVault, createSmart, createStan, sandboxProduct, visibleCheckout } from './support/seed.js';
import { startRecordingServer, type RecordedRequest } from './support/recording-server.js';
import { recordSubscription, scopedWsClient } from './support/subscriptions.js';
import { statusChangedPayload } from '../src/webhooks/events.js';

/*
 * Money and the checkout lifecycle end to end, over real HTTP against the built-in sandboxes or recording servers that
 * follow the providers' documents: amounts past 32 bits, provider answers that cannot be read,
 * polling that gives up instead of running forever, OPEN checkouts that expire, and outcomes the
 * merchant records for providers that cannot report one.
 */

/** A Smartcheckout purchase of a sandbox product with these scenario controls. */
const createSandboxPurchase = (t: TestApp, query: string) =>
  createSmart(t, { productUrl: sandboxProduct(query), email: 'ada@example.com' });
const createLink = (t: TestApp) => createPayerVault(t);

/** Log lines (parsed) with this message. */
const logsWith = (t: TestApp, msg: string) =>
  t.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === msg);

describe('amounts past 32 bits and unreadable answers, through the poller and a subscription', () => {
  const t = useTestApp(
    { POLLER: 'on', POLL_INTERVAL_MS: '100', POLL_MAX_INTERVAL_MS: '200' },
    { isolate: 'lifecycle_amounts' },
  );

  async function watchToTheEnd(id: string) {
    const client = scopedWsClient(t.url, t.keys.a!);
    const recording = recordSubscription(client, CheckoutStatusChangedDocument, { id });
    await recording.done;
    expect(recording.errors).toBeUndefined();
    expect(recording.completed).toBe(true);
    return recording.events.map((event) => event.checkoutStatusChanged);
  }

  it('completes a 25,000,000.00 IDR purchase with the exact total (2,500,000,000 minor units)', async () => {
    const checkout = await createSandboxPurchase(
      t,
      'sandbox_after_polls=2&sandbox_amount=25000000.00&sandbox_currency=IDR',
    );
    const events = await watchToTheEnd(checkout.id);
    expect(events.map((event) => event.status)).toEqual(['PROCESSING', 'COMPLETED']);
    expect(events.at(-1)!.total).toEqual({ amount: 2_500_000_000, decimal: '25000000.00', currency: 'IDR' });
    const stored = await visibleCheckout(t, checkout.id);
    expect(stored).toMatchObject({
      status: 'COMPLETED',
      total: { amount: 2_500_000_000, decimal: '25000000.00', currency: 'IDR' },
      notes: null,
    });
    const [row] = await t.app.database.db
      .select()
      .from(checkouts)
      .where(eq(checkouts.id, rowIdOf(checkout.id)));
    expect(row!.totalAmount).toBe(2_500_000_000);
  });

  it('carries the largest exact amount, 90,071,992,547,409.91 USD (2^53 - 1 minor units)', async () => {
    const checkout = await createSandboxPurchase(
      t,
      'sandbox_after_polls=1&sandbox_amount=90071992547409.91&sandbox_currency=USD',
    );
    const events = await watchToTheEnd(checkout.id);
    expect(events.at(-1)).toMatchObject({
      status: 'COMPLETED',
      total: { amount: Number.MAX_SAFE_INTEGER, decimal: '90071992547409.91' },
    });
  });

  it('records "49.999" USD as COMPLETED with total null, explained in notes and the event, counted once and logged once', async () => {
    const before = await metric(t, 'checkout_provider_answer_unreadable_total', { provider: 'SMARTCHECKOUT' });
    const checkout = await createSandboxPurchase(t, 'sandbox_after_polls=1&sandbox_amount=49.999&sandbox_currency=USD');
    const events = await watchToTheEnd(checkout.id);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ status: 'COMPLETED', total: null });
    expect(last.notes).toMatch(
      /amount could not be read exactly \("49.999" has more decimal places than USD allows \(2\)\); the total is left empty/,
    );
    const stored = await visibleCheckout(t, checkout.id);
    expect(stored.events.at(-1)).toMatchObject({ status: 'COMPLETED', source: 'smartcheckout', notes: last.notes });
    expect(stored.total).toBeNull();
    // Terminal: no schedule left, nothing polled forever.
    expect(
      await new CheckoutRepository(t.app.database.db, statusChangedPayload).pollScheduleOf(rowIdOf(checkout.id)),
    ).toBeUndefined();
    expect(await metric(t, 'checkout_provider_answer_unreadable_total', { provider: 'SMARTCHECKOUT' })).toBe(
      before + 1,
    );
    const warnings = logsWith(t, 'provider answer recorded with parts that could not be read exactly').filter(
      (line) => line.checkoutId === rowIdOf(checkout.id),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      provider: 'SMARTCHECKOUT',
      status: 'COMPLETED',
      unreadable: [expect.stringContaining('49.999')],
    });
  });

  it('records an unknown currency the same way: status kept, currency and total null', async () => {
    const checkout = await createSandboxPurchase(t, 'sandbox_after_polls=1&sandbox_amount=10.00&sandbox_currency=XAU');
    const events = await watchToTheEnd(checkout.id);
    expect(events.at(-1)).toMatchObject({ status: 'COMPLETED', total: null });
    expect(events.at(-1)!.notes).toContain('"XAU" has no minor unit in ISO 4217');
  });
});

describe('Stan amounts past 32 bits, against a recording Stan', () => {
  let stan: Awaited<ReturnType<typeof startRecordingServer>>;
  beforeAll(async () => {
    // Answers as the document's example does: the id, the echoed totals and lines, is_testmode false.
    stan = await startRecordingServer((request: RecordedRequest) => {
      const body = JSON.parse(request.body) as Record<string, unknown>;
      return { status: 200, body: { id: `co_${randomUUID().slice(0, 8)}`, is_testmode: false, ...body } };
    });
  });
  afterAll(() => stan?.close());
  const t = useTestApp(() => ({
    STAN_BASE_URL: stan.url,
    STAN_CLIENT_ID: 'stan-client',
    STAN_CLIENT_SECRET: 'stan-secret-value',
    STAN_TEST_MODE: 'true',
  }));

  it('sends a 3 x 1,500,000,000 basket with 20 % tax to Stan as exact JSON integers and shows the same totals', async () => {
    const response = await t.request(CreateStanCheckoutDocument, {
      input: {
        returnUrl: 'https://shop.example/back',
        lineItems: [{ productId: 'machine', quantity: 3, unitPrice: 1_500_000_000 }],
        taxRate: 20,
      },
    });
    const checkout = expectType(response.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout;
    const sent = stan.requests.at(-1)!;
    expect(JSON.parse(sent.body)).toStrictEqual({
      return_url: 'https://shop.example/back',
      total_amount: 5_400_000_000,
      subtotal_amount: 4_500_000_000,
      tax_rate: 20,
      tax_cost: 900_000_000,
      line_items: [{ product_id: 'machine', quantity: 3, unit_price: 1_500_000_000 }],
    });
    // The bytes themselves: integers, never strings or exponents.
    expect(sent.body).toContain('"total_amount":5400000000');
    expect(checkout).toMatchObject({
      status: 'OPEN',
      total: { amount: 5_400_000_000, currency: 'EUR', decimal: '54000000.00' },
      lineItems: [
        { quantity: 3, unitPrice: { amount: 1_500_000_000 }, total: { amount: 4_500_000_000, decimal: '45000000.00' } },
      ],
    });
    expect(checkout).toMatchObject({
      subtotal: { amount: 4_500_000_000 },
      tax: { amount: 900_000_000 },
      totalBeforeDiscount: { amount: 5_400_000_000 },
    });
    // STAN_TEST_MODE=true wins over the account's is_testmode: false.
    expect(checkout.testMode).toBe(true);
    expect(await visibleCheckout(t, checkout.id)).toMatchObject(checkout);
  });

  it('refuses totals beyond 2^53 - 1 with a ValidationError at the field, before Stan is called', async () => {
    const requests = stan.requests.length;
    const response = await t.request(CreateStanCheckoutDocument, {
      input: {
        returnUrl: 'https://shop.example/back',
        lineItems: [{ productId: 'p', quantity: 2, unitPrice: Number.MAX_SAFE_INTEGER }],
      },
    });
    const error = expectType(response.data?.createStanCheckout, 'ValidationError');
    expect(error.fieldErrors).toEqual([
      {
        path: ['input', 'lineItems', '0'],
        message: expect.stringContaining('larger than the largest supported amount (9007199254740991)'),
      },
    ]);
    expect(stan.requests.length).toBe(requests);
  });
});

describe('polling that gives up instead of running forever', () => {
  let provider: Awaited<ReturnType<typeof startRecordingServer>>;
  /** GET answers per provider checkout id, consumed in order; the last one repeats. */
  const script = new Map<string, { status: number; body?: unknown }[]>();
  let next = 0;

  beforeAll(async () => {
    provider = await startRecordingServer((request) => {
      if (request.method === 'POST')
        return { status: 200, body: { checkout_id: `sc_${next++}`, status: 'processing' } };
      const id = decodeURIComponent(request.path.split('/').at(-1)!);
      const answers = script.get(id) ?? [{ status: 200, body: { id, status: 'processing' } }];
      return answers.length > 1 ? answers.shift()! : answers[0]!;
    });
  });
  afterAll(() => provider?.close());
  const t = useTestApp(
    () => ({
      POLLER: 'on',
      POLL_INTERVAL_MS: '50',
      POLL_MAX_INTERVAL_MS: '100',
      POLL_MAX_ANSWER_ERRORS: '3',
      SMARTCHECKOUT_BASE_URL: provider.url,
      SMARTCHECKOUT_API_KEY: 'recording-smartcheckout-key',
    }),
    { isolate: 'lifecycle_polls' },
  );

  const getsOf = (providerId: string) =>
    provider.requests.filter((request) => request.method === 'GET' && request.path.endsWith(`/${providerId}`)).length;
  const scheduleOf = (checkoutId: string) =>
    new CheckoutRepository(t.app.database.db, statusChangedPayload).pollScheduleOf(rowIdOf(checkoutId));

  it('turns a checkout whose polls are answered 404 three times in a row into UNKNOWN, and stops polling it', async () => {
    script.set(`sc_${next}`, [{ status: 404, body: { message: 'Checkout not found' } }]);
    const checkout = await createSandboxPurchase(t, 'gone');
    await waitFor(async () => (await visibleCheckout(t, checkout.id)).status === 'UNKNOWN', {
      what: 'UNKNOWN',
      timeoutMs: 20_000,
    });
    const stored = await visibleCheckout(t, checkout.id);
    expect(stored.notes).toMatch(
      /^Polling stopped after 3 unusable answers in a row from the provider \(last: Smartcheckout answered HTTP 404: Checkout not found\)/,
    );
    expect(stored.events.map((event) => [event.status, event.source])).toEqual([
      ['PENDING', 'api'],
      ['PROCESSING', 'smartcheckout'],
      ['UNKNOWN', 'api'],
    ]);
    expect(await scheduleOf(checkout.id)).toBeUndefined();
    expect(getsOf(checkout.providerCheckoutId!)).toBe(3);
    // Ten intervals later, still exactly three GETs.
    await pause(1_000);
    expect(getsOf(checkout.providerCheckoutId!)).toBe(3);
    expect(
      logsWith(t, 'polling given up: the checkout is now UNKNOWN').some((line) => line.checkoutId === checkout.id),
    ).toBe(true);
    expect(await metric(t, 'checkout_lifecycle_ends_total', { reason: 'polling_given_up' })).toBeGreaterThanOrEqual(1);
  });

  it('gives up on unreadable bodies too (a 200 that is not the documented JSON)', async () => {
    script.set(`sc_${next}`, [{ status: 200, body: { state: 'done' } }]);
    const checkout = await createSandboxPurchase(t, 'garbled');
    await waitFor(async () => (await visibleCheckout(t, checkout.id)).status === 'UNKNOWN', {
      what: 'UNKNOWN',
      timeoutMs: 20_000,
    });
    expect((await visibleCheckout(t, checkout.id)).notes).toContain('Smartcheckout answered an unexpected body');
    expect(getsOf(checkout.providerCheckoutId!)).toBe(3);
  });

  it('never counts transport faults or a rejected credential: 503s and 401s keep the checkout PROCESSING and polled', async () => {
    script.set(`sc_${next}`, [{ status: 503, body: { message: 'maintenance' } }]);
    const unavailable = await createSandboxPurchase(t, 'down');
    script.set(`sc_${next}`, [{ status: 401, body: { message: 'bad key' } }]);
    const rejected = await createSandboxPurchase(t, 'key');
    await waitFor(() => getsOf(unavailable.providerCheckoutId!) >= 6 && getsOf(rejected.providerCheckoutId!) >= 6, {
      what: 'six polls of each',
      timeoutMs: 20_000,
    });
    for (const checkout of [unavailable, rejected]) {
      expect((await visibleCheckout(t, checkout.id)).status).toBe('PROCESSING');
      expect(await scheduleOf(checkout.id)).toMatchObject({ answerErrors: 0 });
    }
  });

  it('resets the count on every usable answer: 404, 404, processing, 404, 404, completed ends COMPLETED', async () => {
    const notFound = { status: 404, body: { message: 'not yet' } };
    const id = `sc_${next}`;
    script.set(id, [
      notFound,
      notFound,
      { status: 200, body: { id, status: 'processing' } },
      notFound,
      notFound,
      { status: 200, body: { id, status: 'completed', amount_str: '5.00', currency: 'EUR' } },
    ]);
    const checkout = await createSandboxPurchase(t, 'flaky');
    await waitFor(async () => (await visibleCheckout(t, checkout.id)).status === 'COMPLETED', {
      what: 'COMPLETED',
      timeoutMs: 20_000,
    });
    expect((await visibleCheckout(t, checkout.id)).total).toEqual({ amount: 500, currency: 'EUR', decimal: '5.00' });
    expect(getsOf(checkout.providerCheckoutId!)).toBe(6);
  });
});

describe('OPEN checkouts that expire after CHECKOUT_OPEN_TTL_SECONDS', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  beforeAll(async () => {
    // A database of its own: with a 2-second TTL this app's sweep would expire other files' checkouts.
    database = await isolatedDatabase('lifecycle_expiry');
  });
  afterAll(() => database?.drop());
  const env = () => ({ DATABASE_URL: database.url, CHECKOUT_OPEN_TTL_SECONDS: '2' });
  const t = useTestApp(env);
  /** A second instance on the same PostgreSQL database (on PGlite, the same app runs the rounds). */
  const other = DATABASE_KIND === 'postgres' ? useTestApp(env) : t;

  it('expires an OPEN PayerVault link and an OPEN Stan session on their own; the subscription completes with EXPIRED', async () => {
    const link = await createLink(t);
    const session = await createStan(t);
    const processing = await createSandboxPurchase(t, 'sandbox_after_polls=100');
    const client = scopedWsClient(t.url, t.keys.a!);
    const recording = recordSubscription(client, CheckoutStatusChangedDocument, { id: link.id });
    await recording.done;
    expect(recording.completed).toBe(true);
    expect(recording.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['OPEN', 'EXPIRED']);
    expect(recording.events.at(-1)!.checkoutStatusChanged.notes).toBe(
      'No outcome was reported within 2 s of creation (CHECKOUT_OPEN_TTL_SECONDS=2), so the checkout expired',
    );
    const expired = await visibleCheckout(t, link.id);
    expect(expired.events.map((event) => [event.status, event.source])).toEqual([
      ['PENDING', 'api'],
      ['OPEN', 'payervault'],
      ['EXPIRED', 'api'],
    ]);
    await waitFor(async () => (await visibleCheckout(t, session.id)).status === 'EXPIRED', {
      what: 'the Stan session to expire',
      timeoutMs: 20_000,
    });
    // Only OPEN checkouts expire: a purchase in progress is the provider's to finish.
    expect((await visibleCheckout(t, processing.id)).status).toBe('PROCESSING');
  });

  it('writes exactly one EXPIRED event when several rounds (and instances) sweep at once', async () => {
    await Promise.all([t.app.expiry.stop(), other.app.expiry.stop()]);
    const links = await Promise.all([createLink(t), createLink(t), createLink(t)]);
    const ids = links.map((link) => rowIdOf(link.id));
    for (const id of ids) {
      await t.app.database.db
        .update(checkouts)
        .set({ createdAt: sql`now() - interval '1 hour'` })
        .where(eq(checkouts.id, id));
    }
    const rounds = await Promise.all([
      t.app.expiry.runOnce(),
      other.app.expiry.runOnce(),
      t.app.expiry.runOnce(),
      other.app.expiry.runOnce(),
    ]);
    expect(rounds.reduce((sum, round) => sum + round.expired, 0)).toBe(3);
    for (const id of ids) {
      const events = await t.app.database.db.select().from(checkoutEvents).where(eq(checkoutEvents.checkoutId, id));
      expect(events.filter((event) => event.status === 'EXPIRED')).toHaveLength(1);
    }
    expect(
      (await metric(t, 'checkout_lifecycle_ends_total', { reason: 'expired' })) +
        (other === t ? 0 : await metric(other, 'checkout_lifecycle_ends_total', { reason: 'expired' })),
    ).toBeGreaterThanOrEqual(3);
  });
});

describe('recordCheckoutOutcome', () => {
  const t = useTestApp();
  let readKey: string;

  beforeAll(async () => {
    const probe = await createLink(t);
    const [row] = await t.app.database.db
      .select()
      .from(checkouts)
      .where(eq(checkouts.id, rowIdOf(probe.id)));
    readKey = (await new ApiKeyRepository(t.app.database.db).create(row!.tenant, 'read')).key;
  });

  const record = (id: string, status: CheckoutStatus, note?: string | null, apiKey?: string) =>
    t.request(
      RecordCheckoutOutcomeDocument,
      { input: { id, status, ...(note !== undefined && { note }) } },
      { apiKey },
    );

  it('records a Stan session as COMPLETED (source merchant), published to its subscribers, who complete', async () => {
    const session = await createStan(t);
    const client = scopedWsClient(t.url, t.keys.a!);
    const recording = recordSubscription(client, CheckoutStatusChangedDocument, { id: session.id });
    await waitFor(() => recording.events.length === 1, { what: 'the first state', timeoutMs: 20_000 });
    const response = await record(session.id, 'COMPLETED', 'Paid: Stan redirected to return_url with status=success');
    expect(response.errors).toBeUndefined();
    const { checkout } = expectType(response.data?.recordCheckoutOutcome, 'RecordCheckoutOutcomeSuccess');
    expect(checkout).toMatchObject({
      id: session.id,
      status: 'COMPLETED',
      notes: 'Paid: Stan redirected to return_url with status=success',
    });
    expect(checkout.events.map((event) => [event.status, event.source, event.notes])).toEqual([
      ['PENDING', 'api', null],
      ['OPEN', 'stan', null],
      ['COMPLETED', 'merchant', 'Paid: Stan redirected to return_url with status=success'],
    ]);
    await recording.done;
    expect(recording.completed).toBe(true);
    expect(recording.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['OPEN', 'COMPLETED']);
    expect(await metric(t, 'checkout_lifecycle_ends_total', { reason: 'merchant_outcome' })).toBeGreaterThanOrEqual(1);
  });

  it('answers the same outcome again as a success without a second event; another final status is CHECKOUT_FINAL', async () => {
    const link = await createLink(t);
    const first = expectType(
      (await record(link.id, 'FAILED', 'Card declined')).data?.recordCheckoutOutcome,
      'RecordCheckoutOutcomeSuccess',
    ).checkout;
    const again = expectType(
      (await record(link.id, 'FAILED', 'Card declined, said twice')).data?.recordCheckoutOutcome,
      'RecordCheckoutOutcomeSuccess',
    ).checkout;
    expect(again).toEqual(first);
    expect(again.events).toHaveLength(3);

    const conflict = expectType((await record(link.id, 'COMPLETED')).data?.recordCheckoutOutcome, 'CheckoutFinalError');
    expect(conflict).toMatchObject({
      code: 'CHECKOUT_FINAL',
      status: 'FAILED',
      message: 'The checkout is already FAILED, a final status; it cannot be recorded as COMPLETED',
      finalCheckout: { id: link.id, status: 'FAILED' },
    });
    expect((await visibleCheckout(t, link.id)).events).toEqual(first.events);
  });

  it('records EXPIRED without a note, with a note saying who recorded it', async () => {
    const link = await createLink(t);
    const { checkout } = expectType(
      (await record(link.id, 'EXPIRED')).data?.recordCheckoutOutcome,
      'RecordCheckoutOutcomeSuccess',
    );
    expect(checkout).toMatchObject({ status: 'EXPIRED', notes: 'Recorded by the merchant as EXPIRED' });
  });

  it('refuses a read-only key with FORBIDDEN and changes nothing', async () => {
    const link = await createLink(t);
    const response = await record(link.id, 'COMPLETED', null, readKey);
    expect(response.data?.recordCheckoutOutcome ?? null).toBeNull();
    expect(response.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect((await visibleCheckout(t, link.id)).status).toBe('OPEN');
  });

  it("answers NotFoundError for another tenant's checkout, exactly as for a missing one", async () => {
    const link = await createLink(t);
    const foreign = expectType(
      (await record(link.id, 'COMPLETED', null, t.keys.b)).data?.recordCheckoutOutcome,
      'NotFoundError',
    );
    const missing = Buffer.from(`PayerVaultCheckout:${randomUUID()}`).toString('base64');
    const unknown = expectType(
      (await record(missing, 'COMPLETED', null, t.keys.b)).data?.recordCheckoutOutcome,
      'NotFoundError',
    );
    expect(foreign).toEqual({
      __typename: 'NotFoundError',
      code: 'NOT_FOUND',
      id: link.id,
      message: `No checkout with id ${link.id}`,
    });
    expect(Object.keys(unknown)).toEqual(Object.keys(foreign));
    expect((await visibleCheckout(t, link.id)).status).toBe('OPEN');
  });

  it('refuses what is not an outcome, and a Smartcheckout purchase its provider still reports, with ValidationErrors', async () => {
    const link = await createLink(t);
    for (const status of ['PROCESSING', 'OPEN', 'UNKNOWN', 'PENDING'] as const) {
      const error = expectType((await record(link.id, status)).data?.recordCheckoutOutcome, 'ValidationError');
      expect(error.fieldErrors).toEqual([
        { path: ['input', 'status'], message: 'must be one of COMPLETED, FAILED, EXPIRED: how the checkout ended' },
      ]);
    }
    const long = expectType(
      (await record(link.id, 'COMPLETED', 'x'.repeat(2001))).data?.recordCheckoutOutcome,
      'ValidationError',
    );
    expect(long.fieldErrors).toEqual([{ path: ['input', 'note'], message: 'must be at most 2000 characters' }]);

    const purchase = await createSandboxPurchase(t, 'sandbox_after_polls=100');
    const refused = expectType((await record(purchase.id, 'COMPLETED')).data?.recordCheckoutOutcome, 'ValidationError');
    expect(refused.fieldErrors[0]).toMatchObject({
      path: ['input', 'status'],
      message: expect.stringContaining('while the checkout is PROCESSING: its provider reports the outcome itself'),
    });
    expect((await visibleCheckout(t, purchase.id)).status).toBe('PROCESSING');
    expect((await visibleCheckout(t, link.id)).events).toHaveLength(2);
  });

  it('records an UNKNOWN Smartcheckout purchase (an outcome nobody could read), which stops its polling', async () => {
    const purchase = await createSandboxPurchase(t, 'sandbox_after_polls=100');
    const repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
    // The state a lost create answer or a given-up poll leaves; the schedule is kept to show it goes.
    // Read once: the late answer below is written over this row as its poll read it (stale by then).
    const processing = (await repository.findAnyById(rowIdOf(purchase.id)))!;
    await repository.applySnapshot(processing, { status: 'UNKNOWN', notes: 'lost' }, 'api');
    expect(await repository.pollScheduleOf(rowIdOf(purchase.id))).toBeDefined();
    const { checkout } = expectType(
      (await record(purchase.id, 'COMPLETED', 'Confirmed on the Smartcheckout dashboard')).data?.recordCheckoutOutcome,
      'RecordCheckoutOutcomeSuccess',
    );
    expect(checkout.events.map((event) => [event.status, event.source])).toEqual([
      ['PENDING', 'api'],
      ['PROCESSING', 'smartcheckout'],
      ['UNKNOWN', 'api'],
      ['COMPLETED', 'merchant'],
    ]);
    expect(await repository.pollScheduleOf(rowIdOf(purchase.id))).toBeUndefined();

    // A poll answer that was in flight meanwhile cannot reopen the final status; an operator can.
    const late = await repository.applySnapshot(processing, { status: 'PROCESSING', notes: 'late' }, 'smartcheckout');
    expect(late).toMatchObject({ written: false, event: null, row: { status: 'COMPLETED' } });
    expect((await visibleCheckout(t, purchase.id)).events).toHaveLength(4);
    const corrected = await repository.applySnapshot(processing, { status: 'FAILED', notes: 'refunded' }, 'operator');
    expect(corrected).toMatchObject({ written: true, row: { status: 'FAILED' } });
  });
});

describe('testMode with a shared sandbox reached by URL', () => {
  let smart: RunningSandbox;
  let payervault: RunningSandbox;
  const env = () => ({
    SMARTCHECKOUT_BASE_URL: smart.url,
    SMARTCHECKOUT_API_KEY: 'shared-sandbox-smart-key',
    PAYERVAULT_BASE_URL: payervault.url,
    PAYERVAULT_ACCESS_KEY: 'shared-sandbox-access-key',
    PAYERVAULT_ACCESS_SECRET: 'shared-sandbox-access-secret',
  });

  beforeAll(async () => {
    smart = await startSmartcheckoutSandbox({ apiKey: 'shared-sandbox-smart-key' });
    payervault = await startPayerVaultSandbox({
      accessKey: 'shared-sandbox-access-key',
      accessSecret: 'shared-sandbox-access-secret',
    });
  });
  afterAll(async () => {
    await smart?.close();
    await payervault?.close();
  });

  it('reports testMode: true with <PROVIDER>_TEST_MODE=true, from the PENDING row on, and false without it', async () => {
    for (const [flag, expected] of [
      ['true', true],
      ['false', false],
    ] as const) {
      const t = await startScopedTestApp({ ...env(), SMARTCHECKOUT_TEST_MODE: flag, PAYERVAULT_TEST_MODE: flag });
      expect(Object.keys(t.app.sandboxUrls)).toEqual(['STAN']);
      const purchase = await createSandboxPurchase(t, 'sandbox_after_polls=5');
      const link = await createLink(t);
      expect([purchase.testMode, link.testMode], `*_TEST_MODE=${flag}`).toEqual([expected, expected]);
      const rows = await t.app.database.db
        .select({ testMode: checkouts.testMode })
        .from(checkouts)
        .where(sql`${checkouts.id} in (${rowIdOf(purchase.id)}, ${rowIdOf(link.id)})`);
      expect(rows.map((row) => row.testMode)).toEqual([expected, expected]);
    }
  });
});

describe('configuration of the lifecycle', () => {
  it('reads the TTL, the give-up count and the test-mode flags, with their defaults', () => {
    const defaults = loadConfig({});
    expect(defaults).toMatchObject({
      checkoutOpenTtlSeconds: 86_400,
      pollMaxAnswerErrors: 10,
      providers: { SMARTCHECKOUT: { testMode: false }, STAN: { testMode: false } },
    });
    const set = loadConfig({
      CHECKOUT_OPEN_TTL_SECONDS: '3600',
      POLL_MAX_ANSWER_ERRORS: '4',
      STAN_TEST_MODE: 'true',
      STAN_CURRENCY: 'idr',
    });
    expect(set).toMatchObject({
      checkoutOpenTtlSeconds: 3600,
      pollMaxAnswerErrors: 4,
      providers: { STAN: { testMode: true, settings: { currency: 'IDR' } } },
    });
  });

  it.each([
    [{ CHECKOUT_OPEN_TTL_SECONDS: '0' }, 'CHECKOUT_OPEN_TTL_SECONDS must be an integer from 1 to 31536000 (got "0")'],
    [{ POLL_MAX_ANSWER_ERRORS: 'many' }, 'POLL_MAX_ANSWER_ERRORS must be an integer from 1 to 1000 (got "many")'],
    [{ SMARTCHECKOUT_TEST_MODE: 'yes' }, 'SMARTCHECKOUT_TEST_MODE'],
    [
      { STAN_CURRENCY: 'XAU' },
      'STAN_CURRENCY must be an ISO 4217 currency code with a minor unit, such as EUR (got "XAU")',
    ],
    [{ STAN_CURRENCY: 'ABC' }, 'STAN_CURRENCY must be an ISO 4217 currency code with a minor unit'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
