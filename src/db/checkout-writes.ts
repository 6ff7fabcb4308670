import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { isTerminal, type CheckoutStatus } from '../domain/checkout.js';
import type { ApplyOptions, ScheduleChange, StatusChangeBody } from '../domain/ports.js';
import type { NewCheckout } from '../domain/records.js';
import type { LineItemInfo, ProviderSnapshot } from '../domain/snapshot.js';
import type { Database } from './client.js';
import { preparedRunnerOf } from './prepared.js';
import type { CheckoutEventRow, CheckoutRow, LineItemRow, MerchantRow } from './schema.js';

/*
 * The two writes of a create and the one write of every later change, each a single statement:
 * data-modifying CTEs write the checkout with its line items, event, merchant, poll schedule and
 * webhook outbox, and the statement answers with everything written, so nothing is read back.
 * A statement costs a round trip (and PGlite about half a millisecond) whatever it does, so the
 * number of statements, not their size, is what a create costs the database.
 */

type Executor = Pick<Database, 'execute'>;

/** Runs a hot write as a named prepared statement where the database has a runner (not inside a transaction). */
function execute(db: Executor, query: SQL): Promise<unknown> {
  const runner = preparedRunnerOf(db);
  return runner ? runner.run(query) : db.execute(query);
}

/** What the webhook outbox records for a status change. */
const STATUS_CHANGED = 'checkout.status_changed';

/** Everything a write stored about one checkout: enough to answer and to fill the read model. */
export interface WrittenCheckout {
  row: CheckoutRow;
  lineItems: LineItemRow[];
  /** Every event of the checkout, oldest first. */
  events: CheckoutEventRow[];
  /** The event this write appended (its status changed), if any. */
  event: CheckoutEventRow | null;
  /** The merchant row, when this write inserted or changed it. */
  merchant: MerchantRow | null;
  /** Webhook deliveries this write put in the outbox. */
  deliveries: number;
}

/**
 * The insert of a new PENDING checkout with its line items, its first event and its webhook
 * deliveries, as one statement. A unique violation of the idempotency index fails it whole.
 * `statusChangedPayload` formats the webhook body stored in the outbox.
 */
export async function insertPending(
  db: Executor,
  input: NewCheckout,
  statusChangedPayload: StatusChangeBody,
): Promise<WrittenCheckout> {
  const id = randomUUID();
  const now = new Date();
  const payload = JSON.stringify(
    statusChangedPayload(
      {
        id,
        provider: input.provider,
        status: 'PENDING',
        providerCheckoutId: null,
        totalAmount: null,
        currency: input.currency ?? null,
        testMode: input.testMode,
        notes: null,
        updatedAt: now,
      },
      null,
    ),
  );
  const at = now.toISOString();
  const result = await execute(
    db,
    sql`
    with written as (
      insert into checkouts (id, tenant, provider, status, test_mode, currency, details, idempotency_key, request_hash, created_at, updated_at)
      values (${id}, ${input.tenant}, ${input.provider}, 'PENDING', ${input.testMode}, ${input.currency ?? null},
        ${JSON.stringify(input.details)}::jsonb, ${input.idempotencyKey ?? null}, ${input.requestHash ?? null},
        ${at}::timestamptz, ${at}::timestamptz)
      returning *
    ), items as (
      ${insertItems('written', input.lineItems ?? [])}
      returning *
    ), event as (
      insert into checkout_events (checkout_id, status, source, at)
      select id, 'PENDING', 'api', created_at from written
      returning *
    ), ${outbox('written', input.tenant, id, payload)}
    select
      (select row_to_json(written) from written) as checkout,
      (select row_to_json(event) from event) as event,
      (select coalesce(json_agg(items order by items.position), '[]'::json) from items) as items,
      (select count(*)::int from deliveries) as deliveries`,
  );
  const answer = firstRow(result);
  const row = checkoutFromJson(answer.checkout as Json);
  const event = eventFromJson(answer.event as Json);
  return {
    row,
    lineItems: (answer.items as Json[]).map(lineItemFromJson),
    events: [event],
    event,
    merchant: null,
    deliveries: Number(answer.deliveries),
  };
}

/** Why a snapshot is not written over `current`, or undefined when it may be. */
export function refusal(current: CheckoutRow, snapshot: ProviderSnapshot, source: string, options: ApplyOptions) {
  const { onlyFrom } = options;
  if (onlyFrom && !(typeof onlyFrom === 'string' ? [onlyFrom] : onlyFrom).includes(current.status)) return 'onlyFrom';
  // A final status is final: a late answer (a poll in flight while the merchant recorded the
  // outcome) never reopens it. Only an operator correcting a record may change it.
  if (isTerminal(current.status) && snapshot.status !== current.status && source !== 'operator') return 'final';
  return undefined;
}

