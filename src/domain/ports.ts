/**
 * What the domain needs from the rest of the app, declared here and implemented outside:
 * the store by `db/`, the publisher by `realtime/`, the providers by `providers/<name>/`.
 */
import type { CheckoutStatus, ProviderName } from './checkout.js';
import type { ProviderError } from './errors.js';
import type { CheckoutEventRecord, CheckoutRecord, NewCheckout, StoredCreateError } from './records.js';
import type { ProviderSnapshot } from './snapshot.js';

/** How the poll schedule changes along with a write. */
export type ScheduleChange =
  | { kind: 'keep' }
  /** Start polling in `delayMs` unless a schedule exists already. */
  | { kind: 'ensure'; delayMs: number }
  /** The poller's verdict after a poll: next poll in `delayMs`, lease released. */
  | {
      kind: 'next';
      owner: string;
      delayMs: number;
      attempts: number;
      error?: string | null;
      answerHash?: string;
      /** Unusable answers in a row; unchanged when undefined. */
      answerErrors?: number;
    }
  /** No more polling (terminal status). */
  | { kind: 'remove' };

/** What else a snapshot write does. */
export interface ApplyOptions {
  /** How the poll schedule changes in the same transaction (default: unchanged). */
  schedule?: ScheduleChange;
  /** The create mutation's typed error, stored for idempotent replay. */
  createError?: StoredCreateError;
  /** Write only if the checkout is still in (one of) these statuses; otherwise leave it and report no event. */
  onlyFrom?: CheckoutStatus | readonly CheckoutStatus[];
  /** Forget the checkout's idempotency key, so the same key may create a new checkout. */
  releaseIdempotencyKey?: boolean;
}

/** The checkout after a write, and the event appended if its status changed. */
export interface SnapshotResult {
  /** The row as written, or as found when the write was refused. */
  row: CheckoutRecord;
  event: CheckoutEventRecord | null;
  /** False when the write was refused (`onlyFrom`, or a final status a non-operator tried to leave). */
  written: boolean;
  /** Webhook deliveries the write put in the outbox (its dispatcher may want waking). */
  deliveries: number;
}

/** The checkout fields a status change's webhook body tells about: the row as the change wrote it. */
export type StatusChangedCheckout = Pick<
  CheckoutRecord,
  'id' | 'provider' | 'status' | 'providerCheckoutId' | 'totalAmount' | 'currency' | 'testMode' | 'notes' | 'updatedAt'
>;

/**
 * Formats the body of the `checkout.status_changed` webhook event that a status change stores in the
 * outbox along with it. The store writes the body in the same statement as the change; the shape (the
 * API's global ids and Money fields) is the API's, so the composition root passes it in.
 */
export type StatusChangeBody = (checkout: StatusChangedCheckout, previousStatus: CheckoutStatus | null) => unknown;

/** One line item of a checkout as the store reads it, with the currency of its checkout (amounts in its minor units). */
export interface LineItemRecord {
  id: string;
  checkoutId: string;
  /** Order within the checkout, from 0. */
  position: number;
  productId: string | null;
  description: string | null;
  sku: string | null;
  quantity: number;
  unitPrice: number | null;
  discount: number | null;
  total: number | null;
  imageUrl: string | null;
  productUrl: string | null;
  currency: string | null;
}

/** Where checkouts are kept. Every write of one checkout is serialised by the store (a row lock). */
export interface CheckoutStore {
  /**
   * Writes the PENDING checkout, its known line items and its first event in one transaction, with
   * the `checkout.status_changed` webhook event for the tenant's endpoints (a transactional outbox).
   * Throws `IdempotencyKeyTakenError` (and writes nothing) when another of the tenant's checkouts
   * holds `input.idempotencyKey`; any other failure propagates as it is.
   */
  createPending(input: NewCheckout): Promise<CheckoutRecord>;
  /**
   * Applies a snapshot over `expected`, the row as the caller read it: the checkout, its merchant
   * and line items, an event when the status changed (and its webhook event for the tenant's
   * endpoints, the outbox), and the schedule change, atomically. The guards (`onlyFrom`; a final
   * status is left only by `operator`) are decided on the row as it is when written, which need not
   * be `expected`.
   */
  applySnapshot(
    expected: CheckoutRecord,
    snapshot: ProviderSnapshot,
    source: string,
    options?: ApplyOptions,
  ): Promise<SnapshotResult>;
  /** The tenant's checkout created with this idempotency key, if any. */
  findByIdempotencyKey(tenant: string, key: string): Promise<CheckoutRecord | undefined>;
}

/** Tells subscribers (on every instance) that a checkout's status changed. */
export interface ChangePublisher {
  publish(checkout: CheckoutRecord, event: CheckoutEventRecord): void;
}

/** How one provider call is made. */
export interface CallOptions {
  /** Aborts the call from outside (the poller stopping). */
  signal?: AbortSignal;
  /** The request (or poll) the call is made for: its log line carries it. */
  requestId?: string;
}

/** What is recorded before a provider is called, and the call itself. */
export interface PreparedCreate {
  /** Stored with the PENDING row. */
  currency?: string | null;
  details: Record<string, unknown>;
  lineItems?: NewCheckout['lineItems'];
  /** Sends the create request to the provider. */
  send(options?: CallOptions): Promise<ProviderSnapshot>;
}

