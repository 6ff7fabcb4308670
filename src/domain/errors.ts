import type { CheckoutStatus, ProviderName } from './checkout.js';

/** Machine-readable error codes shared by every typed error in the graph. */
export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'PROVIDER_ERROR',
  'EMPTY_CART',
  'IDEMPOTENCY_KEY_REUSE',
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
