import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../src/domain/checkout.js';
import { publicCheckoutId } from '../src/domain/public-id.js';
import { SANDBOX_FAULT_KINDS, type SandboxFaultKind } from '../src/providers/sandbox-faults.js';
import {
  CreatePayerVaultCheckoutDocument,
  CreateSmartCheckoutDocument,
  CreateStanCheckoutDocument,
  RefreshCheckoutDocument,
} from './generated/graphql.js';
import { expectType, type GraphQLResponse, type TestApp, useTestApp } from './support/app.js';
import { pause } from './support/async.js';
import {
  countersOf,
  eventHistoryProblems,
  faultState,
  injectFault,
  type EventRow,
  type FaultSpec,
} from './support/faults.js';

/*
 * Every fault the sandboxes can inject against every provider operation, through
 * the API (real HTTP, real database, the built-in sandboxes with SANDBOX_FAULTS=on). For each case:
 * (a) a typed answer (never HTTP 5xx, never `errors`) within the time budget; (b) the process
 * still serves /health and a normal create; (c) the checkout row exists once, with an ordered event
 * history starting at PENDING, and the status the outcome implies; (d) the sandbox's counters show
 * exactly the provider requests expected: one POST per create mutation, and none for a retry with
 * the same idempotency key.
 *
 * GET retries: the matrix runs with PROVIDER_GET_RETRIES=0, so each GET fault is seen by the API as
 * is and every GET is counted exactly once. A separate block runs with PROVIDER_GET_RETRIES=2 and
 * asserts which GET faults are retried (outages: 5xx, reset, hang) and which are not (a 429 with
 * Retry-After, a malformed body), and that a create POST is never retried.
 *
 * Expected create outcomes (`expectedCreate`). The API cannot know what the sandbox knows, only
 * what it was told:
 * - a 2xx answer that arrives in time: the checkout as the provider created it;
 * - 429 (rate_limit): the provider refused before acting: FAILED, ProviderError retryable;
 * - 5xx, timeout, reset, hang, malformed/HTML/truncated body on a POST (Smartcheckout and Stan
 *   create): the provider may have acted: UNKNOWN, ProviderError NOT retryable (a retry under a new
 *   key could buy twice). A 5xx to a non-idempotent call is one of the ambiguous outcomes (the
 *   README's "Ambiguous outcomes": a provider may fail after acting), so the injected 500/503 leave
 *   UNKNOWN too, although the sandbox did not in fact process them;
 * - PayerVault's link is a GET that creates nothing: every failure is FAILED, with the error's own
 *   retryable flag.
 * Idempotency: an answer that stands (a checkout, UNKNOWN, a non-retryable FAILED) is replayed for
 * the same key without any provider request; a retryable FAILED releases the key, so a retry with
 * the same key is a new attempt (one request, one new row), which cannot buy twice because the
 * first attempt certainly bought nothing.
 */

const TIMEOUT_MS = 700;
/** The longest a mutation may take: every attempt timing out, plus a generous margin. Not a benchmark. */
const budgetMs = (getRetries = 0) => TIMEOUT_MS * (1 + getRetries) + 2_000;
const EMAIL = 'faults@example.com';

/** What the API should answer when the fault hits the operation. */
type Outcome = 'ok' | { retryable: boolean; httpStatus: number | null };

interface Fault {
  name: string;
  spec: Omit<FaultSpec, 'operation' | 'count'>;
  kind: SandboxFaultKind;
  /** The provider acts on the request and only the answer is broken (counted as processed). */
  processed: boolean;
  outcome: Outcome;
  /** Status of a checkout whose create POST got this fault. */
  postStatus: 'UNKNOWN' | 'FAILED' | null;
}

const AMBIGUOUS_NETWORK: Outcome = { retryable: true, httpStatus: null };
const UNREADABLE_2XX: Outcome = { retryable: false, httpStatus: 200 };

