/**
 * The ceiling for creates (issue 22, goal 1): bare node:http answering the `createSmartCheckout`
 * mutation create-flow sends (bench/lib/creates.ts) with the work this API does for it, written
 * directly against the driver:
 *
 *   1. one statement records the checkout PENDING: the checkout row, its line item, its event, and
 *      the webhook outbox (event + one delivery per endpoint of the tenant that wants it, nothing
 *      when none does), as src/db/repository.ts createPending and src/db/webhooks.ts write them;
 *   2. one `fetch` to the provider (`POST /v0/checkout`, Bearer key; SMARTCHECKOUT_BASE_URL);
 *   3. one statement applies the answer: the merchant (inserted, or updated only when it changed),
 *      the checkout (PROCESSING, provider id, merchant, test mode, notes), its event, its poll
 *      schedule (due in POLL_INTERVAL_MS, the hash of the last applied answer cleared) and the
 *      outbox; the line item is already what the answer says, so it is not rewritten.
 *
 * Each statement is its own transaction (a statement with data-modifying CTEs is atomic), so a
 * create is 2 statements in 2 transactions. On PostgreSQL both are named prepared statements
 * (parsed once per connection); PGlite's API parses every query (`query(text, params)`).
 * The answer is built from what was written, in the shape and field order this API answers
 * bench/lib/creates.ts's selection; the GraphQL document is not read (no parsing, no validation
 * beyond what the writes need).
 *
 * The database is opened with the project's own openDatabase (src/db/client.ts), which runs the
 * project's migrations: the tables, indexes and constraints are this API's. Environment as for
 * bench/servers/ours.ts: DATABASE_URL (else PGlite in DATA_DIR, `memory://` by default), API_KEYS
 * (`tenant:key,...`), SMARTCHECKOUT_BASE_URL / SMARTCHECKOUT_API_KEY / SMARTCHECKOUT_TEST_MODE,
 * POLL_INTERVAL_MS, PORT. Prints `READY {"url", "pid", "database"}`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { openDatabase } from '../../src/db/client.js';
import { hashRequest } from '../../src/domain/checkout-service.js';

const providerUrl = process.env.SMARTCHECKOUT_BASE_URL;
if (!providerUrl) throw new Error('bare-create needs SMARTCHECKOUT_BASE_URL (the fake provider)');
const providerAuthorization = `Bearer ${process.env.SMARTCHECKOUT_API_KEY ?? ''}`;
const testMode = process.env.SMARTCHECKOUT_TEST_MODE === 'true';
const pollIntervalMs = Number(process.env.POLL_INTERVAL_MS ?? 1000);
/** API keys as sha256 digests, as this API compares them (src/http/auth.ts). */
const keys = (process.env.API_KEYS ?? '')
  .split(',')
  .filter(Boolean)
  .map((pair) => {
    const [tenant, key] = pair.split(':');
    return { tenant: tenant!, digest: sha256(key!) };
  });

const handle = await openDatabase({
  databaseUrl: process.env.DATABASE_URL || undefined,
  dataDir: process.env.DATA_DIR ?? 'memory://',
  role: 'bare-create',
});
const driver = (handle.db as unknown as { $client: PGlite | pg.Pool }).$client;

/** Runs one of the two statements: a named prepared statement on PostgreSQL, PGlite's query otherwise. */
async function run<Row>(name: string, text: string, values: unknown[]): Promise<Row[]> {
  if (handle.kind === 'postgres') return (await (driver as pg.Pool).query({ name, text, values })).rows as Row[];
  return (await (driver as PGlite).query<Row>(text, values)).rows;
}

