/** The checkout providers this graph fronts. Values are the GraphQL enum values. */
export const PROVIDERS = ['SMARTCHECKOUT', 'PAYERVAULT', 'STAN'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** The one status vocabulary every provider's states are mapped onto. */
export const CHECKOUT_STATUSES = [
  'PENDING',
  'OPEN',
  'PROCESSING',
  'COMPLETED',
  'FAILED',
  'EXPIRED',
  'UNKNOWN',
] as const;
export type CheckoutStatus = (typeof CHECKOUT_STATUSES)[number];

/** Statuses after which a checkout never changes again (no more polling, subscriptions complete). */
const TERMINAL_STATUSES: ReadonlySet<CheckoutStatus> = new Set(['COMPLETED', 'FAILED', 'EXPIRED']);

export function isTerminal(status: CheckoutStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}
