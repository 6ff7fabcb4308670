import { readFileSync } from 'node:fs';
import { defineConfig, type GatewayPlugin } from '@graphql-hive/gateway';

/**
 * Hive Gateway in front of the checkout graph (several instances) and the example orders subgraph.
 *
 *   CHECKOUTS_URLS=http://127.0.0.1:4000/graphql,http://127.0.0.1:4010/graphql npm run supergraph
 *   PORT=4400 npm run gateway
 *
 * CHECKOUTS_URLS is the one variable for the checkout graph's instances, and `npm run supergraph`
 * reads it: the supergraph's routing URL for the checkout graph is the first instance, and the whole
 * list is written on the supergraph's first line. This config reads both from the supergraph it is
 * started with, so the gateway needs no variable: requests to the routing URL are the checkout
 * graph's, get the client's key, and go to the next instance in turn (an instance that refuses
 * connections is skipped for a while). CHECKOUTS_URLS may be given to the gateway too; a list other
 * than the supergraph's stops the start with one line, as does a supergraph without the checkout
 * graph. Instances share PostgreSQL and Redis, so any of them can answer any request and deliver
 * any status change. This file stands alone (compose mounts it into the gateway image by itself).
 */

/** The supergraph's first line naming the instances, as `npm run supergraph` writes it. */
const INSTANCES_MARK = '# checkouts instances (CHECKOUTS_URLS): ';

/** Stops the start with one line (a thrown error would print the CLI's stack trace). */
function refuseToStart(message: string): never {
  process.stderr.write(`gateway.config.ts: ${message}\n`);
  process.exit(1);
}

function urlList(value: string): string[] {
  return value
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}

/** The supergraph file the gateway was started with: `hive-gateway supergraph <path>` (default supergraph.graphql). */
function supergraphPath(): string {
  const at = process.argv.indexOf('supergraph');
  const path = at >= 0 ? process.argv[at + 1] : undefined;
  return path && !path.startsWith('-') ? path : 'supergraph.graphql';
}

/** The checkout graph's routing URL and instances, as composed into the supergraph; checked against CHECKOUTS_URLS. */
function checkoutGraph(): { routingUrl: URL; instances: URL[] } {
  const path = supergraphPath();
  let sdl: string;
  try {
    sdl = readFileSync(path, 'utf8');
  } catch {
    // Not a file (a URL, or a schema registry): nothing to compare; CHECKOUTS_URLS alone routes.
    const given = urlList(process.env.CHECKOUTS_URLS ?? '');
    if (given.length === 0) refuseToStart(`${path} is not a readable file and CHECKOUTS_URLS is not set`);
    return { routingUrl: new URL(given[0]!), instances: given.map((url) => new URL(url)) };
  }
  const routing = /@join__graph\(name: "checkouts", url: "([^"]+)"\)/.exec(sdl)?.[1];
  if (!routing) refuseToStart(`${path} has no "checkouts" subgraph: compose it with npm run supergraph`);
  const firstLine = sdl.slice(0, sdl.indexOf('\n'));
  const composed = firstLine.startsWith(INSTANCES_MARK) ? urlList(firstLine.slice(INSTANCES_MARK.length)) : [routing];
  const given = process.env.CHECKOUTS_URLS;
  if (given !== undefined && urlList(given).join(',') !== composed.join(',')) {
    refuseToStart(
      `CHECKOUTS_URLS is ${urlList(given).join(',') || '(empty)'} but ${path} was composed for ${composed.join(',')}: run npm run supergraph with the same CHECKOUTS_URLS, or start the gateway without it`,
    );
  }
  return { routingUrl: new URL(routing), instances: composed.map((url) => new URL(url)) };
}

const { routingUrl: supergraphCheckoutsUrl, instances } = checkoutGraph();

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
 * Spreads the checkout graph's requests over its instances and gives them the client's
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
      if (instances.length <= 1 && instances[0]?.origin === supergraphCheckoutsUrl.origin) return;

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