/**
 * Writes a snapshot over `expected` as one statement, if the row is still `expected` (its
 * `updatedAt`): the checkout, the merchant (only when the answer changes it), the line items (only
 * those that changed), an event and the webhook outbox when the status changed, and the schedule
 * change. Undefined when the row changed since `expected` was read: the caller decides again on the
 * current row (under its lock). `statusChangedPayload` formats the webhook body of a status change.
 */
export async function applyOver(
  db: Executor,
  expected: CheckoutRow,
  snapshot: ProviderSnapshot,
  source: string,
  options: ApplyOptions,
  statusChangedPayload: StatusChangeBody,
): Promise<WrittenCheckout | undefined> {
  const { schedule = { kind: 'keep' }, createError, releaseIdempotencyKey } = options;
  const now = new Date();
  const at = now.toISOString();
  const next: CheckoutRow = {
    ...expected,
    status: snapshot.status,
    providerCheckoutId:
      snapshot.providerCheckoutId !== undefined ? snapshot.providerCheckoutId : expected.providerCheckoutId,
    currency: snapshot.currency !== undefined ? snapshot.currency : expected.currency,
    totalAmount: snapshot.total !== undefined ? snapshot.total : expected.totalAmount,
    notes: snapshot.notes !== undefined ? snapshot.notes : expected.notes,
    checkoutUrl: snapshot.checkoutUrl !== undefined ? snapshot.checkoutUrl : expected.checkoutUrl,
    testMode: snapshot.testMode !== undefined ? snapshot.testMode : expected.testMode,
    details: snapshot.details ? { ...expected.details, ...snapshot.details } : expected.details,
    createError: createError ?? expected.createError,
    idempotencyKey: releaseIdempotencyKey ? null : expected.idempotencyKey,
    requestHash: releaseIdempotencyKey ? null : expected.requestHash,
    updatedAt: now,
  };
  const statusChanged = expected.status !== next.status;
  const payload = statusChanged ? JSON.stringify(statusChangedPayload(next, expected.status)) : null;
  const merchant = snapshot.merchant;
  const items = snapshot.lineItems;
  const result = await execute(
    db,
    sql`
    with merchant as (
      insert into merchants (tenant, provider, key, name, website, privacy_policy_url, general_terms_url, logo_url)
      select ${expected.tenant}, ${expected.provider}, ${merchant?.key ?? ''}, ${merchant?.name ?? ''},
        ${merchant?.website ?? null}, ${merchant?.privacyPolicyUrl ?? null}, ${merchant?.generalTermsUrl ?? null}, ${merchant?.logoUrl ?? null}
      where ${merchant !== undefined}::boolean
      on conflict (tenant, provider, key) do update set
        name = excluded.name,
        website = coalesce(excluded.website, merchants.website),
        privacy_policy_url = coalesce(excluded.privacy_policy_url, merchants.privacy_policy_url),
        general_terms_url = coalesce(excluded.general_terms_url, merchants.general_terms_url),
        logo_url = coalesce(excluded.logo_url, merchants.logo_url),
        updated_at = now()
      -- A merchant the answer does not change is not rewritten.
      where (merchants.name, merchants.website, merchants.privacy_policy_url, merchants.general_terms_url, merchants.logo_url)
        is distinct from (excluded.name, coalesce(excluded.website, merchants.website),
          coalesce(excluded.privacy_policy_url, merchants.privacy_policy_url),
          coalesce(excluded.general_terms_url, merchants.general_terms_url), coalesce(excluded.logo_url, merchants.logo_url))
      returning *
    ), written as (
      update checkouts set
        status = ${next.status}, provider_checkout_id = ${next.providerCheckoutId}, currency = ${next.currency},
        total_amount = ${next.totalAmount}, notes = ${next.notes}, checkout_url = ${next.checkoutUrl},
        test_mode = ${next.testMode}, details = ${JSON.stringify(next.details)}::jsonb,
        create_error = ${next.createError === null ? null : JSON.stringify(next.createError)}::jsonb,
        idempotency_key = ${next.idempotencyKey}, request_hash = ${next.requestHash},
        merchant_id = ${merchant ? sql`coalesce((select id from merchant), (select id from merchants where tenant = ${expected.tenant} and provider = ${expected.provider} and key = ${merchant.key}))` : sql`${expected.merchantId}::uuid`},
        updated_at = ${at}::timestamptz
      where id = ${expected.id} and date_trunc('milliseconds', updated_at) = ${expected.updatedAt.toISOString()}::timestamptz
      returning *
    ), items as (
      ${insertItems('written', items ?? [])}
      on conflict (checkout_id, position) do update set
        product_id = excluded.product_id, description = excluded.description, sku = excluded.sku,
        quantity = excluded.quantity, unit_price = excluded.unit_price, discount = excluded.discount,
        total = excluded.total, image_url = excluded.image_url, product_url = excluded.product_url
      -- Only the lines that changed are rewritten.
      where (line_items.product_id, line_items.description, line_items.sku, line_items.quantity, line_items.unit_price,
          line_items.discount, line_items.total, line_items.image_url, line_items.product_url)
        is distinct from (excluded.product_id, excluded.description, excluded.sku, excluded.quantity, excluded.unit_price,
          excluded.discount, excluded.total, excluded.image_url, excluded.product_url)
      returning *
    ), items_dropped as (
      delete from line_items
      where ${items !== undefined}::boolean and checkout_id = ${expected.id} and position >= ${items?.length ?? 0}
        and exists (select 1 from written)
    ), event as (
      insert into checkout_events (checkout_id, status, source, notes, at)
      select id, status, ${source}, ${snapshot.notes ?? null}, ${at}::timestamptz from written where ${statusChanged}::boolean
      returning *
    ), ${outbox('written', expected.tenant, expected.id, payload)}, ${scheduleChange(expected.id, schedule)}
    select
      (select row_to_json(written) from written) as checkout,
      (select row_to_json(event) from event) as event,
      (select row_to_json(merchant) from merchant) as merchant,
      (select coalesce(json_agg(e order by e.id), '[]'::json) from checkout_events e where e.checkout_id = ${expected.id}) as events_before,
      (select coalesce(json_agg(l order by l.position), '[]'::json) from line_items l where l.checkout_id = ${expected.id}) as items_before,
      (select coalesce(json_agg(items), '[]'::json) from items) as items_written,
      (select count(*)::int from deliveries) as deliveries`,
  );
  const answer = firstRow(result);
  if (!answer.checkout) return undefined;
  const event = answer.event ? eventFromJson(answer.event as Json) : null;
  const before = (answer.items_before as Json[]).map(lineItemFromJson);
  const rewritten = new Map(
    (answer.items_written as Json[]).map(lineItemFromJson).map((item) => [item.position, item]),
  );
  // The statement sees the line items as they were before it: the rows it rewrote replace them.
  const lineItems =
    items === undefined
      ? before
      : items.map((_, position) => rewritten.get(position) ?? before.find((item) => item.position === position)!);
  return {
    row: checkoutFromJson(answer.checkout as Json),
    lineItems,
    events: [...(answer.events_before as Json[]).map(eventFromJson), ...(event ? [event] : [])],
    event,
    merchant: answer.merchant ? merchantFromJson(answer.merchant as Json) : null,
    deliveries: Number(answer.deliveries),
  };
}

