import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line of one unit of work (an HTTP request, one status poll) is correlated by. */
interface RequestScope {
  requestId: string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** Request ids we accept from clients (and gateways) as they are; anything else is replaced. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is acceptable, else a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && ACCEPTABLE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Runs `work` so that `currentRequestId()` anywhere in its async continuation returns `requestId`. */
export function runWithRequestId<T>(requestId: string, work: () => T): T {
  return scope.run({ requestId }, work);
}

/** The id of the request (or poll) whose async work is running, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}
