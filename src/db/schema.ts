import { relations, sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { CheckoutStatus, ProviderName } from '../domain/checkout.js';
import type { StoredCreateError } from '../domain/records.js';

export type { StoredCreateError } from '../domain/records.js';

/**
 * A merchant, one row per tenant and merchant identity (`key`), shared by every checkout of that
 * tenant at that merchant. Kept per tenant so a merchant id never reveals another tenant's purchases.
 */
export const merchants = pgTable(
  'merchants',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    provider: text('provider').notNull(),
    key: text('key').notNull(),
    name: text('name').notNull(),
    website: text('website'),
    privacyPolicyUrl: text('privacy_policy_url'),
    generalTermsUrl: text('general_terms_url'),
    logoUrl: text('logo_url'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('merchants_tenant_provider_key').on(table.tenant, table.provider, table.key)],
);

/**
 * One checkout at one provider (the domain's CheckoutRecord). Provider-specific fields live in
 * `details`, checked by the provider's details schema when read.
 */
export const checkouts = pgTable(
  'checkouts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Insertion order: the stable sort key behind the newest-first connection cursors. */
    seq: bigserial('seq', { mode: 'number' }).notNull().unique(),
    tenant: text('tenant').notNull(),
    provider: text('provider').$type<ProviderName>().notNull(),
    providerCheckoutId: text('provider_checkout_id'),
    status: text('status').$type<CheckoutStatus>().notNull(),
    currency: text('currency'),
    /** Minor units of `currency`, up to 2^53 − 1 (read back as a JS number, exact in that range). */
    totalAmount: bigint('total_amount', { mode: 'number' }),
    checkoutUrl: text('checkout_url'),
    testMode: boolean('test_mode').notNull(),
    notes: text('notes'),
    merchantId: uuid('merchant_id').references(() => merchants.id),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    /** The typed error the create mutation answered, replayed as is for a retry with the same key. */
    createError: jsonb('create_error').$type<StoredCreateError>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('checkouts_tenant_seq').on(table.tenant, table.seq),
    index('checkouts_tenant_provider_seq').on(table.tenant, table.provider, table.seq),
    uniqueIndex('checkouts_tenant_idempotency_key')
      .on(table.tenant, table.idempotencyKey)
      .where(sql`${table.idempotencyKey} is not null`),
    check('checkouts_total_amount_nonnegative', sql`${table.totalAmount} is null or ${table.totalAmount} >= 0`),
    // The expiry sweep's look-up: OPEN checkouts by age, without scanning finished ones.
    index('checkouts_open_created_at').on(table.createdAt).where(sql`${table.status} = 'OPEN'`),
  ],
);

/** The lines of a checkout, in `position` order. Amounts in minor units of the checkout's currency. */
export const lineItems = pgTable(
  'line_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    checkoutId: uuid('checkout_id')
      .notNull()
      .references(() => checkouts.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
    productId: text('product_id'),
    description: text('description'),
    sku: text('sku'),
    quantity: integer('quantity').notNull(),
    unitPrice: bigint('unit_price', { mode: 'number' }),
    discount: bigint('discount', { mode: 'number' }),
    total: bigint('total', { mode: 'number' }),
    imageUrl: text('image_url'),
    productUrl: text('product_url'),
  },
  (table) => [uniqueIndex('line_items_checkout_position').on(table.checkoutId, table.position)],
);

/** Append-only status history of a checkout. */
export const checkoutEvents = pgTable(
  'checkout_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    checkoutId: uuid('checkout_id')
      .notNull()
      .references(() => checkouts.id, { onDelete: 'cascade' }),
    status: text('status').$type<CheckoutStatus>().notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** Who observed the change: `api` (our own writes), or the provider's name. */
    source: text('source').notNull(),
    notes: text('notes'),
  },
  (table) => [index('checkout_events_checkout_id').on(table.checkoutId, table.id)],
);

/** How a checkout's line items and events hang together, for the read model's one-statement aggregate load. */
export const checkoutRelations = relations(checkouts, ({ many }) => ({
  lineItems: many(lineItems),
  events: many(checkoutEvents),
}));

export const lineItemRelations = relations(lineItems, ({ one }) => ({
  checkout: one(checkouts, { fields: [lineItems.checkoutId], references: [checkouts.id] }),
}));

export const checkoutEventRelations = relations(checkoutEvents, ({ one }) => ({
  checkout: one(checkouts, { fields: [checkoutEvents.checkoutId], references: [checkouts.id] }),
}));

export type MerchantRow = typeof merchants.$inferSelect;
export type CheckoutRow = typeof checkouts.$inferSelect;
export type LineItemRow = typeof lineItems.$inferSelect;
export type CheckoutEventRow = typeof checkoutEvents.$inferSelect;

/**
 * The durable poll schedule: one row per checkout whose provider must be asked for its status.
 * Instances claim due rows with `FOR UPDATE SKIP LOCKED` and hold a lease while polling, so no two
 * instances poll one checkout at once and a crashed instance's leases lapse and are taken over.
 */
