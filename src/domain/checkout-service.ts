import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { isTerminal, type ProviderName } from './checkout.js';
import {
  EmptyCartError,
  IdempotencyKeyInUseError,
  IdempotencyKeyReuseError,
  IdempotencyKeyTakenError,
  ProviderError,
} from './errors.js';
import type { CheckoutLifecycle } from './lifecycle.js';
import { publicCheckoutId } from './public-id.js';
import type {
  ApplyOptions,
  CallOptions,
  CheckoutProvider,
  CheckoutStore,
  ProviderCatalog,
  ScheduleChange,
} from './ports.js';
import type { CheckoutRecord, NewCheckout } from './records.js';
import type { ProviderSnapshot } from './snapshot.js';

/**
 * How many times a create tries to take an idempotency key it found held and then free again
 * (its holder failed and released it between our insert and our look-up). Each round needs another
 * request to take and release the key meanwhile, so more than a couple means a storm of retries;
 * the caller is then told the key is in use, and retries later.
 */
const KEY_ATTEMPTS = 3;

/** Settings of the checkout service. */
export interface CheckoutServiceOptions {
  store: CheckoutStore;
  /** The providers by name. */
  providers: ProviderCatalog;
  /** Writes and publishes every change (shared with the workers). */
  lifecycle: CheckoutLifecycle;
  /** Delay before the first status poll of a new asynchronous checkout. */
  pollIntervalMs: number;
  logger: Logger;
}

/** A create mutation's input: the provider's own fields, and an optional idempotency key. */
export interface CreateRequest {
  idempotencyKey?: string | null;
  [field: string]: unknown;
}

/**
 * Creates and refreshes checkouts at any provider. The PENDING row is committed before any
 * provider call, so a provider never sees a request we hold no record of; the answer is applied after.
 */
export class CheckoutService {
  private readonly store: CheckoutStore;
  private readonly logger: Logger;

  constructor(private readonly options: CheckoutServiceOptions) {
    this.store = options.store;
    this.logger = options.logger;
  }

  /**
   * Creates a checkout at `provider` from a validated input. With an idempotency key, the same key
   * and input answer the first result again (the checkout, or the same typed error). `call` says
   * which request the provider call is made for.
   */
  async create(
    tenant: string,
    provider: ProviderName,
    { idempotencyKey, ...request }: CreateRequest,
    call: CallOptions = {},
  ): Promise<CheckoutRecord> {
    const gateway = this.providerOf(provider);
    const requestHash = hashRequest(provider, request);
    // Known in advance that nothing can reach the provider: answered without recording anything,
    // or every retry of an outage would leave a FAILED checkout, its events and webhook deliveries
    // behind; a key whose answer exists still replays it.
    const unavailable = gateway.unavailable(call);
    if (unavailable) {
      const existing = idempotencyKey ? await this.store.findByIdempotencyKey(tenant, idempotencyKey) : undefined;
      if (existing) return this.replay(existing, requestHash, idempotencyKey!);
      throw unavailable;
    }
    const prepared = gateway.prepare(request);
    const pending = await this.recordPending(
      {
        tenant,
        provider,
        currency: prepared.currency,
        details: prepared.details,
        lineItems: prepared.lineItems,
        idempotencyKey,
        requestHash,
        testMode: gateway.testMode,
      },
      requestHash,
    );
    if (!pending.created) return pending.replayed;
    const row = pending.created;
    // The id the API returns, and the request that caused the create: joins this checkout's lines
    // to the request's own (the provider call, the operation).
    const log = this.logger.child({
      checkoutId: publicCheckoutId(provider, row.id),
      provider,
      ...(call.requestId && { requestId: call.requestId }),
    });
    let snapshot: ProviderSnapshot;
    try {
      snapshot = await prepared.send(call);
    } catch (error) {
      throw await this.recordCreateFailure(row, gateway, error, log);
    }
    log.info({ status: snapshot.status }, 'checkout created at provider');
    const pollable = this.isPollable(provider, snapshot.providerCheckoutId, snapshot.status);
    return this.record(
      row,
      snapshot,
      pollable ? { kind: 'ensure', delayMs: this.options.pollIntervalMs } : { kind: 'keep' },
    );
  }

