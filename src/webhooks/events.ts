import { encodeGlobalID } from '@pothos/plugin-relay';
import type { CheckoutStatus, ProviderName } from '../domain/checkout.js';
import { formatMinorAsDecimal } from '../domain/money.js';
import type { StatusChangedCheckout } from '../domain/ports.js';
import { definitionOf } from '../providers/index.js';

/** Every event type an endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = ['checkout.status_changed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The JSON body of a `checkout.status_changed` delivery. */
export interface StatusChangedPayload {
  type: 'checkout.status_changed';
  /** When the change was written (ISO 8601). */
  timestamp: string;
  data: {
    checkout: {
      /** The global id the API shows for this checkout. */
      id: string;
      provider: ProviderName;
      status: CheckoutStatus;
      /** Null for the first event of a checkout. */
      previousStatus: CheckoutStatus | null;
      providerCheckoutId: string | null;
      total: { amount: number; currency: string; decimal: string } | null;
      testMode: boolean;
      notes: string | null;
      updatedAt: string;
    };
  };
}

/**
 * The body of a status change, formatted as the GraphQL API shows the checkout: the same global id
 * (the relay plugin's encoding with the provider's typename) and the same Money fields. The
 * composition root gives it to the checkout store (a `StatusChangeBody`), which stores it in the outbox.
 */
export function statusChangedPayload(
  row: StatusChangedCheckout,
  previousStatus: CheckoutStatus | null,
): StatusChangedPayload {
  const total =
    row.totalAmount !== null && row.currency
      ? {
          amount: row.totalAmount,
          currency: row.currency,
          decimal: formatMinorAsDecimal(row.totalAmount, row.currency),
        }
      : null;
  const updatedAt = row.updatedAt.toISOString();
  return {
    type: 'checkout.status_changed',
    timestamp: updatedAt,
    data: {
      checkout: {
        id: encodeGlobalID(definitionOf(row.provider).typename, row.id),
        provider: row.provider,
        status: row.status,
        previousStatus,
        providerCheckoutId: row.providerCheckoutId,
        total,
        testMode: row.testMode,
        notes: row.notes,
        updatedAt,
      },
    },
  };
}