/** `insert into line_items … select` of `items` for the checkout written by CTE `source` (no rows: inserts nothing). */
function insertItems(source: string, items: readonly LineItemInfo[]): SQL {
  const rows = JSON.stringify(
    items.map((item, position) => ({
      position,
      product_id: item.productId ?? null,
      description: item.description ?? null,
      sku: item.sku ?? null,
      quantity: item.quantity,
      unit_price: item.unitPrice ?? null,
      discount: item.discount ?? null,
      total: item.total ?? null,
      image_url: item.imageUrl ?? null,
      product_url: item.productUrl ?? null,
    })),
  );
  return sql`
      insert into line_items (checkout_id, position, product_id, description, sku, quantity, unit_price, discount, total, image_url, product_url)
      select c.id, x.position, x.product_id, x.description, x.sku, x.quantity, x.unit_price, x.discount, x.total, x.image_url, x.product_url
      from ${sql.raw(source)} c cross join jsonb_to_recordset(${rows}::jsonb) as x(position int, product_id text,
        description text, sku text, quantity int, unit_price bigint, discount bigint, total bigint, image_url text, product_url text)`;
}

/**
 * The webhook outbox of a status change (`payload` null: none): the event, and one delivery per
 * enabled endpoint of the tenant that wants it, only if the checkout CTE `source` wrote a row.
 * Defines the CTEs `targets`, `webhook_event` and `deliveries`.
 */
function outbox(source: string, tenant: string, checkoutId: string, payload: string | null): SQL {
  return sql`targets as (
      select id from webhook_endpoints
      where ${payload !== null}::boolean and tenant = ${tenant} and enabled
        and (cardinality(events) = 0 or ${STATUS_CHANGED} = any(events))
        and exists (select 1 from ${sql.raw(source)})
    ), webhook_event as (
      insert into webhook_events (id, tenant, checkout_id, type, payload)
      select ${`msg_${randomUUID()}`}, ${tenant}, ${checkoutId}, ${STATUS_CHANGED}, ${payload}::jsonb
      where exists (select 1 from targets)
      returning id
    ), deliveries as (
      insert into webhook_deliveries (event_id, endpoint_id, tenant, checkout_id)
      select webhook_event.id, targets.id, ${tenant}, ${checkoutId} from webhook_event cross join targets
      returning id
    )`;
}

