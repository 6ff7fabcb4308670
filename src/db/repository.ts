import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { IdempotencyKeyTakenError } from '../domain/errors.js';
import type { ApplyOptions, CheckoutStore, ScheduleChange, SnapshotResult, StatusChangeBody } from '../domain/ports.js';
import type { NewCheckout } from '../domain/records.js';
import type { ProviderSnapshot } from '../domain/snapshot.js';
import type { Database } from './client.js';
import { isRowId } from '../domain/ids.js';
import type { CheckoutFinder, CheckoutListFilter, CheckoutPageRequest } from '../domain/checkout-queries.js';
import {
  checkoutEvents,
  checkouts,
  lineItems,
  merchants,
  pollSchedules,
  type CheckoutEventRow,
  type PollScheduleRow,
  type CheckoutRow,
  type LineItemRow,
  type MerchantRow,
} from './schema.js';
import { applyOver, insertPending, refusal, type WrittenCheckout } from './checkout-writes.js';

/** A poll schedule claimed by this instance. */
export interface ClaimedPoll {
  checkout: CheckoutRow;
  /** Polls since the last change; the backoff grows with it. */
  attempts: number;
  /** When the poll was due (for schedule-lag metrics). */
  dueAt: Date;
  /** Fingerprint of the provider answer last applied (see `pollSchedules.lastAnswerHash`). */
  lastAnswerHash: string | null;
  /** Unusable answers in a row so far (see `pollSchedules.answerErrors`). */
  answerErrors: number;
}

/** One poll whose answer the row already shows: its schedule moves on if the row is as read. */
export interface UnchangedPollMove {
  checkoutId: string;
  /** `updatedAt` of the row the poll read. */
  readUpdatedAt: Date;
  attempts: number;
  delayMs: number;
  answerHash: string;
}

/** A snapshot's write, with everything it stored when it wrote (for the read model). */
export interface StoredSnapshotResult extends SnapshotResult {
  stored?: WrittenCheckout;
}

function storedResult(stored: WrittenCheckout): StoredSnapshotResult {
  return { row: stored.row, event: stored.event, written: true, deliveries: stored.deliveries, stored };
}

/** A line item with the currency of its checkout. */
export type LineItemWithCurrency = LineItemRow & { currency: string | null };

/** A checkout with everything a read shows of it but its merchant: line items in order, events oldest first. */
export interface CheckoutAggregate {
  row: CheckoutRow;
  lineItems: LineItemWithCurrency[];
  events: CheckoutEventRow[];
}

/** Every SQL statement about checkouts, merchants, line items and events. Tenant-scoped reads. */
export class CheckoutRepository implements CheckoutStore, CheckoutFinder {
  /**
   * @param statusChangedPayload formats the `checkout.status_changed` webhook body each status
   * change stores in the outbox (the API's shape: the composition root passes `statusChangedPayload`
   * of `webhooks/events.ts`).
   */
  constructor(
    private readonly db: Database,
    private readonly statusChangedPayload: StatusChangeBody,
  ) {}

  /**
   * Writes the PENDING checkout, its known line items, its first event and its webhook deliveries in
   * one statement. The unique index on (tenant, idempotency key) refuses a key another checkout
   * holds: that refusal is `IdempotencyKeyTakenError`, and nothing is written.
   */
  async createPending(input: NewCheckout): Promise<CheckoutRow> {
    try {
      return (await insertPending(this.db, input, this.statusChangedPayload)).row;
    } catch (error) {
      if (input.idempotencyKey && isUniqueViolationOf(error, IDEMPOTENCY_INDEX))
        throw new IdempotencyKeyTakenError(input.idempotencyKey, { cause: error });
      throw error;
    }
  }