  /**
   * Asks the provider for the checkout's current state and records any change. Providers without
   * a status endpoint, and final checkouts, are returned as stored.
   */
  async refresh(row: CheckoutRecord, call: CallOptions = {}): Promise<CheckoutRecord> {
    if (!this.isPollable(row.provider, row.providerCheckoutId, row.status)) return row;
    const snapshot = await this.fetchStatus(row, call);
    return this.record(row, snapshot, isTerminal(snapshot.status) ? { kind: 'remove' } : { kind: 'keep' });
  }

  /** True when the poller should follow this checkout: a status endpoint, an id there, not final. */
  isPollable(
    provider: ProviderName,
    providerCheckoutId: string | null | undefined,
    status: CheckoutRecord['status'],
  ): boolean {
    return Boolean(this.providerOf(provider).fetchStatus && providerCheckoutId && !isTerminal(status));
  }

  /** One status request to the checkout's provider (the checkout must be pollable). */
  async fetchStatus(row: CheckoutRecord, options: CallOptions = {}): Promise<ProviderSnapshot> {
    const gateway = this.providerOf(row.provider);
    if (!gateway.fetchStatus || !row.providerCheckoutId)
      throw new Error(`checkout ${row.id} has no status endpoint to poll`);
    return gateway.fetchStatus(row.providerCheckoutId, options);
  }

  /** Writes a snapshot with its schedule change and publishes the status change, if any, after commit. */
  async record(
    row: CheckoutRecord,
    snapshot: ProviderSnapshot,
    schedule: ScheduleChange,
    { source, ...options }: Omit<ApplyOptions, 'schedule'> & { source?: string } = {},
  ): Promise<CheckoutRecord> {
    const result = await this.options.lifecycle.apply(row, snapshot, source ?? row.provider.toLowerCase(), {
      ...options,
      schedule,
    });
    return result.row;
  }

  private providerOf(provider: ProviderName): CheckoutProvider {
    const gateway = this.options.providers.get(provider);
    if (!gateway) throw new Error(`provider ${provider} is not configured`);
    return gateway;
  }

