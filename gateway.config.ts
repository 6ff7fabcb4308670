import { defineConfig, type GatewayPlugin } from '@graphql-hive/gateway';

/**
 * Hive Gateway in front of the checkout graph (several instances) and the example orders subgraph.
 *
 *   npm run supergraph
 *   CHECKOUTS_URLS=http://127.0.0.1:4000/graphql,http://127.0.0.1:4010/graphql PORT=4400 npm run gateway
 *
 * CHECKOUTS_URL is the checkout graph's URL in the supergraph (same variable and default as
 * `npm run supergraph`): requests to it are the checkout graph's. CHECKOUTS_URLS lists its
 * instances; the gateway sends each request (a query, a mutation, one subscription's event stream)
 * to the next instance in turn, and skips an instance that refuses connections for a while.
 * Unset, requests go to CHECKOUTS_URL itself. Instances share PostgreSQL and Redis, so any of them
 * can answer any request and deliver any status change.
 */
const supergraphCheckoutsUrl = new URL(process.env.CHECKOUTS_URL ?? 'http://127.0.0.1:4000/graphql');
const instances = (process.env.CHECKOUTS_URLS ?? '')
  .split(',')
  .map((url) => url.trim())
  .filter(Boolean)
  .map((url) => new URL(url));

/** How long an instance that refused a connection is left out of the rotation. */
const REFUSED_INSTANCE_PAUSE_MS = 5_000;

/** The headers the checkout graph needs from the client: its API key, and the request id for correlated logs. */
const FORWARDED_HEADERS = ['authorization', 'x-request-id'] as const;

type Fetch = Parameters<Parameters<NonNullable<GatewayPlugin['onFetch']>>[0]['setFetchFn']>[0];

/** True when nothing reached the instance (connection refused or reset before sending), so another may be tried. */
function refused(error: unknown): boolean {
  const codes = [(error as { code?: string })?.code, (error as { cause?: { code?: string } })?.cause?.code];
  return codes.includes('ECONNREFUSED') || /ECONNREFUSED/.test(String((error as Error)?.message ?? ''));
}

/**
 * Spreads the checkout graph's requests over CHECKOUTS_URLS and gives them the client's
 * authorization and x-request-id. The headers come from the gateway context: the HTTP request's
 * headers, or a WebSocket client's connectionParams (graphql-ws has no headers), so a subscription
 * opened over WebSocket reaches the subgraph authenticated like a query over HTTP.
 */
function checkoutGraphRouting(): GatewayPlugin {
  let next = 0;
  const pausedUntil = new Map<string, number>();
  return {
    onFetch({ url, options, setOptions, context, fetchFn, setFetchFn }) {
      const target = new URL(url);
      // Only the checkout graph gets the client's key; other subgraphs never see it.
      if (target.origin !== supergraphCheckoutsUrl.origin) return;
      const clientHeaders = (context as { headers?: Record<string, unknown> } | undefined)?.headers ?? {};
      // The gateway sends subscriptions as GET event streams, which the checkout graph's CSRF
      // prevention refuses without this header; the gateway is a server, not a browser, so it says so.
      const headers: Record<string, string> = { ...options.headers, 'x-graphql-yoga-csrf': 'gateway' };
      for (const name of FORWARDED_HEADERS) {
        const value = clientHeaders[name];
        if (typeof value === 'string' && value !== '') headers[name] = value;
      }
      setOptions({ ...options, headers });
      if (instances.length === 0) return;

      const roundRobin: Fetch = async (requestUrl, init, ...rest) => {
        const start = next++;
        const now = Date.now();
        const order = instances.map((_, i) => instances[(start + i) % instances.length]!);
        // Paused instances go last: tried only when every other one refused too.
        order.sort(
          (a, b) => Number((pausedUntil.get(a.host) ?? 0) > now) - Number((pausedUntil.get(b.host) ?? 0) > now),
        );
        let lastError: unknown;
        for (const instance of order) {
          const routed = new URL(requestUrl);
          routed.protocol = instance.protocol;
          routed.host = instance.host;
          try {
            return await fetchFn(routed.toString(), init, ...rest);
          } catch (error) {
            if (!refused(error)) throw error;
            pausedUntil.set(instance.host, Date.now() + REFUSED_INSTANCE_PAUSE_MS);
            lastError = error;
          }
        }
        throw lastError;
      };
      setFetchFn(roundRobin);
    },
  };
}

export const gatewayConfig = defineConfig({
  // Unexpected gateway errors are masked, as the checkout graph masks its own.
  maskedErrors: true,
  plugins: () => [checkoutGraphRouting()],
});