  /**
   * Applies what a provider said over `expected` (the row as the caller read it): the checkout,
   * the merchant and line items when the answer changes them, an event (and its webhook
   * deliveries) when the status changed, and the poll schedule's change, in one statement. When
   * the row changed since `expected` was read, it is locked, the decision is taken again on the
   * current row, and the same statement writes it: two concurrent writers never both record the
   * same change. The result carries everything written (`stored`), so nothing needs reading back.
   */
  async applySnapshot(
    expected: CheckoutRow,
    snapshot: ProviderSnapshot,
    source: string,
    options: ApplyOptions = {},
  ): Promise<StoredSnapshotResult> {
    if (refusal(expected, snapshot, source, options) === undefined) {
      const stored = await applyOver(this.db, expected, snapshot, source, options, this.statusChangedPayload);
      if (stored) return storedResult(stored);
    }
    return this.db.transaction(async (tx) => {
      const [current] = await tx.select().from(checkouts).where(eq(checkouts.id, expected.id)).for('update');
      if (!current) throw new Error(`checkout ${expected.id} vanished while being updated`);
      if (refusal(current, snapshot, source, options))
        return { row: current, event: null, written: false, deliveries: 0 };
      const stored = await applyOver(tx, current, snapshot, source, options, this.statusChangedPayload);
      if (!stored) throw new Error(`checkout ${expected.id} changed while locked`);
      return storedResult(stored);
    });
  }

  /**
   * Claims up to `limit` due poll schedules for `owner` until the lease expires. Rows another
   * instance holds (locked now or leased) are skipped, never waited for.
   */
  async claimDuePolls(owner: string, limit: number, leaseMs: number): Promise<ClaimedPoll[]> {
    // One statement: the leases are taken in a CTE and the rows read with them (a statement costs
    // PGlite about half a millisecond whatever it does).
    const claimed = this.db.$with('claimed').as(
      this.db
        .update(pollSchedules)
        .set({ leaseOwner: owner, leaseExpiresAt: sql`now() + ${leaseMs} * interval '1 millisecond'` })
        .where(
          sql`${pollSchedules.checkoutId} in (
            select checkout_id from ${pollSchedules}
            where next_poll_at <= now() and (lease_expires_at is null or lease_expires_at < now())
            order by next_poll_at
            limit ${limit}
            for update skip locked
          )`,
        )
        .returning({
          claimedId: pollSchedules.checkoutId,
          attempts: pollSchedules.attempts,
          dueAt: pollSchedules.nextPollAt,
          lastAnswerHash: pollSchedules.lastAnswerHash,
          answerErrors: pollSchedules.answerErrors,
        }),
    );
    const rows = await this.db
      .with(claimed)
      .select({
        checkout: checkouts,
        attempts: claimed.attempts,
        dueAt: claimed.dueAt,
        lastAnswerHash: claimed.lastAnswerHash,
        answerErrors: claimed.answerErrors,
      })
      .from(claimed)
      .innerJoin(checkouts, eq(checkouts.id, claimed.claimedId))
      .orderBy(claimed.dueAt);
    return rows;
  }

  /** Gives up `owner`'s leases (on shutdown) so another instance can poll those checkouts at once. */
  async releaseLeases(owner: string): Promise<number> {
    const released = await this.db
      .update(pollSchedules)
      .set({ leaseOwner: null, leaseExpiresAt: null })
      .where(eq(pollSchedules.leaseOwner, owner))
      .returning({ checkoutId: pollSchedules.checkoutId });
    return released.length;
  }

  /**
   * Checkouts of any tenant still in `status` `ageMs` after creation, oldest first: the sweeps' work
   * (PENDING: a create call that died with its process; OPEN: a link or session past its TTL).
   */
  async inStatusOlderThan(status: 'PENDING' | 'OPEN', ageMs: number, limit: number): Promise<CheckoutRow[]> {
    return this.db
      .select()
      .from(checkouts)
      .where(
        and(eq(checkouts.status, status), lt(checkouts.createdAt, sql`now() - ${ageMs} * interval '1 millisecond'`)),
      )
      .orderBy(asc(checkouts.createdAt))
      .limit(limit);
  }

  /**
   * Forgets idempotency keys older than `ttlHours` (the checkouts stay): after that a key may be
   * used again for a new checkout. Returns how many were forgotten.
   */
  async pruneIdempotencyKeys(ttlHours: number): Promise<number> {
    const pruned = await this.db
      .update(checkouts)
      .set({ idempotencyKey: null, requestHash: null })
      .where(
        and(isNotNull(checkouts.idempotencyKey), lt(checkouts.createdAt, sql`now() - ${ttlHours} * interval '1 hour'`)),
      )
      .returning({ id: checkouts.id });
    return pruned.length;
  }

  /** The schedule of one checkout, if it has one (for tests and operators). */
  async pollScheduleOf(checkoutId: string): Promise<PollScheduleRow | undefined> {
    const [row] = await this.db.select().from(pollSchedules).where(eq(pollSchedules.checkoutId, checkoutId));
    return row;
  }