export const pollSchedules = pgTable(
  'poll_schedules',
  {
    checkoutId: uuid('checkout_id')
      .primaryKey()
      .references(() => checkouts.id, { onDelete: 'cascade' }),
    nextPollAt: timestamp('next_poll_at', { withTimezone: true }).notNull(),
    /** Polls since the status last changed (or failed polls in a row); drives the backoff. */
    attempts: integer('attempts').notNull().default(0),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    lastPolledAt: timestamp('last_polled_at', { withTimezone: true }),
    lastError: text('last_error'),
    /**
     * Polls in a row answered with something asking again cannot fix (a 4xx, a body we cannot read);
     * at POLL_MAX_ANSWER_ERRORS the checkout becomes UNKNOWN and polling stops. Transport faults
     * (timeouts, 5xx, 429, refused connections) do not count.
     */
    answerErrors: integer('answer_errors').notNull().default(0),
    /**
     * Fingerprint of the last provider answer applied to the checkout: a poll that gets the same
     * answer again only moves the schedule, instead of rewriting the checkout, its line items and
     * its merchant.
     */
    lastAnswerHash: text('last_answer_hash'),
  },
  (table) => [index('poll_schedules_due').on(table.nextPollAt)],
);

export type PollScheduleRow = typeof pollSchedules.$inferSelect;

/**
 * API keys created with `npm run apikey`. Only a SHA-256 of each key is stored; the key itself is
 * shown once, when created. `prefix` (the key's first characters) lets operators tell keys apart.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    /** `read` may query and subscribe; `write` may also mutate. */
    scope: text('scope').notNull(),
    /** May send any document, not only published ones, while TRUSTED_DOCUMENTS=required (operators' tools, GraphiQL). */
    anyDocument: boolean('any_document').notNull().default(false),
    keyHash: text('key_hash').notNull().unique(),
    prefix: text('prefix').notNull(),
    label: text('label'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [check('api_keys_scope', sql`${table.scope} in ('read', 'write')`)],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/**
 * A tenant's webhook endpoint: where `checkout.status_changed` events are POSTed, signed per
 * Standard Webhooks with `secret` (and, until `previousSecretExpiresAt`, with `previousSecret` too,
 * so a receiver rotating its secret accepts either).
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    url: text('url').notNull(),
    description: text('description'),
    /** Event types it receives; empty means every type. */
    events: text('events').array().notNull().default(sql`'{}'::text[]`),
    enabled: boolean('enabled').notNull().default(true),
    /** Why it was disabled (by the dispatcher after failing for a day, or by its owner). */
    disabledReason: text('disabled_reason'),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    /** Start of the current run of failed attempts; cleared by any success. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('webhook_endpoints_tenant').on(table.tenant, table.createdAt)],
);

/** The outbox: one row per event, written in the transaction of the change it tells about. */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    /** Sent as `webhook-id` (`msg_<uuid>`), the same for every attempt and every endpoint. */
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    checkoutId: uuid('checkout_id').references(() => checkouts.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('webhook_events_checkout').on(table.checkoutId)],
);

/** One event for one endpoint: its delivery state, claimed by dispatchers with a lease. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Order of creation: a delivery waits for every earlier unfinished one of its checkout and endpoint. */
    seq: bigserial('seq', { mode: 'number' }).notNull().unique(),
    eventId: text('event_id')
      .notNull()
      .references(() => webhookEvents.id, { onDelete: 'cascade' }),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    tenant: text('tenant').notNull(),
    /** The ordering key: deliveries of one checkout to one endpoint go out one after the other. */
    checkoutId: uuid('checkout_id'),
    status: text('status').$type<'PENDING' | 'SUCCEEDED' | 'FAILED'>().notNull().default('PENDING'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    lastResponseStatus: integer('last_response_status'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('webhook_deliveries_due').on(table.nextAttemptAt).where(sql`${table.status} = 'PENDING'`),
    index('webhook_deliveries_endpoint_seq').on(table.endpointId, table.seq),
    index('webhook_deliveries_order').on(table.endpointId, table.checkoutId, table.seq),
    check('webhook_deliveries_status', sql`${table.status} in ('PENDING', 'SUCCEEDED', 'FAILED')`),
  ],
);

/** One HTTP attempt of a delivery: the delivery log. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    responseStatus: integer('response_status'),
    /** The first 1 KB of the response body. */
    responseBody: text('response_body'),
    error: text('error'),
  },
  (table) => [index('webhook_attempts_delivery').on(table.deliveryId, table.startedAt)],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookEventRow = typeof webhookEvents.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

/**
 * A published version of an app's trusted documents (per tenant): its documents are served by hash
 * while `retired_at` is null, and `npm run schema:check` validates them against every schema change.
 */
export const documentManifests = pgTable(
  'document_manifests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenant: text('tenant').notNull(),
    appName: text('app_name').notNull(),
    appVersion: text('app_version').notNull(),
    documentCount: integer('document_count').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    retiredAt: timestamp('retired_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('document_manifests_tenant_app_version').on(table.tenant, table.appName, table.appVersion)],
);

export type DocumentManifestRow = typeof documentManifests.$inferSelect;

/** The documents of a manifest, by sha256 (hex): looked up by hash and then by the manifest's tenant. */
export const persistedDocuments = pgTable(
  'persisted_documents',
  {
    manifestId: uuid('manifest_id')
      .notNull()
      .references(() => documentManifests.id, { onDelete: 'cascade' }),
    hash: text('hash').notNull(),
    body: text('body').notNull(),
  },
  (table) => [
    uniqueIndex('persisted_documents_manifest_hash').on(table.manifestId, table.hash),
    index('persisted_documents_hash').on(table.hash),
  ],
);
