import type { CheckoutStatus } from './checkout.js';

/** A merchant as a provider describes it. `key` identifies the merchant across checkouts. */
export interface MerchantInfo {
  /** Stable identity of the merchant for this provider, e.g. the store's origin. */
  key: string;
  name: string;
  website?: string | null;
  privacyPolicyUrl?: string | null;
  generalTermsUrl?: string | null;
  logoUrl?: string | null;
}

/** One line of a checkout; amounts in minor units of the checkout's currency. */
export interface LineItemInfo {
  productId?: string | null;
  description?: string | null;
  sku?: string | null;
  quantity: number;
  unitPrice?: number | null;
  discount?: number | null;
  total?: number | null;
  imageUrl?: string | null;
  productUrl?: string | null;
}

/**
 * What a provider told us about a checkout, already mapped onto our vocabulary.
 * Fields left `undefined` are unknown and keep their stored value; `null` clears them.
 */
export interface ProviderSnapshot {
  providerCheckoutId?: string | null;
  status: CheckoutStatus;
  /** ISO 4217 currency of every amount in this snapshot. */
  currency?: string | null;
  /** Total in minor units of `currency`. */
  total?: number | null;
  notes?: string | null;
  checkoutUrl?: string | null;
  testMode?: boolean;
  merchant?: MerchantInfo | null;
  /** When present, replaces the stored line items. */
  lineItems?: LineItemInfo[];
  /** Provider-specific fields, merged into the checkout's stored details. */
  details?: Record<string, unknown>;
  /**
   * Parts of the provider's answer that could not be read exactly (an amount with more decimals
   * than its currency has, an unknown currency, a malformed amount). Each is left null (or as we
   * sent it) and explained in `notes`; the rest of the answer, its status above all, still applies.
   */
  unreadable?: string[];
}