/** One checkout provider, as the domain sees it (each `providers/<name>/` implements one). */
export interface CheckoutProvider<Input = unknown> {
  readonly name: ProviderName;
  /** Its checkouts are test mode from the start (a sandbox, or a test environment). */
  readonly testMode: boolean;
  /**
   * False when the create call is a POST that may act without answering (a purchase, a session):
   * such a call that fails after it may have been delivered leaves the checkout UNKNOWN.
   */
  readonly idempotentCreate: boolean;
  /** Checks nothing (the input is validated already); says what to record and how to call. */
  prepare(input: Input): PreparedCreate;
  /**
   * A retryable `ProviderError` (delivery `no`, the same one the create call would fail with) when
   * no request to this provider can leave the process right now, for instance while its circuit
   * breaker is open; undefined when the call may be sent (including the one probe of a half-open
   * breaker). A create asks once, before recording anything: a failure known in advance writes
   * nothing. `options` names the request it is asked for (a refusal is reported like a call's).
   */
  unavailable(options?: CallOptions): ProviderError | undefined;
  /** The provider's current view of a checkout; only providers with a documented status endpoint have it. */
  fetchStatus?(providerCheckoutId: string, options?: CallOptions): Promise<ProviderSnapshot>;
}

/** The providers the app was built with, by name. */
export type ProviderCatalog = ReadonlyMap<ProviderName, CheckoutProvider>;

/**
 * A tenant's webhook endpoint, as stored: events are POSTed to `url` signed with `secret` (and, until
 * `previousSecretExpiresAt`, with `previousSecret` too).
 */
export interface WebhookEndpointRecord {
  id: string;
  tenant: string;
  url: string;
  description: string | null;
  /** Event types it receives; empty means every type. */
  events: string[];
  enabled: boolean;
  /** Why it was disabled (by the dispatcher after failing for a day, or by its owner). */
  disabledReason: string | null;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: Date | null;
  /** Start of the current run of failed attempts; cleared by any success. */
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Where a delivery of one event to one endpoint is. */
export type WebhookDeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

/** One event for one endpoint, as stored, with the type of its event. */
export interface WebhookDeliveryRecord {
  id: string;
  /** Order of creation (the sort key of an endpoint's deliveries). */
  seq: number;
  /** Sent as `webhook-id`, the same for every attempt and endpoint. */
  eventId: string;
  eventType: string;
  endpointId: string;
  tenant: string;
  checkoutId: string | null;
  status: WebhookDeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Date;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** One HTTP attempt of a delivery. */
export interface WebhookAttemptRecord {
  id: string;
  deliveryId: string;
  startedAt: Date;
  durationMs: number;
  responseStatus: number | null;
  /** The first 1 KB of the response body. */
  responseBody: string | null;
  error: string | null;
}

/** A page request of an endpoint's deliveries, newest first (`inverted` walks it backwards). */
export interface WebhookDeliveryPageRequest {
  afterSeq?: number;
  beforeSeq?: number;
  limit: number;
  inverted: boolean;
  statuses?: WebhookDeliveryStatus[] | null;
}

/** Editable fields of an endpoint; absent fields are kept. */
export interface WebhookEndpointChanges {
  url?: string;
  description?: string | null;
  events?: string[];
  enabled?: boolean;
}

/**
 * Where a tenant's webhook endpoints and their deliveries are kept (tenant-scoped: another tenant's
 * id is simply not found). Implemented by `db/webhooks.ts`; used by the endpoint management service.
 */
export interface WebhookEndpointStore {
  createEndpoint(values: {
    tenant: string;
    url: string;
    description: string | null;
    events: string[];
    secret: string;
  }): Promise<WebhookEndpointRecord>;
  countEndpoints(tenant: string): Promise<number>;
  /** The tenant's endpoints, oldest first. */
  endpoints(tenant: string): Promise<WebhookEndpointRecord[]>;
  endpointsByIds(tenant: string, ids: readonly string[]): Promise<WebhookEndpointRecord[]>;
  updateEndpoint(
    tenant: string,
    id: string,
    changes: WebhookEndpointChanges,
  ): Promise<WebhookEndpointRecord | undefined>;
  deleteEndpoint(tenant: string, id: string): Promise<boolean>;
  /** Sets a new secret; the current one keeps signing beside it for `overlapMs`. */
  rotateSecret(
    tenant: string,
    id: string,
    secret: string,
    overlapMs: number,
  ): Promise<WebhookEndpointRecord | undefined>;
  deliveriesPage(endpointId: string, request: WebhookDeliveryPageRequest): Promise<WebhookDeliveryRecord[]>;
  deliveriesByIds(tenant: string, ids: readonly string[]): Promise<WebhookDeliveryRecord[]>;
  /** The attempts of these deliveries, oldest first. */
  attemptsOf(deliveryIds: readonly string[]): Promise<WebhookAttemptRecord[]>;
  /** Makes the tenant's delivery due now for a new attempt; undefined when it is not theirs. */
  redeliver(tenant: string, id: string): Promise<{ id: string } | undefined>;
}
