import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { ApplyOptions, CheckoutRepository, NewCheckout, ScheduleChange } from '../db/repository.js';
import type { CheckoutRow, StoredCreateError } from '../db/schema.js';
import type { PayerVaultAdapter } from '../providers/payervault/adapter.js';
import { buildSmartcheckoutUserData, type SmartcheckoutAdapter } from '../providers/smartcheckout/adapter.js';
import type { StanAdapter } from '../providers/stan/adapter.js';
import type { CheckoutProviderAdapter, ProviderSnapshot } from '../providers/types.js';
import { isTerminal, type CheckoutStatus, type ProviderName } from './checkout.js';
import { EmptyCartError, IdempotencyKeyReuseError, ProviderError } from './errors.js';
import type { CreatePayerVaultCheckoutArgs, CreateSmartCheckoutArgs, CreateStanCheckoutArgs } from './inputs.js';
import type { CheckoutLifecycle } from './lifecycle.js';
import { computeStanTotals } from './stan-totals.js';

/** The three provider adapters, wired to their live services or sandboxes. */
export interface ProviderAdapters {
  SMARTCHECKOUT: SmartcheckoutAdapter;
  PAYERVAULT: PayerVaultAdapter;
  STAN: StanAdapter;
}

/** Settings of the checkout service. */
export interface CheckoutServiceOptions {
  /** Writes and publishes every change (shared with the poller and the sweeps). */
  lifecycle: CheckoutLifecycle;
  /** Delay before the first status poll of a new asynchronous checkout. */
  pollIntervalMs: number;
  /**
   * Providers whose checkouts are test mode from the start: served by a built-in sandbox, or a
   * test environment reached by URL (`<PROVIDER>_TEST_MODE=true`).
   */
  testModeProviders: ReadonlySet<ProviderName>;
  /** Currency of Stan amounts. */
  stanCurrency: string;
}

/** Providers whose create call is a POST that may create something even when no answer comes. */
const NON_IDEMPOTENT_CREATE: ReadonlySet<ProviderName> = new Set(['SMARTCHECKOUT', 'STAN']);

/**
 * Creates and refreshes checkouts. The PENDING row is committed before any provider call, so a
 * provider never sees a request we hold no record of; the provider's answer is applied after.
 */
export class CheckoutService {
  constructor(
    private readonly repository: CheckoutRepository,
    private readonly adapters: ProviderAdapters,
    private readonly options: CheckoutServiceOptions,
    private readonly logger: Logger,
  ) {}

  async createSmartCheckout(tenant: string, { idempotencyKey, ...request }: CreateSmartCheckoutArgs['input']): Promise<CheckoutRow> {
    return this.create(
      {
        tenant,
        provider: 'SMARTCHECKOUT',
        details: { productUrl: request.productUrl, userData: buildSmartcheckoutUserData(request) },
        lineItems: [{ productUrl: request.productUrl, quantity: 1 }],
        idempotencyKey,
        request,
      },
      () => this.adapters.SMARTCHECKOUT.create(request),
    );
  }

  async createPayerVaultCheckout(tenant: string, { idempotencyKey, customerId }: CreatePayerVaultCheckoutArgs['input']): Promise<CheckoutRow> {
    return this.create(
      { tenant, provider: 'PAYERVAULT', details: { customerId }, idempotencyKey, request: { customerId } },
      () => this.adapters.PAYERVAULT.create({ customerId }),
    );
  }