/**
 * The poll schedule's change as CTE `schedule`, only if CTE `written` wrote the row. A write by
 * anyone but the poller (`keep`, `ensure`) also forgets the poller's last answer, so its next answer
 * is applied even if it repeats that one (nothing is rewritten when there is none to forget).
 */
function scheduleChange(checkoutId: string, change: ScheduleChange): SQL {
  switch (change.kind) {
    case 'keep':
      return sql`schedule as (
      update poll_schedules set last_answer_hash = null
      where checkout_id = ${checkoutId} and last_answer_hash is not null and exists (select 1 from written)
    )`;
    case 'ensure':
      // A refresh must not reset the backoff of a schedule that already exists.
      return sql`schedule as (
      insert into poll_schedules (checkout_id, next_poll_at)
      select id, now() + ${change.delayMs} * interval '1 millisecond' from written
      on conflict (checkout_id) do update set last_answer_hash = null where poll_schedules.last_answer_hash is not null
    )`;
    case 'remove':
      return sql`schedule as (
      delete from poll_schedules where checkout_id = ${checkoutId} and exists (select 1 from written)
    )`;
    case 'next':
      // Only the lease holder moves the schedule: a lapsed lease now belongs to someone else.
      return sql`schedule as (
      update poll_schedules set
        next_poll_at = now() + ${change.delayMs} * interval '1 millisecond',
        attempts = ${change.attempts}, lease_owner = null, lease_expires_at = null, last_polled_at = now(),
        last_error = ${change.error ?? null},
        last_answer_hash = ${change.answerHash === undefined ? sql`last_answer_hash` : sql`${change.answerHash}`},
        answer_errors = ${change.answerErrors === undefined ? sql`answer_errors` : sql`${change.answerErrors}`}
      where checkout_id = ${checkoutId} and lease_owner = ${change.owner} and exists (select 1 from written)
    )`;
  }
}

type Json = Record<string, unknown>;

function firstRow(result: unknown): Json {
  const row = (result as { rows: Json[] }).rows[0];
  if (!row) throw new Error('a write statement answered no row');
  return row;
}

const date = (value: unknown) => new Date(value as string);
const numberOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));
const textOrNull = (value: unknown) => (value === null || value === undefined ? null : (value as string));

/** A checkout row from `row_to_json` (both drivers answer JSON alike: snake case, ISO times). */
export function checkoutFromJson(json: Json): CheckoutRow {
  return {
    id: json.id as string,
    seq: Number(json.seq),
    tenant: json.tenant as string,
    provider: json.provider as CheckoutRow['provider'],
    providerCheckoutId: textOrNull(json.provider_checkout_id),
    status: json.status as CheckoutStatus,
    currency: textOrNull(json.currency),
    totalAmount: numberOrNull(json.total_amount),
    checkoutUrl: textOrNull(json.checkout_url),
    testMode: Boolean(json.test_mode),
    notes: textOrNull(json.notes),
    merchantId: textOrNull(json.merchant_id),
    idempotencyKey: textOrNull(json.idempotency_key),
    requestHash: textOrNull(json.request_hash),
    details: (json.details ?? {}) as Record<string, unknown>,
    createError: (json.create_error ?? null) as CheckoutRow['createError'],
    createdAt: date(json.created_at),
    updatedAt: date(json.updated_at),
  };
}

function eventFromJson(json: Json): CheckoutEventRow {
  return {
    id: Number(json.id),
    checkoutId: json.checkout_id as string,
    status: json.status as CheckoutStatus,
    at: date(json.at),
    source: json.source as string,
    notes: textOrNull(json.notes),
  };
}

function lineItemFromJson(json: Json): LineItemRow {
  return {
    id: json.id as string,
    checkoutId: json.checkout_id as string,
    position: Number(json.position),
    productId: textOrNull(json.product_id),
    description: textOrNull(json.description),
    sku: textOrNull(json.sku),
    quantity: Number(json.quantity),
    unitPrice: numberOrNull(json.unit_price),
    discount: numberOrNull(json.discount),
    total: numberOrNull(json.total),
    imageUrl: textOrNull(json.image_url),
    productUrl: textOrNull(json.product_url),
  };
}

function merchantFromJson(json: Json): MerchantRow {
  return {
    id: json.id as string,
    tenant: json.tenant as string,
    provider: json.provider as string,
    key: json.key as string,
    name: json.name as string,
    website: textOrNull(json.website),
    privacyPolicyUrl: textOrNull(json.privacy_policy_url),
    generalTermsUrl: textOrNull(json.general_terms_url),
    logoUrl: textOrNull(json.logo_url),
    createdAt: date(json.created_at),
    updatedAt: date(json.updated_at),
  };
}
