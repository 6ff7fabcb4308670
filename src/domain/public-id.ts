import type { ProviderName } from './checkout.js';

/**
 * The ids the API gives out, for the code that logs without the GraphQL schema at hand. A checkout's
 * id in the API is a Relay global id: base64 of `<typename>:<uuid>`, the typename being its
 * provider's GraphQL type (`@pothos/plugin-relay`'s encodeGlobalID). Log lines carry it as
 * `checkoutId`, so that the id a client holds finds its lines as it is, without decoding.
 */

/**
 * The GraphQL type of each provider's checkouts. Each provider definition declares its `typename`
 * (providers/<name>/index.ts); the domain cannot import the registry, so the names are repeated
 * here, and test/public-id.test.ts fails when the two differ.
 */
export const CHECKOUT_TYPENAMES: Readonly<Record<ProviderName, string>> = {
  SMARTCHECKOUT: 'SmartCheckout',
  PAYERVAULT: 'PayerVaultCheckout',
  STAN: 'StanCheckout',
};

/** The id the API returns for the checkout stored as `id` at `provider`. */
export function publicCheckoutId(provider: ProviderName, id: string): string {
  return Buffer.from(`${CHECKOUT_TYPENAMES[provider]}:${id}`).toString('base64');
}