  async createStanCheckout(tenant: string, { idempotencyKey, ...request }: CreateStanCheckoutArgs['input']): Promise<CheckoutRow> {
    const totals = computeStanTotals(request);
    // The input schema already ran the same computation; failing here means the two disagree.
    if (!totals.ok) throw new Error('Stan totals rejected after validation accepted them');
    const body = {
      ...request,
      subtotalAmount: totals.subtotal,
      totalAmount: totals.total,
      taxCost: request.taxCost ?? (request.taxRate ? totals.tax : null),
    };
    return this.create(
      {
        tenant,
        provider: 'STAN',
        currency: this.options.stanCurrency,
        details: {
          returnUrl: request.returnUrl,
          subtotal: totals.subtotal,
          discount: request.discountAmount ?? null,
          taxRate: request.taxRate ?? null,
          tax: body.taxCost ?? null,
          discountCode: request.discountCode ?? null,
          totalBeforeDiscount: totals.totalBeforeDiscount,
          sessionId: request.sessionId ?? null,
          orderId: request.orderId ?? null,
        },
        lineItems: request.lineItems.map(({ discountAmount, ...item }) => ({
          ...item,
          discount: discountAmount ?? null,
          // Exact: quantity * unitPrice may pass 2^53 before the line discount brings it back.
          total: Number(BigInt(item.quantity) * BigInt(item.unitPrice) - BigInt(discountAmount ?? 0)),
        })),
        idempotencyKey,
        request,
      },
      () => this.adapters.STAN.create(body),
    );
  }

  /**
   * Asks the provider for the checkout's current state and records any change. Providers without
   * a status endpoint (PayerVault links, Stan sessions) and terminal checkouts are returned as stored.
   */
  async refresh(row: CheckoutRow): Promise<CheckoutRow> {
    if (!this.isPollable(row.provider as ProviderName, row.providerCheckoutId, row.status as CheckoutStatus)) return row;
    const snapshot = await this.fetchStatus(row);
    return this.record(row, snapshot, isTerminal(snapshot.status) ? { kind: 'remove' } : { kind: 'keep' });
  }

  /** True when the poller should follow this checkout: a status endpoint, an id there, not final. */
  isPollable(provider: ProviderName, providerCheckoutId: string | null | undefined, status: CheckoutStatus): boolean {
    return Boolean(this.adapterOf(provider).fetchStatus && providerCheckoutId && !isTerminal(status));
  }

  /** One status request to the checkout's provider (the checkout must be pollable). */
  async fetchStatus(row: CheckoutRow, options: { signal?: AbortSignal } = {}): Promise<ProviderSnapshot> {
    const adapter = this.adapterOf(row.provider as ProviderName);
    if (!adapter.fetchStatus || !row.providerCheckoutId) throw new Error(`checkout ${row.id} has no status endpoint to poll`);
    return adapter.fetchStatus(row.providerCheckoutId, options);
  }

  private adapterOf(provider: ProviderName): CheckoutProviderAdapter {
    return this.adapters[provider];
  }

  /** Writes a snapshot with its schedule change and publishes the status change, if any, after commit. */
  async record(
    row: CheckoutRow,
    snapshot: ProviderSnapshot,
    schedule: ScheduleChange,
    { source, ...options }: Omit<ApplyOptions, 'schedule'> & { source?: string } = {},
  ): Promise<CheckoutRow> {
    return (await this.apply(row, snapshot, { ...options, schedule, source })).row;
  }

  private async apply(row: CheckoutRow, snapshot: ProviderSnapshot, { source, ...options }: ApplyOptions & { source?: string | undefined }) {
    return this.options.lifecycle.apply(row, snapshot, source ?? sourceOf(row.provider as ProviderName), options);
  }

