import type { CheckoutStatus, ProviderName } from './checkout.js';
import type { LineItemInfo } from './snapshot.js';

/** A create mutation's typed error, as stored for idempotent replay. */
export type StoredCreateError =
  | {
      type: 'ProviderError';
      message: string;
      provider: string;
      retryable: boolean;
      httpStatus: number | null;
      providerMessage: string | null;
    }
  | { type: 'EmptyCartError'; customerId: string; providerMessage: string | null };

/** One checkout at one provider, as stored. Provider-specific fields live in `details`. */
export interface CheckoutRecord {
  id: string;
  /** Insertion order: the stable sort key behind the newest-first connection cursors. */
  seq: number;
  tenant: string;
  provider: ProviderName;
  providerCheckoutId: string | null;
  status: CheckoutStatus;
  currency: string | null;
  /** Minor units of `currency`, up to 2^53 − 1. */
  totalAmount: number | null;
  checkoutUrl: string | null;
  testMode: boolean;
  notes: string | null;
  merchantId: string | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** Each provider's own shape, checked by its details schema when read. */
  details: Record<string, unknown>;
  /** The typed error the create mutation answered, replayed as is for a retry with the same key. */
  createError: StoredCreateError | null;
  createdAt: Date;
  updatedAt: Date;
}

/** One status change of a checkout (append-only history). */
export interface CheckoutEventRecord {
  id: number;
  checkoutId: string;
  status: CheckoutStatus;
  at: Date;
  /** Who observed the change: `api` (our own writes), a provider's name, `merchant` or `operator`. */
  source: string;
  notes: string | null;
}

/** What is known about a checkout before its provider is called. */
export interface NewCheckout {
  tenant: string;
  provider: ProviderName;
  testMode: boolean;
  currency?: string | null;
  details: Record<string, unknown>;
  lineItems?: LineItemInfo[];
  idempotencyKey?: string | null;
  requestHash?: string | null;
}