/** The body of a `checkout.status_changed` event (src/webhooks/events.ts) from row `c`, in SQL. */
function statusChangedPayload(previousStatus: string): string {
  const at = `to_char(c.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  // The total is null on both writes of a Smartcheckout create: it is known at completion only.
  return `jsonb_build_object('type', 'checkout.status_changed', 'timestamp', ${at}, 'data', jsonb_build_object('checkout',
    jsonb_build_object('id', encode(convert_to('SmartCheckout:' || c.id::text, 'UTF8'), 'base64'),
      'provider', c.provider, 'status', c.status, 'previousStatus', ${previousStatus},
      'providerCheckoutId', c.provider_checkout_id, 'total', null, 'testMode', c.test_mode, 'notes', c.notes,
      'updatedAt', ${at})))`;
}

/** The outbox (src/db/webhooks.ts enqueueStatusChange) for the change in CTE `c`. */
function outbox(tenantParam: string, previousStatus: string): string {
  return `targets as (
    select id from webhook_endpoints
    where tenant = ${tenantParam} and enabled and (cardinality(events) = 0 or 'checkout.status_changed' = any(events))
  ), webhook_event as (
    insert into webhook_events (id, tenant, checkout_id, type, payload)
    select 'msg_' || gen_random_uuid(), c.tenant, c.id, 'checkout.status_changed', ${statusChangedPayload(previousStatus)}
    from c where exists (select 1 from targets)
    returning id, checkout_id
  ), deliveries as (
    insert into webhook_deliveries (event_id, endpoint_id, tenant, checkout_id)
    select webhook_event.id, targets.id, ${tenantParam}, webhook_event.checkout_id from webhook_event cross join targets
  )`;
}

const RECORD_PENDING = `with c as (
    insert into checkouts (tenant, provider, status, test_mode, details, idempotency_key, request_hash)
    values ($1, 'SMARTCHECKOUT', 'PENDING', $2::boolean, $3::text::jsonb, $4, $5)
    returning id, tenant, provider, status, provider_checkout_id, test_mode, notes, created_at, updated_at
  ), line_item as (
    insert into line_items (checkout_id, position, product_url, quantity) select id, 0, $6, 1 from c
  ), event as (
    insert into checkout_events (checkout_id, status, source, at) select id, status, 'api', created_at from c
  ), ${outbox('$1', 'null')}
  select id, created_at from c`;

const APPLY_ANSWER = `with m as (
    insert into merchants (tenant, provider, key, name, website) values ($1, 'SMARTCHECKOUT', $2, $3, $4)
    on conflict (tenant, provider, key) do update
      set name = excluded.name, website = coalesce(excluded.website, merchants.website), updated_at = $7::text::timestamptz
      where merchants.name is distinct from excluded.name
        or merchants.website is distinct from coalesce(excluded.website, merchants.website)
    returning id
  ), merchant as (
    select coalesce((select id from m),
      (select id from merchants where tenant = $1 and provider = 'SMARTCHECKOUT' and key = $2)) as id
  ), c as (
    update checkouts set status = 'PROCESSING', updated_at = $7::text::timestamptz, merchant_id = merchant.id,
      provider_checkout_id = $5, notes = null, test_mode = $6::boolean
    from merchant
    where checkouts.id = $8::uuid and checkouts.status = 'PENDING' and merchant.id is not null
    returning checkouts.id, checkouts.tenant, checkouts.provider, checkouts.status, checkouts.provider_checkout_id,
      checkouts.test_mode, checkouts.notes, checkouts.updated_at, merchant.id as merchant_id
  ), event as (
    insert into checkout_events (checkout_id, status, source, notes, at)
    select id, status, 'smartcheckout', notes, updated_at from c
  ), schedule as (
    insert into poll_schedules (checkout_id, next_poll_at) select id, now() + $9::float8 * interval '1 millisecond' from c
    on conflict (checkout_id) do update set last_answer_hash = null
  ), ${outbox('$1', "'PENDING'")}
  select merchant_id from c`;

const RECORD_UNKNOWN = `with c as (
    update checkouts set status = 'UNKNOWN', updated_at = now(), notes = $2 where id = $1::uuid and status = 'PENDING'
    returning id, tenant, provider, status, provider_checkout_id, test_mode, notes, updated_at
  ), event as (
    insert into checkout_events (checkout_id, status, source, notes, at) select id, status, 'api', notes, updated_at from c
  ), ${outbox('(select tenant from c)', "'PENDING'")}
  select id from c`;

interface SmartInput {
  idempotencyKey?: string | null;
  productUrl?: unknown;
  email?: unknown;
  prompt?: string | null;
  shippingAddress?: Record<string, string | null> | null;
  userData?: Record<string, unknown> | null;
}

class BadInput extends Error {}

async function create(tenant: string, input: SmartInput): Promise<unknown> {
  const { idempotencyKey, ...request } = input;
  if (typeof request.productUrl !== 'string' || !/^https?:\/\/[^/]/.test(request.productUrl))
    throw new BadInput('productUrl must be an absolute http(s) URL');
  if (typeof request.email !== 'string' || !request.email.includes('@'))
    throw new BadInput('email must be a valid email address');
  const productUrl = request.productUrl;
  const userData: Record<string, unknown> = { ...(request.userData ?? {}), email: request.email.trim() };
  if (request.prompt != null) userData.prompt = request.prompt;
  if (request.shippingAddress != null) userData.shipping_address = snakeCase(request.shippingAddress);
  const requestHash = hashRequest('SMARTCHECKOUT', request);

  const [pending] = await run<{ id: string; created_at: Date }>('bare_record_pending', RECORD_PENDING, [
    tenant,
    testMode,
    JSON.stringify({ productUrl, userData }),
    idempotencyKey ?? null,
    requestHash,
    productUrl,
  ]);
  const id = pending!.id;

  let providerCheckoutId: string;
  try {
    const response = await fetch(`${providerUrl}/v0/checkout`, {
      method: 'POST',
      headers: { authorization: providerAuthorization, 'content-type': 'application/json' },
      body: JSON.stringify({ url: productUrl, user_data: userData }),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await response.json()) as { checkout_id?: unknown; status?: unknown };
    if (!response.ok || typeof answer.checkout_id !== 'string' || answer.status !== 'processing')
      throw new Error(`Smartcheckout answered ${response.status}`);
    providerCheckoutId = answer.checkout_id;
  } catch (error) {
    const message = `${(error as Error).message}; the provider may have created the checkout`;
    await run('bare_record_unknown', RECORD_UNKNOWN, [id, message]);
    return { __typename: 'ProviderError', message, code: 'PROVIDER_ERROR' };
  }

  const origin = new URL(productUrl);
  const updatedAt = new Date();
  const values = [
    tenant,
    origin.origin,
    origin.hostname,
    origin.origin,
    providerCheckoutId,
    testMode,
    updatedAt.toISOString(),
    id,
    pollIntervalMs,
  ];
  // Nothing updated: two creates inserted the same new merchant at once and this statement's
  // snapshot did not see the other's row. A new statement (a new snapshot) does.
  let [applied] = await run<{ merchant_id: string }>('bare_apply_answer', APPLY_ANSWER, values);
  if (!applied) [applied] = await run<{ merchant_id: string }>('bare_apply_answer', APPLY_ANSWER, values);
  if (!applied) throw new Error(`checkout ${id} was not PENDING any more`);

  return {
    __typename: 'CreateSmartCheckoutSuccess',
    checkout: {
      __typename: 'SmartCheckout',
      id: globalId('SmartCheckout', id),
      status: 'PROCESSING',
      providerCheckoutId,
      testMode,
      createdAt: pending!.created_at.toISOString(),
      updatedAt: updatedAt.toISOString(),
      total: null,
      lineItems: [{ productUrl, quantity: 1 }],
      merchant: { id: globalId('Merchant', applied.merchant_id), name: origin.hostname, website: origin.origin },
    },
  };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    handleRequest(req, res, Buffer.concat(chunks)).catch((error: Error) => {
      if (!res.headersSent) reply(res, 500, { errors: [{ message: error.message }] });
    });
  });
});

async function handleRequest(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  if (req.method !== 'POST' || req.url !== '/graphql') return reply(res, 404, { errors: [{ message: 'Not Found' }] });
  const tenant = tenantOf(req.headers.authorization);
  if (!tenant) return reply(res, 401, { errors: [{ message: 'Unauthorized' }] });
  let input: SmartInput;
  try {
    input = (JSON.parse(body.toString('utf8')) as { variables: { input: SmartInput } }).variables.input;
  } catch {
    return reply(res, 400, { errors: [{ message: 'body must be JSON with variables.input' }] });
  }
  try {
    reply(res, 200, { data: { createSmartCheckout: await create(tenant, input) } });
  } catch (error) {
    if (!(error instanceof BadInput)) throw error;
    reply(res, 200, {
      data: { createSmartCheckout: { __typename: 'ValidationError', message: error.message, code: 'VALIDATION' } },
    });
  }
}

function reply(res: ServerResponse, status: number, answer: unknown): void {
  const payload = JSON.stringify(answer);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function tenantOf(authorization: string | undefined): string | undefined {
  const match = /^Bearer (\S+)$/.exec(authorization ?? '');
  if (!match) return undefined;
  const presented = sha256(match[1]!);
  return keys.find((key) => timingSafeEqual(key.digest, presented))?.tenant;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The relay plugin's global id: base64 of `<typename>:<id>`. */
function globalId(typename: string, id: string): string {
  return Buffer.from(`${typename}:${id}`).toString('base64');
}

function snakeCase(address: Record<string, string | null>): Record<string, string> {
  const wire: Record<string, string> = {};
  for (const [key, value] of Object.entries(address))
    if (value != null) wire[key === 'postalCode' ? 'postal_code' : key] = value;
  return wire;
}

server.keepAliveTimeout = 5_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`READY ${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid, database: handle.kind })}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void handle.close().finally(() => process.exit(0)));
});