  private async create(
    pending: Omit<NewCheckout, 'testMode' | 'requestHash'> & { request: unknown },
    callProvider: () => Promise<ProviderSnapshot>,
  ): Promise<CheckoutRow> {
    const { request, ...record } = pending;
    const requestHash = hashRequest(record.provider, request);
    if (record.idempotencyKey) {
      const existing = await this.repository.findByIdempotencyKey(record.tenant, record.idempotencyKey);
      if (existing) return this.replay(existing, requestHash, record.idempotencyKey);
    }
    let row: CheckoutRow;
    try {
      row = await this.repository.createPending({ ...record, requestHash, testMode: this.options.testModeProviders.has(record.provider) });
    } catch (error) {
      // Two requests with one key raced past the look-up; the unique index let exactly one in.
      const existing = record.idempotencyKey && (await this.repository.findByIdempotencyKey(record.tenant, record.idempotencyKey));
      if (existing) return this.replay(existing, requestHash, record.idempotencyKey!);
      throw error;
    }
    const log = this.logger.child({ checkoutId: row.id, provider: record.provider });
    let snapshot: ProviderSnapshot;
    try {
      snapshot = await callProvider();
    } catch (error) {
      throw await this.recordCreateFailure(row, error, log);
    }
    log.info({ status: snapshot.status }, 'checkout created at provider');
    const pollable = this.isPollable(record.provider, snapshot.providerCheckoutId, snapshot.status);
    return this.record(row, snapshot, pollable ? { kind: 'ensure', delayMs: this.options.pollIntervalMs } : { kind: 'keep' });
  }

  /**
   * Stripe's semantics: the same key with another input is refused; with the same input the first
   * answer is given again, without calling the provider: the checkout, or the same typed error. A
   * first call still in flight answers with its checkout as it stands (PENDING): the same checkout.
   */
  private replay(existing: CheckoutRow, requestHash: string, key: string): CheckoutRow {
    if (existing.requestHash !== requestHash) throw new IdempotencyKeyReuseError(key);
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
  private async recordCreateFailure(row: CheckoutRow, error: unknown, log: Logger): Promise<unknown> {
    const provider = row.provider as ProviderName;
    if (error instanceof EmptyCartError) {
      await this.record(row, { status: 'FAILED', notes: error.message }, { kind: 'keep' }, {
        createError: { type: 'EmptyCartError', customerId: error.customerId, providerMessage: error.providerMessage },
      });
      return error;
    }
    if (!(error instanceof ProviderError)) {
      log.error({ err: error }, 'create failed unexpectedly; the outcome at the provider is unknown');
      await this.record(row, { status: 'UNKNOWN', notes: 'Internal error while calling the provider; the outcome is unknown' }, { kind: 'keep' }, { source: 'api' });
      return error;
    }
    const rejected = error.httpStatus !== null && error.httpStatus >= 400 && error.httpStatus < 500 && error.httpStatus !== 408;
    const ambiguous = NON_IDEMPOTENT_CREATE.has(provider) && error.delivery !== 'no' && !rejected;
    const answer = ambiguous
      ? new ProviderError(
          `${error.message}. The checkout is UNKNOWN: the provider may have created it. Do not retry under a new idempotency key; watch this checkout or ask an operator.`,
          { provider, retryable: false, httpStatus: error.httpStatus, providerMessage: error.providerMessage, delivery: error.delivery, checkoutId: row.id },
          { cause: error },
        )
      : new ProviderError(
          error.message,
          { provider, retryable: error.retryable, httpStatus: error.httpStatus, providerMessage: error.providerMessage, delivery: error.delivery, checkoutId: row.id },
          { cause: error },
        );
    const releaseKey = !ambiguous && error.retryable;
    log.warn({ err: error.message, status: ambiguous ? 'UNKNOWN' : 'FAILED', keyReleased: releaseKey }, 'provider create failed');
    await this.record(
      row,
      { status: ambiguous ? 'UNKNOWN' : 'FAILED', notes: ambiguous ? `${error.message}; the provider may have created the checkout` : error.message },
      { kind: 'keep' },
      {
        // Nothing reached the provider: the decision is ours, not its.
        source: error.delivery === 'no' ? 'api' : undefined,
        releaseIdempotencyKey: releaseKey,
        createError: releaseKey
          ? undefined
          : {
              type: 'ProviderError',
              message: answer.message,
              provider,
              retryable: answer.retryable,
              httpStatus: answer.httpStatus,
              providerMessage: answer.providerMessage,
            },
      },
    );
    return answer;
  }
}

function sourceOf(provider: ProviderName): string {
  return provider.toLowerCase();
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