  /** Number of schedules due now and not leased: the poller's backlog. */
  async dueBacklog(): Promise<number> {
    const [row] = await this.db
      .select({ count: sql<number>`count(*)::int` })
      .from(pollSchedules)
      .where(
        and(
          lte(pollSchedules.nextPollAt, sql`now()`),
          or(isNull(pollSchedules.leaseExpiresAt), lt(pollSchedules.leaseExpiresAt, sql`now()`)),
        ),
      );
    return Number(row?.count ?? 0);
  }

  /** Reschedules a poll that failed without a snapshot (provider error), if `owner` still holds it. */
  async reschedulePoll(checkoutId: string, change: Extract<ScheduleChange, { kind: 'next' }>): Promise<void> {
    // Only the lease holder moves the schedule: a lapsed lease now belongs to someone else.
    await this.db
      .update(pollSchedules)
      .set(nextPollValues(change))
      .where(and(eq(pollSchedules.checkoutId, checkoutId), eq(pollSchedules.leaseOwner, change.owner)));
  }

  /**
   * Moves the schedules of polls whose answer the row already shows, in one statement: each
   * schedule still leased by `owner` whose checkout row is as its poll read it (no refresh wrote it
   * meanwhile) moves to its next poll. Returns the ids moved; the others want their answer applied
   * in full.
   */
  async reschedulePollsIfRowsUnchanged(owner: string, moves: readonly UnchangedPollMove[]): Promise<Set<string>> {
    if (moves.length === 0) return new Set();
    // One JSON parameter: a statement costs PGlite about half a millisecond whatever it does, so the
    // answers that arrive together are moved together.
    const rows = JSON.stringify(
      moves.map((move) => ({
        checkout_id: move.checkoutId,
        read_at: move.readUpdatedAt.toISOString(),
        attempts: move.attempts,
        delay_ms: move.delayMs,
        answer_hash: move.answerHash,
      })),
    );
    const result = await this.db.execute(sql`
      update ${pollSchedules} s set
        next_poll_at = now() + m.delay_ms * interval '1 millisecond',
        attempts = m.attempts,
        lease_owner = null,
        lease_expires_at = null,
        last_polled_at = now(),
        last_error = null,
        last_answer_hash = m.answer_hash,
        answer_errors = 0
      from jsonb_to_recordset(${rows}::jsonb)
        as m(checkout_id uuid, read_at timestamptz, attempts int, delay_ms float8, answer_hash text)
      join ${checkouts} c on c.id = m.checkout_id and date_trunc('milliseconds', c.updated_at) = m.read_at
      where s.checkout_id = m.checkout_id and s.lease_owner = ${owner}
      returning s.checkout_id`);
    return new Set((result as unknown as { rows: { checkout_id: string }[] }).rows.map((row) => row.checkout_id));
  }

  /** A checkout of any tenant (operator tools only; the API always scopes by tenant). */
  async findAnyById(id: string): Promise<CheckoutRow | undefined> {
    if (!isRowId(id)) return undefined;
    const [row] = await this.db.select().from(checkouts).where(eq(checkouts.id, id));
    return row;
  }

  /**
   * Checkouts among `ids` with their line items and events, in one statement (the line items and
   * events are aggregated as JSON next to each row). Unscoped: the read model checks the tenant.
   */
  async aggregatesByIds(ids: readonly string[]): Promise<CheckoutAggregate[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    const found = await this.db.query.checkouts.findMany({
      where: inArray(checkouts.id, rowIds),
      with: {
        lineItems: { orderBy: [asc(lineItems.position)] },
        events: { orderBy: [asc(checkoutEvents.id)] },
      },
    });
    return found.map(({ lineItems: items, events, ...row }) => ({
      row,
      lineItems: items.map((item) => ({ ...item, currency: row.currency })),
      events,
    }));
  }

  /** The ids of one page of the tenant's checkouts, newest first (oldest first when `inverted`). */
  async pageIds(tenant: string, filter: CheckoutListFilter, request: CheckoutPageRequest): Promise<string[]> {
    const rows = await this.db
      .select({ id: checkouts.id })
      .from(checkouts)
      .where(pageConditions(tenant, filter, request))
      .orderBy(request.inverted ? asc(checkouts.seq) : desc(checkouts.seq))
      .limit(request.limit);
    return rows.map((row) => row.id);
  }