const FAULTS: Fault[] = [
  {
    name: 'latency 200 ms (< timeout)',
    kind: 'latency',
    spec: { fault: 'latency', latencyMs: 200 },
    processed: true,
    outcome: 'ok',
    postStatus: null,
  },
  {
    name: `latency ${TIMEOUT_MS * 2} ms (> timeout)`,
    kind: 'latency',
    spec: { fault: 'latency', latencyMs: TIMEOUT_MS * 2 },
    processed: true,
    outcome: AMBIGUOUS_NETWORK,
    postStatus: 'UNKNOWN',
  },
  {
    name: 'status 500',
    kind: 'status',
    spec: { fault: 'status', status: 500 },
    processed: false,
    outcome: { retryable: true, httpStatus: 500 },
    postStatus: 'UNKNOWN',
  },
  {
    name: 'status 503',
    kind: 'status',
    spec: { fault: 'status', status: 503 },
    processed: false,
    outcome: { retryable: true, httpStatus: 503 },
    postStatus: 'UNKNOWN',
  },
  {
    name: 'rate_limit (429, Retry-After 1)',
    kind: 'rate_limit',
    spec: { fault: 'rate_limit', retryAfterSeconds: 1 },
    processed: false,
    outcome: { retryable: true, httpStatus: 429 },
    postStatus: 'FAILED',
  },
  {
    name: 'reset',
    kind: 'reset',
    spec: { fault: 'reset' },
    processed: true,
    outcome: AMBIGUOUS_NETWORK,
    postStatus: 'UNKNOWN',
  },
  {
    name: 'hang',
    kind: 'hang',
    spec: { fault: 'hang' },
    processed: true,
    outcome: AMBIGUOUS_NETWORK,
    postStatus: 'UNKNOWN',
  },
  {
    name: 'malformed_json',
    kind: 'malformed_json',
    spec: { fault: 'malformed_json' },
    processed: true,
    outcome: UNREADABLE_2XX,
    postStatus: 'UNKNOWN',
  },
  {
    name: 'wrong_content_type',
    kind: 'wrong_content_type',
    spec: { fault: 'wrong_content_type' },
    processed: true,
    outcome: UNREADABLE_2XX,
    postStatus: 'UNKNOWN',
  },
  {
    name: 'truncated_body',
    kind: 'truncated_body',
    spec: { fault: 'truncated_body' },
    processed: true,
    outcome: AMBIGUOUS_NETWORK,
    postStatus: 'UNKNOWN',
  },
];

/** Every kind the sandboxes offer is in the matrix. */
const KINDS_COVERED = new Set(FAULTS.map((fault) => fault.kind));

/** Counts for the one-line summary printed at the end. */
const tally = { tried: 0, duplicates: 0, rowsLost: 0 };
afterAll(() => {
  console.log(`faults tried: ${tally.tried}, duplicates found: ${tally.duplicates}, rows lost: ${tally.rowsLost}`);
});

/** A create or refresh result reduced to what the assertions need, whatever the provider. */
interface Answer {
  httpStatus: number;
  hasErrors: boolean;
  typename: string | undefined;
  checkoutId?: string;
  checkoutStatus?: string;
  retryable?: boolean;
  providerHttpStatus?: number | null;
  elapsedMs: number;
}

type AnyResult =
  | { __typename?: string; checkout?: { id: string; status: string }; retryable?: boolean; httpStatus?: number | null }
  | null
  | undefined;

async function timed<T>(call: () => Promise<GraphQLResponse<T>>, pick: (data: T) => AnyResult): Promise<Answer> {
  const started = performance.now();
  const response = await call();
  const elapsedMs = performance.now() - started;
  const result = response.data ? pick(response.data) : undefined;
  return {
    httpStatus: response.status,
    hasErrors: response.errors !== undefined,
    typename: result?.__typename,
    checkoutId: result?.checkout?.id,
    checkoutStatus: result?.checkout?.status,
    retryable: result?.retryable,
    providerHttpStatus: result?.httpStatus,
    elapsedMs,
  };
}

/** One create mutation of the API, as the matrix drives it. */
interface CreateOperation {
  name: string;
  provider: ProviderName;
  /** The sandbox operation it calls. */
  operation: 'create' | 'link';
  /** A POST whose lost answer leaves UNKNOWN; PayerVault's link is a GET. */
  post: boolean;
  successTypename: string;
  successStatus: string;
  send(t: TestApp, key: string): Promise<Answer>;
}

const SMARTCHECKOUT_CREATE: CreateOperation = {
  name: 'Smartcheckout create',
  provider: 'SMARTCHECKOUT',
  operation: 'create',
  post: true,
  successTypename: 'CreateSmartCheckoutSuccess',
  successStatus: 'PROCESSING',
  send: (t, key) =>
    timed(
      () =>
        t.request(CreateSmartCheckoutDocument, {
          input: {
            idempotencyKey: key,
            productUrl: 'https://shop.example/faults?sandbox_after_polls=1000',
            email: EMAIL,
          },
        }),
      (data) => data.createSmartCheckout as AnyResult,
    ),
};

