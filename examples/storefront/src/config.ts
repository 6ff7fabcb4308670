/** What the page needs to reach the API, written by serve.ts into /config.js at request time. */
export interface StorefrontConfig {
  /** The API's origin, e.g. `http://localhost:4000` (GraphQL at `/graphql`, WebSocket on the same path). */
  apiUrl: string;
  /** Sent as `Authorization: Bearer <key>` over HTTP and in graphql-ws `connectionParams`; null without API_KEYS. */
  apiKey: string | null;
  /** The API's STAN_CURRENCY: Stan amounts carry no currency, so the page formats and parses them in this one. */
  stanCurrency: string;
}

declare global {
  interface Window {
    /** Set by /config.js (see serve.ts) before the bundle runs. */
    STOREFRONT_CONFIG?: Partial<StorefrontConfig>;
  }
}

/** The runtime configuration, with the same defaults as serve.ts for a page opened without it. */
export function readConfig(): StorefrontConfig {
  const given = window.STOREFRONT_CONFIG ?? {};
  return {
    apiUrl: (given.apiUrl ?? 'http://localhost:4000').replace(/\/+$/, ''),
    apiKey: given.apiKey || null,
    stanCurrency: given.stanCurrency ?? 'EUR',
  };
}
