import type { CheckoutStatus, ProviderName } from './checkout.js';

/** Machine-readable error codes shared by every typed error in the graph. */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'PROVIDER_ERROR',
  'EMPTY_CART',
  'IDEMPOTENCY_KEY_REUSE',
  'IDEMPOTENCY_KEY_IN_USE',
  'NOT_FOUND',
  'CHECKOUT_FINAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class of every expected failure; the errors plugin turns these into typed results. */
export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
}

/** One invalid input field: `path` is the input path, e.g. `["input", "lineItems", "0", "quantity"]`. */
export interface FieldError {
  path: string[];
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED' as const;
  constructor(readonly fieldErrors: FieldError[]) {
    super(
      fieldErrors.length === 1
        ? `Invalid input: ${fieldErrors[0]!.path.join('.')}: ${fieldErrors[0]!.message}`
        : `Invalid input: ${fieldErrors.length} fields are invalid`,
    );
  }
}

export interface ProviderErrorDetails {
  provider: ProviderName;
  /** True when the same request may succeed later (timeouts, 5xx, 429, refused connections). */
  retryable: boolean;
  httpStatus?: number | null;
  /** The provider's own error message, when it sent one. Never contains our credentials. */
  providerMessage?: string | null;
  /**
   * Whether the request reached the provider: `no` (connection refused, unknown host), `yes` (it
   * answered), `maybe` (timeout or reset after sending). A create call that `maybe` or `yes`
   * reached the provider without a usable answer has an ambiguous outcome.
   */
  delivery?: 'no' | 'maybe' | 'yes';
  /** How long the provider asked us to wait (its `Retry-After` on 429/503), in milliseconds. */
  retryAfterMs?: number | null;
  /** Row id of the checkout this failure left behind (FAILED or UNKNOWN), when a create recorded one. */
  checkoutId?: string | null;
}

/** The provider failed or answered something we could not understand. */
export class ProviderError extends DomainError {
  readonly code = 'PROVIDER_ERROR' as const;
  readonly provider: ProviderName;
  readonly retryable: boolean;
  readonly httpStatus: number | null;
  readonly providerMessage: string | null;
  readonly delivery: 'no' | 'maybe' | 'yes';
  readonly retryAfterMs: number | null;
  readonly checkoutId: string | null;
  constructor(message: string, details: ProviderErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.retryAfterMs = details.retryAfterMs ?? null;
    this.checkoutId = details.checkoutId ?? null;
    this.delivery = details.delivery ?? (details.httpStatus ? 'yes' : 'maybe');
    this.provider = details.provider;
    this.retryable = details.retryable;
    this.httpStatus = details.httpStatus ?? null;
    this.providerMessage = details.providerMessage ?? null;
  }
}

/** The provider has no products in the customer's cart (a documented answer, not a failure). */
export class EmptyCartError extends DomainError {
  readonly code = 'EMPTY_CART' as const;
  constructor(
    readonly customerId: string,
    readonly providerMessage: string | null,
  ) {
    super(`The cart of customer ${customerId} is empty${providerMessage ? `: ${providerMessage}` : ''}`);
  }
}

/** The idempotency key was already used with a different input. */
export class IdempotencyKeyReuseError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_REUSE' as const;
  constructor(readonly idempotencyKey: string) {
    super('This idempotency key was already used with a different input');
  }
}

/**
 * The first request with this idempotency key is still deciding (its checkout is PENDING at the
 * provider), or released the key and took it again as often as this request tried to. Retryable:
 * the same key and input will answer the first request's result once it has one (Stripe answers
 * 409 to an idempotent request that conflicts with one in flight).
 */
export class IdempotencyKeyInUseError extends DomainError {
  readonly code = 'IDEMPOTENCY_KEY_IN_USE' as const;
  /** Always true: the conflict ends when the first request does. */
  readonly retryable = true;
  constructor(
    readonly idempotencyKey: string,
    /** The provider the key's checkout is created at. */
    readonly provider: ProviderName,
    /** Row id of the checkout the first request is creating, when there still is one. */
    readonly checkoutId: string | null,
  ) {
    super(
      'A request with this idempotency key is still in progress; retry with the same key and input to get its result',
    );
  }
}

/**
 * Told by the store (the `CheckoutStore` port) when a new checkout's idempotency key is held by
 * another of the tenant's checkouts: two requests with one key raced past the look-up and the
 * unique index let one in. Not a typed GraphQL result: the service answers with the holder's result.
 */
export class IdempotencyKeyTakenError extends Error {
  constructor(
    readonly idempotencyKey: string,
    options?: { cause?: unknown },
  ) {
    super('This idempotency key is held by another checkout', options);
  }
}

/** No checkout with this id is visible to the caller. */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(readonly id: string) {
    super(`No checkout with id ${id}`);
  }
}

/** The checkout already ended with another status; a final status never changes (except by an operator). */
export class CheckoutFinalError extends DomainError {
  readonly code = 'CHECKOUT_FINAL' as const;
  constructor(
    /** Row id of the checkout. */
    readonly checkoutId: string,
    /** Its provider. */
    readonly provider: ProviderName,
    /** Its final status. */
    readonly status: CheckoutStatus,
    /** The status that was asked for. */
    readonly requested: CheckoutStatus,
  ) {
    super(`The checkout is already ${status}, a final status; it cannot be recorded as ${requested}`);
  }
}