const CREATE_OPERATIONS: CreateOperation[] = [
  SMARTCHECKOUT_CREATE,
  {
    name: 'PayerVault link',
    provider: 'PAYERVAULT',
    operation: 'link',
    post: false,
    successTypename: 'CreatePayerVaultCheckoutSuccess',
    successStatus: 'OPEN',
    send: (t, key) =>
      timed(
        () =>
          t.request(CreatePayerVaultCheckoutDocument, { input: { idempotencyKey: key, customerId: 'cust-faults' } }),
        (data) => data.createPayerVaultCheckout as AnyResult,
      ),
  },
  {
    name: 'Stan create',
    provider: 'STAN',
    operation: 'create',
    post: true,
    successTypename: 'CreateStanCheckoutSuccess',
    successStatus: 'OPEN',
    send: (t, key) =>
      timed(
        () =>
          t.request(CreateStanCheckoutDocument, {
            input: {
              idempotencyKey: key,
              returnUrl: 'https://shop.example/return',
              lineItems: [{ productId: 'p-1', quantity: 2, unitPrice: 1250 }],
            },
          }),
        (data) => data.createStanCheckout as AnyResult,
      ),
  },
];

/** The rows a raw SQL statement returns, on the app's own database. */
async function appRows<T>(t: TestApp, statement: SQL): Promise<T[]> {
  const result = await t.app.database.db.execute(statement);
  return (result as unknown as { rows: T[] }).rows;
}

interface CheckoutDbRow {
  id: string;
  seq: number | string;
  tenant: string;
  status: string;
  notes: string | null;
  provider_checkout_id: string | null;
  idempotency_key: string | null;
}

const ROW_COLUMNS = sql.raw('id, seq, tenant, status, notes, provider_checkout_id, idempotency_key');

/** The rows currently holding one idempotency key (one at most, by the unique index). */
async function rowsOfKey(t: TestApp, key: string): Promise<CheckoutDbRow[]> {
  return appRows<CheckoutDbRow>(t, sql`select ${ROW_COLUMNS} from checkouts where idempotency_key = ${key}`);
}

/** The tenant's rows written after `afterSeq`, oldest first. */
async function rowsAfter(t: TestApp, tenant: string, afterSeq: number): Promise<CheckoutDbRow[]> {
  return appRows<CheckoutDbRow>(
    t,
    sql`select ${ROW_COLUMNS} from checkouts where tenant = ${tenant} and seq > ${afterSeq} order by seq`,
  );
}

async function lastSeq(t: TestApp, tenant: string): Promise<number> {
  const [row] = await appRows<{ seq: number | string | null }>(
    t,
    sql`select max(seq) as seq from checkouts where tenant = ${tenant}`,
  );
  return Number(row?.seq ?? 0);
}

/** Counts rows missing from, or in excess of, what one operation should have written. */
function tallyRows(found: number, expected: number): void {
  if (found < expected) tally.rowsLost += expected - found;
  if (found > expected) tally.duplicates += found - expected;
}

/** The event rows of one checkout, in id order. */
async function eventRowsOf(t: TestApp, checkoutId: string): Promise<EventRow[]> {
  return appRows<EventRow>(
    t,
    sql`select id, status, at from checkout_events where checkout_id = ${checkoutId} order by id`,
  );
}

async function expectHealthy(t: TestApp): Promise<void> {
  const health = await fetch(`${t.url}/health`);
  expect(health.status).toBe(200);
}

/** The typed answer the fault implies, within the budget, never a 5xx or `errors`. */
function expectAnswer(answer: Answer, outcome: Outcome, successTypename: string, getRetries = 0): void {
  expect(answer.httpStatus).toBe(200);
  expect(answer.hasErrors).toBe(false);
  expect(answer.elapsedMs).toBeLessThan(budgetMs(getRetries));
  if (outcome === 'ok') {
    expect(answer.typename).toBe(successTypename);
  } else {
    expect(answer.typename).toBe('ProviderError');
    expect(answer.retryable).toBe(outcome.retryable);
    expect(answer.providerHttpStatus).toBe(outcome.httpStatus);
  }
}