  /** The tenant's checkouts among `ids`, in no particular order; foreign and unknown ids are absent. */
  async findByIds(tenant: string, ids: readonly string[]): Promise<CheckoutRow[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    return this.db
      .select()
      .from(checkouts)
      .where(and(eq(checkouts.tenant, tenant), inArray(checkouts.id, rowIds)));
  }

  /**
   * Line items of many checkouts in one statement, in position order, each with its checkout's
   * currency (amounts mean nothing without it).
   */
  async lineItemsOf(checkoutIds: readonly string[]): Promise<LineItemWithCurrency[]> {
    if (checkoutIds.length === 0) return [];
    const rows = await this.db
      .select({ item: lineItems, currency: checkouts.currency })
      .from(lineItems)
      .innerJoin(checkouts, eq(checkouts.id, lineItems.checkoutId))
      .where(inArray(lineItems.checkoutId, [...checkoutIds]))
      .orderBy(asc(lineItems.checkoutId), asc(lineItems.position));
    return rows.map(({ item, currency }) => ({ ...item, currency }));
  }

  /** Status events of many checkouts in one statement, oldest first. */
  async eventsOf(checkoutIds: readonly string[]): Promise<CheckoutEventRow[]> {
    if (checkoutIds.length === 0) return [];
    return this.db
      .select()
      .from(checkoutEvents)
      .where(inArray(checkoutEvents.checkoutId, [...checkoutIds]))
      .orderBy(asc(checkoutEvents.id));
  }

  /** The tenant's merchants among `ids` in one statement. */
  async merchantsByIds(tenant: string, ids: readonly string[]): Promise<MerchantRow[]> {
    const rowIds = ids.filter(isRowId);
    if (rowIds.length === 0) return [];
    return this.db
      .select()
      .from(merchants)
      .where(and(eq(merchants.tenant, tenant), inArray(merchants.id, rowIds)));
  }

  /** The tenant's checkout created with this idempotency key, if any. */
  async findByIdempotencyKey(tenant: string, key: string): Promise<CheckoutRow | undefined> {
    const [row] = await this.db
      .select()
      .from(checkouts)
      .where(and(eq(checkouts.tenant, tenant), eq(checkouts.idempotencyKey, key)));
    return row;
  }
}

/** The unique index that lets one checkout per tenant hold an idempotency key (see schema.ts). */
const IDEMPOTENCY_INDEX = 'checkouts_tenant_idempotency_key';

/** PostgreSQL's SQLSTATE for a unique violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * True when `error` is PostgreSQL refusing a row for a duplicate in the unique index `index`.
 * Both drivers (pg's DatabaseError, PGlite's) carry the SQLSTATE in `code` and the index in
 * `constraint`; drizzle wraps them in a DrizzleQueryError whose `cause` is the driver's error, so
 * the cause chain is searched (a few links deep, never in a cycle).
 */
function isUniqueViolationOf(error: unknown, index: string): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const { code, constraint, cause } = current as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (code === UNIQUE_VIOLATION) return constraint === index;
    current = cause;
  }
  return false;
}

/** The WHERE clause of one page: the tenant, the filter, and the cursor bounds. */
function pageConditions(tenant: string, filter: CheckoutListFilter, request: CheckoutPageRequest) {
  const conditions: SQL[] = [eq(checkouts.tenant, tenant)];
  if (filter.provider) conditions.push(eq(checkouts.provider, filter.provider));
  if (filter.statuses?.length) conditions.push(inArray(checkouts.status, filter.statuses));
  if (request.afterSeq !== undefined) conditions.push(lt(checkouts.seq, request.afterSeq));
  if (request.beforeSeq !== undefined) conditions.push(gt(checkouts.seq, request.beforeSeq));
  return and(...conditions);
}

/** The schedule after a poll: next poll in `delayMs`, lease released, the outcome recorded. */
function nextPollValues(change: Extract<ScheduleChange, { kind: 'next' }>) {
  return {
    nextPollAt: sql`now() + ${change.delayMs} * interval '1 millisecond'`,
    attempts: change.attempts,
    leaseOwner: null,
    leaseExpiresAt: null,
    lastPolledAt: sql`now()`,
    lastError: change.error ?? null,
    // Kept when the change does not say (an error): the last applied answer is still the last.
    ...(change.answerHash !== undefined && { lastAnswerHash: change.answerHash }),
    ...(change.answerErrors !== undefined && { answerErrors: change.answerErrors }),
  };
}
