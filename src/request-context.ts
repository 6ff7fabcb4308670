import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Request ids we accept from clients (and gateways) as they are; anything else is replaced. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is acceptable, else a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTABLE_REQUEST_ID.test(header) ? header : randomUUID();
}

// The id travels with the request object rather than through async context: AsyncLocalStorage
// costs every promise of every request a hook (7–10% of a read's CPU in the profiles), while the
// places that log (the operation context, provider calls, the poller) are handed the id anyway.
// It is a property of the request, not a WeakMap entry: V8's scavenger keeps every young WeakMap
// key alive, so an entry per request promoted each request to the old generation (bench/README.md,
// "Garbage per request").
const REQUEST_ID = Symbol('checkout-graph.requestId');

type WithRequestId = IncomingMessage & { [REQUEST_ID]?: string };

/** Fixes the id of an HTTP request, for the GraphQL context built later from the same request. */
export function assignRequestId(req: IncomingMessage, requestId: string): void {
  (req as WithRequestId)[REQUEST_ID] = requestId;
}

/** The id `assignRequestId` gave this request, if any (graphql-ws upgrade requests have none). */
export function requestIdOf(req: IncomingMessage | undefined): string | undefined {
  return (req as WithRequestId | undefined)?.[REQUEST_ID];
}