function sandboxUrl(t: TestApp, provider: ProviderName): string {
  const url = t.app.sandboxUrls[provider];
  if (!url) throw new Error(`no ${provider} sandbox`);
  return url;
}

/** Creates a Smartcheckout checkout without any fault; returns its global id and row. */
async function createProcessing(
  t: TestApp,
  productUrl: string,
): Promise<{ id: string; key: string; row: CheckoutDbRow }> {
  const key = `faults-${randomUUID()}`;
  const response = await t.request(CreateSmartCheckoutDocument, {
    input: { idempotencyKey: key, productUrl, email: EMAIL },
  });
  expect(response.errors).toBeUndefined();
  const { checkout } = expectType(response.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess');
  expect(checkout.status).toBe('PROCESSING');
  const rows = await rowsOfKey(t, key);
  tallyRows(rows.length, 1);
  expect(rows).toHaveLength(1);
  return { id: checkout.id, key, row: rows[0]! };
}

/** What the API answers to a create whose provider call got `fault`, and what it leaves. */
function expectedCreate(op: CreateOperation, fault: Fault): { outcome: Outcome; status: string; keyKept: boolean } {
  if (fault.outcome === 'ok') return { outcome: 'ok', status: op.successStatus, keyKept: true };
  if (op.post && fault.postStatus === 'UNKNOWN') {
    return { outcome: { retryable: false, httpStatus: fault.outcome.httpStatus }, status: 'UNKNOWN', keyKept: true };
  }
  return { outcome: fault.outcome, status: 'FAILED', keyKept: !fault.outcome.retryable };
}

it('the matrix covers every fault kind the sandboxes offer', () => {
  expect([...KINDS_COVERED].sort()).toEqual([...SANDBOX_FAULT_KINDS].sort());
});

describe('faults on create and status calls (PROVIDER_GET_RETRIES=0, POLLER off)', () => {
  const t = useTestApp({
    SANDBOX_FAULTS: 'on',
    PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
    PROVIDER_GET_RETRIES: '0',
  });
  /** The app's tenant `a` (read from its first row) and how many rows it should have. */
  let tenant: string;
  let rowsExpected = 0;

  beforeAll(async () => {
    const { row } = await createProcessing(t, 'https://shop.example/baseline');
    tenant = row.tenant;
    rowsExpected++;
  });

  /** The rows one step wrote: exactly `expected` new rows of the tenant, each with a sound history. */
  async function expectNewRows(afterSeq: number, expected: number): Promise<CheckoutDbRow[]> {
    const rows = await rowsAfter(t, tenant, afterSeq);
    tallyRows(rows.length, expected);
    expect(rows).toHaveLength(expected);
    for (const row of rows) expect(eventHistoryProblems(await eventRowsOf(t, row.id), row.status), row.id).toEqual([]);
    return rows;
  }

  for (const op of CREATE_OPERATIONS) {
    for (const fault of FAULTS) {
      it(`${op.name}: ${fault.name}`, { timeout: 15_000 }, async () => {
        tally.tried++;
        const expected = expectedCreate(op, fault);
        const sandbox = sandboxUrl(t, op.provider);
        const seq = await lastSeq(t, tenant);
        const before = countersOf(await faultState(sandbox), op.operation);
        await injectFault(sandbox, { operation: op.operation, ...fault.spec });
        const key = `faults-${randomUUID()}`;

        // (a) A typed answer within the budget.
        const answer = await op.send(t, key);
        expectAnswer(answer, expected.outcome, op.successTypename);

        // (d) The fault was used up by this one request, which reached the provider exactly once.
        const after = await faultState(sandbox);
        expect(after.faults).toEqual([]);
        const calls = countersOf(after, op.operation);
        expect(calls.received - before.received).toBe(1);
        const processed = calls.processed - before.processed;
        if (processed > 1) tally.duplicates += processed - 1;
        expect(processed).toBe(fault.processed ? 1 : 0);

        // (c) One new row, the status the outcome implies, an ordered history starting at PENDING.
        const [row] = await expectNewRows(seq, 1);
        rowsExpected++;
        expect(row!.status).toBe(expected.status);
        expect((await eventRowsOf(t, row!.id)).map((event) => event.status)).toEqual(['PENDING', expected.status]);
        if (expected.status === 'UNKNOWN') expect(row!.notes).toMatch(/may have created/);
        if (fault.outcome === 'ok' && op.provider !== 'PAYERVAULT') expect(row!.provider_checkout_id).toBeTruthy();
        expect(row!.idempotency_key).toBe(expected.keyKept ? key : null);

        const retry = await op.send(t, key);
        expect(retry.httpStatus).toBe(200);
        expect(retry.hasErrors).toBe(false);
        const retried = countersOf(await faultState(sandbox), op.operation);
        if (expected.keyKept) {
          // The same key and input replay the first answer: no provider request, no new row.
          expect(retry.typename).toBe(answer.typename);
          expect(retry.retryable).toBe(answer.retryable);
          expect(retry.providerHttpStatus).toBe(answer.providerHttpStatus);
          expect(retry.checkoutId).toBe(answer.checkoutId);
          expect(retried).toEqual(calls);
          await expectNewRows(seq, 1);
        } else {
          // The provider certainly did nothing and said asking again may work: the key was released,
          // and the retry is a new attempt (no fault now), the only one the provider acted on.
          expect(retry.typename).toBe(op.successTypename);
          expect(retried.received - calls.received).toBe(1);
          expect(retried.processed - calls.processed).toBe(1);
          if (op.post) expect(retried.processed - before.processed).toBe(1);
          const rows = await expectNewRows(seq, 2);
          rowsExpected++;
          expect(rows.map((r) => [r.status, r.idempotency_key])).toEqual([
            ['FAILED', null],
            [op.successStatus, key],
          ]);
        }

        // (b) Still up.
        await expectHealthy(t);
      });
    }
  }

  for (const fault of FAULTS) {
    it(`Smartcheckout status (refreshCheckout): ${fault.name}`, { timeout: 15_000 }, async () => {
      tally.tried++;
      const sandbox = sandboxUrl(t, 'SMARTCHECKOUT');
      const { id, key, row } = await createProcessing(t, 'https://shop.example/refresh?sandbox_after_polls=1000');
      rowsExpected++;
      const seq = await lastSeq(t, tenant);
      const before = await faultState(sandbox);
      await injectFault(sandbox, { operation: 'status', ...fault.spec });

      const answer = await timed(
        () => t.request(RefreshCheckoutDocument, { id }),
        (data) => data.refreshCheckout as AnyResult,
      );
      expectAnswer(answer, fault.outcome, 'RefreshCheckoutSuccess');
      if (fault.outcome === 'ok') expect(answer.checkoutStatus).toBe('PROCESSING');

      const after = await faultState(sandbox);
      expect(after.faults).toEqual([]);
      expect(countersOf(after, 'status').received - countersOf(before, 'status').received).toBe(1);
      expect(countersOf(after, 'status').processed - countersOf(before, 'status').processed).toBe(
        fault.processed ? 1 : 0,
      );
      // A status GET never creates: no POST went out for the refresh, no row was written.
      expect(countersOf(after, 'create')).toEqual(countersOf(before, 'create'));
      await expectNewRows(seq, 0);

      // A failed poll changes nothing: still PROCESSING, the same two events.
      const [stored] = await rowsOfKey(t, key);
      expect(stored!.status).toBe('PROCESSING');
      expect(stored!.provider_checkout_id).toBe(row.provider_checkout_id);
      const events = await eventRowsOf(t, row.id);
      expect(eventHistoryProblems(events, 'PROCESSING')).toEqual([]);
      expect(events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING']);
      await expectHealthy(t);
    });
  }

  it('still serves a normal create of each provider afterwards, and lost no row', { timeout: 15_000 }, async () => {
    for (const op of CREATE_OPERATIONS) {
      const answer = await op.send(t, `faults-${randomUUID()}`);
      expectAnswer(answer, 'ok', op.successTypename);
      expect(answer.checkoutStatus).toBe(op.successStatus);
      rowsExpected++;
    }
    // Every row the cases above counted is there, and no other.
    const [count] = await appRows<{ rows: number }>(
      t,
      sql`select count(*)::int as rows from checkouts where tenant = ${tenant}`,
    );
    tallyRows(Number(count!.rows), rowsExpected);
    expect(Number(count!.rows)).toBe(rowsExpected);
    // No event history anywhere in this tenant is out of order.
    const histories = await appRows<EventRow & { checkout_id: string; checkout_status: string }>(
      t,
      sql`select e.checkout_id, e.id, e.status, e.at, c.status as checkout_status
          from checkout_events e join checkouts c on c.id = e.checkout_id
          where c.tenant = ${tenant} order by e.checkout_id, e.id`,
    );
    const byCheckout = new Map<string, typeof histories>();
    for (const event of histories)
      byCheckout.set(event.checkout_id, [...(byCheckout.get(event.checkout_id) ?? []), event]);
    expect(byCheckout.size).toBe(rowsExpected);
    for (const [, events] of byCheckout) expect(eventHistoryProblems(events, events[0]!.checkout_status)).toEqual([]);
  });
});

describe('faults on status polls by the poller (POLLER on)', () => {
  const t = useTestApp({
    SANDBOX_FAULTS: 'on',
    PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
    PROVIDER_GET_RETRIES: '0',
    POLLER: 'on',
    POLL_INTERVAL_MS: '100',
    POLL_MAX_INTERVAL_MS: '400',
  });

  /** Waits until the checkout of `key` is terminal; returns its row. */
  async function settled(key: string, timeoutMs = 10_000): Promise<CheckoutDbRow> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await rowsOfKey(t, key);
      if (row && ['COMPLETED', 'FAILED', 'EXPIRED', 'UNKNOWN'].includes(row.status)) return row;
      if (Date.now() > deadline) throw new Error(`checkout ${key} still ${row?.status} after ${timeoutMs} ms`);
      await pause(25);
    }
  }

  for (const fault of FAULTS) {
    it(`Smartcheckout status (poller): ${fault.name}`, { timeout: 20_000 }, async () => {
      tally.tried++;
      const sandbox = sandboxUrl(t, 'SMARTCHECKOUT');
      const before = await faultState(sandbox);
      // The first poll of the next checkout gets the fault; it completes on its 2nd processed poll.
      await injectFault(sandbox, { operation: 'status', ...fault.spec });
      const { key, row } = await createProcessing(
        t,
        `https://shop.example/poll-${fault.kind}?sandbox_after_polls=2&sandbox_amount=12.34`,
      );

      const done = await settled(key);
      expect(done.status).toBe('COMPLETED');
      const after = await faultState(sandbox);
      expect(after.faults).toEqual([]);
      const received = countersOf(after, 'status').received - countersOf(before, 'status').received;
      const processed = countersOf(after, 'status').processed - countersOf(before, 'status').processed;
      // Exactly the polls needed: two the provider acted on, plus the refused one (5xx, 429) if any.
      expect(processed).toBe(2);
      expect(received).toBe(fault.processed ? 2 : 3);
      expect(countersOf(after, 'create').processed - countersOf(before, 'create').processed).toBe(1);

      const events = await eventRowsOf(t, row.id);
      expect(eventHistoryProblems(events, 'COMPLETED')).toEqual([]);
      expect(events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
      // The poll that got the fault was seen to fail (and was not mistaken for an answer).
      // Log lines name the checkout by the id the API returns.
      const failedPolls = t.logs.filter(
        (line) => line.includes('status poll failed') && line.includes(publicCheckoutId('SMARTCHECKOUT', row.id)),
      );
      expect(failedPolls).toHaveLength(fault.outcome === 'ok' ? 0 : 1);
      // The schedule is gone once terminal: no further GETs.
      expect(await appRows(t, sql`select 1 from poll_schedules where checkout_id = ${row.id}`)).toEqual([]);
      await expectHealthy(t);
    });
  }

  it('the poller still completes a normal checkout afterwards', { timeout: 15_000 }, async () => {
    const { key } = await createProcessing(t, 'https://shop.example/poll-after?sandbox_after_polls=2');
    expect((await settled(key)).status).toBe('COMPLETED');
    await expectHealthy(t);
  });
});

describe('GET retries (PROVIDER_GET_RETRIES=2): outages are retried, refusals and POSTs are not', () => {
  const RETRIES = 2;
  const t = useTestApp({
    SANDBOX_FAULTS: 'on',
    PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS),
    PROVIDER_GET_RETRIES: String(RETRIES),
  });
  let tenant: string;

  beforeAll(async () => {
    tenant = (await createProcessing(t, 'https://shop.example/baseline')).row.tenant;
  });

  /** One fault on the first attempt: received and processed GETs expected, and the final outcome. */
  const CASES: { fault: Fault; received: number; processed: number; outcome: Outcome }[] = [
    { fault: FAULTS.find((f) => f.name === 'status 503')!, received: 2, processed: 1, outcome: 'ok' },
    { fault: FAULTS.find((f) => f.kind === 'reset')!, received: 2, processed: 2, outcome: 'ok' },
    { fault: FAULTS.find((f) => f.kind === 'hang')!, received: 2, processed: 2, outcome: 'ok' },
    // The provider asked us to wait (Retry-After): no retry now.
    {
      fault: FAULTS.find((f) => f.kind === 'rate_limit')!,
      received: 1,
      processed: 0,
      outcome: { retryable: true, httpStatus: 429 },
    },
    // Asking again would get the same unreadable answer: not retried.
    { fault: FAULTS.find((f) => f.kind === 'malformed_json')!, received: 1, processed: 1, outcome: UNREADABLE_2XX },
  ];

  for (const { fault, received, processed, outcome } of CASES) {
    it(`PayerVault link: ${fault.name} once`, { timeout: 15_000 }, async () => {
      tally.tried++;
      const sandbox = sandboxUrl(t, 'PAYERVAULT');
      const seq = await lastSeq(t, tenant);
      const before = countersOf(await faultState(sandbox), 'link');
      await injectFault(sandbox, { operation: 'link', ...fault.spec });
      const key = `faults-${randomUUID()}`;
      const op = CREATE_OPERATIONS.find((o) => o.provider === 'PAYERVAULT')!;
      const answer = await op.send(t, key);
      expectAnswer(answer, outcome, op.successTypename, RETRIES);
      const after = countersOf(await faultState(sandbox), 'link');
      expect(after.received - before.received).toBe(received);
      expect(after.processed - before.processed).toBe(processed);
      const rows = await rowsAfter(t, tenant, seq);
      tallyRows(rows.length, 1);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.status).toBe(outcome === 'ok' ? 'OPEN' : 'FAILED');
      expect(eventHistoryProblems(await eventRowsOf(t, rows[0]!.id), rows[0]!.status)).toEqual([]);
      await expectHealthy(t);
    });

    it(`Smartcheckout status (refreshCheckout): ${fault.name} once`, { timeout: 15_000 }, async () => {
      tally.tried++;
      const sandbox = sandboxUrl(t, 'SMARTCHECKOUT');
      const { id, row } = await createProcessing(t, 'https://shop.example/retry?sandbox_after_polls=1000');
      const before = countersOf(await faultState(sandbox), 'status');
      await injectFault(sandbox, { operation: 'status', ...fault.spec });
      const answer = await timed(
        () => t.request(RefreshCheckoutDocument, { id }),
        (data) => data.refreshCheckout as AnyResult,
      );
      expectAnswer(answer, outcome, 'RefreshCheckoutSuccess', RETRIES);
      const after = countersOf(await faultState(sandbox), 'status');
      expect(after.received - before.received).toBe(received);
      expect(after.processed - before.processed).toBe(processed);
      expect(eventHistoryProblems(await eventRowsOf(t, row.id), 'PROCESSING')).toEqual([]);
      await expectHealthy(t);
    });
  }

  for (const kind of ['status 503', 'reset', 'hang'] as const) {
    it(`a create POST is never retried, even with GET retries on: ${kind}`, { timeout: 15_000 }, async () => {
      tally.tried++;
      const fault = FAULTS.find((f) => f.name === kind || f.kind === kind)!;
      const sandbox = sandboxUrl(t, 'SMARTCHECKOUT');
      const before = countersOf(await faultState(sandbox), 'create');
      await injectFault(sandbox, { operation: 'create', ...fault.spec });
      const key = `faults-${randomUUID()}`;
      const answer = await SMARTCHECKOUT_CREATE.send(t, key);
      // One attempt's budget: a retried POST would take (and cost) more.
      expectAnswer(
        answer,
        expectedCreate(SMARTCHECKOUT_CREATE, fault).outcome,
        SMARTCHECKOUT_CREATE.successTypename,
        0,
      );
      const after = countersOf(await faultState(sandbox), 'create');
      expect(after.received - before.received).toBe(1);
      expect(after.processed - before.processed).toBe(fault.processed ? 1 : 0);
      const rows = await rowsOfKey(t, key);
      tallyRows(rows.length, 1);
      expect(rows.map((r) => r.status)).toEqual(['UNKNOWN']);
      await expectHealthy(t);
    });
  }
});