  /**
   * Writes the PENDING row that takes the idempotency key, or answers with the result of the
   * checkout that holds it. A key is not looked up first (a create with a new key costs no extra
   * statement): the store's unique index lets one row in and refuses the others, each of which then
   * looks up the holder and replays it; gone means it released the key meanwhile (a create that
   * certainly reached nothing), so the key is free and taking it is tried again, at most
   * KEY_ATTEMPTS times in all.
   */
  private async recordPending(
    input: NewCheckout,
    requestHash: string,
  ): Promise<{ created: CheckoutRecord; replayed?: never } | { created?: never; replayed: CheckoutRecord }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return { created: await this.store.createPending(input) };
      } catch (error) {
        if (!(error instanceof IdempotencyKeyTakenError)) throw error;
        const holder = await this.store.findByIdempotencyKey(input.tenant, error.idempotencyKey);
        if (holder) return { replayed: this.replay(holder, requestHash, error.idempotencyKey) };
        this.logger.info(
          { tenant: input.tenant, provider: input.provider, attempt },
          'idempotency key released by its holder between our insert and our look-up',
        );
        if (attempt >= KEY_ATTEMPTS) throw new IdempotencyKeyInUseError(error.idempotencyKey, input.provider, null);
      }
    }
  }

  /**
   * Stripe's semantics: the same key with another input is refused; with the same input the first
   * answer is given again, without calling the provider: the checkout, or the same typed error.
   * A first call still deciding (its checkout PENDING) has no answer yet, so a duplicate gets
   * IdempotencyKeyInUseError, retryable, as Stripe answers 409 to a request that conflicts with one
   * in flight. (Answering the PENDING checkout instead would look like a success to a client that
   * checks only the result type, though the purchase may still fail and the key be released.)
   */
  private replay(existing: CheckoutRecord, requestHash: string, key: string): CheckoutRecord {
    if (existing.requestHash !== requestHash) throw new IdempotencyKeyReuseError(key);
    if (existing.status === 'PENDING') throw new IdempotencyKeyInUseError(key, existing.provider, existing.id);
    const stored = existing.createError;
    if (stored?.type === 'EmptyCartError') throw new EmptyCartError(stored.customerId, stored.providerMessage);
    if (stored?.type === 'ProviderError') {
      throw new ProviderError(stored.message, {
        provider: stored.provider as ProviderName,
        retryable: stored.retryable,
        httpStatus: stored.httpStatus,
        providerMessage: stored.providerMessage,
        checkoutId: existing.id,
      });
    }
    return existing;
  }

  /**
   * A failed create keeps its row and answers with the error to give the caller:
   * - FAILED when the provider certainly created nothing. If asking again may succeed (refused
   *   connection, open breaker, 429, 5xx on a GET), the idempotency key is released so the same
   *   key can be used again; otherwise (a 4xx, an empty cart) the error is stored and replayed.
   * - UNKNOWN when a non-idempotent request may have been acted on. The error is stored and
   *   replayed, and reported as not retryable: a retry under a new key could buy twice.
   */
  private async recordCreateFailure(
    row: CheckoutRecord,
    gateway: CheckoutProvider,
    error: unknown,
    log: Logger,
  ): Promise<unknown> {
    if (error instanceof EmptyCartError) {
      log.warn(
        { errorType: error.constructor.name, code: error.code, reason: error.message, status: 'FAILED' },
        'provider create failed',
      );
      await this.record(
        row,
        { status: 'FAILED', notes: error.message },
        { kind: 'keep' },
        {
          createError: { type: 'EmptyCartError', customerId: error.customerId, providerMessage: error.providerMessage },
        },
      );
      return error;
    }
    if (!(error instanceof ProviderError)) {
      log.error({ err: error }, 'create failed unexpectedly; the outcome at the provider is unknown');
      const notes = 'Internal error while calling the provider; the outcome is unknown';
      await this.record(row, { status: 'UNKNOWN', notes }, { kind: 'keep' }, { source: 'api' });
      return error;
    }
    const answer = createFailureAnswer(row, gateway, error);
    const releaseKey = !answer.ambiguous && error.retryable;
    const status = answer.ambiguous ? 'UNKNOWN' : 'FAILED';
    log.warn(
      {
        errorType: error.constructor.name,
        code: error.code,
        reason: error.message,
        httpStatus: error.httpStatus,
        retryable: error.retryable,
        status,
        keyReleased: releaseKey,
      },
      'provider create failed',
    );
    const notes = answer.ambiguous ? `${error.message}; the provider may have created the checkout` : error.message;
    await this.record(
      row,
      { status, notes },
      { kind: 'keep' },
      {
        // Nothing reached the provider: the decision is ours, not its.
        source: error.delivery === 'no' ? 'api' : undefined,
        releaseIdempotencyKey: releaseKey,
        createError: releaseKey
          ? undefined
          : {
              type: 'ProviderError',
              message: answer.error.message,
              provider: row.provider,
              retryable: answer.error.retryable,
              httpStatus: answer.error.httpStatus,
              providerMessage: answer.error.providerMessage,
            },
      },
    );
    return answer.error;
  }
}

/**
 * The error a failed create answers with. Ambiguous when a non-idempotent request may have been
 * acted on: it was (or may have been) delivered and not refused with a 4xx.
 */
function createFailureAnswer(row: CheckoutRecord, gateway: CheckoutProvider, error: ProviderError) {
  const rejected =
    error.httpStatus !== null && error.httpStatus >= 400 && error.httpStatus < 500 && error.httpStatus !== 408;
  const ambiguous = !gateway.idempotentCreate && error.delivery !== 'no' && !rejected;
  const details = {
    provider: row.provider,
    httpStatus: error.httpStatus,
    providerMessage: error.providerMessage,
    delivery: error.delivery,
    checkoutId: row.id,
  };
  const message = ambiguous
    ? `${error.message}. The checkout is UNKNOWN: the provider may have created it. Do not retry under a new idempotency key; watch this checkout or ask an operator.`
    : error.message;
  return {
    ambiguous,
    error: new ProviderError(message, { ...details, retryable: ambiguous ? false : error.retryable }, { cause: error }),
  };
}

/** sha256 of the provider and the input with object keys sorted, so key order never matters. */
export function hashRequest(provider: ProviderName, request: unknown): string {
  return createHash('sha256').update(provider).update(stableStringify(request)).digest('hex');
}

function stableStringify(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, entry]) => entry !== undefined && entry !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, entry]) => `${JSON.stringify(key)}:${stableStringify(entry)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
