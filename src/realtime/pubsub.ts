import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { CheckoutEventRow, CheckoutRow } from '../db/schema.js';
import type { ChangePublisher } from '../domain/ports.js';

/** What is published when a checkout's status changes: the row as written, and its event id. */
export interface CheckoutChange {
  /** Id of the appended checkout event; subscribers skip changes they have already seen. */
  eventId: number;
  /** The checkout row right after the change, JSON-safe (dates as ISO strings). */
  checkout: Omit<CheckoutRow, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };
}

/** Published on every write of a checkout, status change or not: other instances drop what they cached of it. */
export interface CheckoutWritten {
  checkoutId: string;
  /** The merchant the write may have changed. */
  merchantId: string | null;
  /** The instance that wrote it (which has evicted it already). */
  origin: string;
}

/**
 * One topic per checkout (`checkoutChanged:<checkout id>`) for status changes, and one topic for
 * every write (`checkoutWritten`), which each instance's read model listens to.
 */
export type CheckoutPubSub = PubSub<CheckoutTopics> & {
  /**
   * Calls `listener` with every change of one checkout until the returned function is called: the
   * callback form of `subscribe('checkoutChanged', id)`, for status streams, which would otherwise
   * each hold an async iterator (and its pending promises) per checkout they watch.
   */
  listenToCheckout(checkoutId: string, listener: (change: CheckoutChange) => void): () => void;
};

type CheckoutTopics = {
  checkoutChanged: [checkoutId: string, change: CheckoutChange];
  checkoutWritten: [written: CheckoutWritten];
};

/** The pub/sub over `target` (Redis's event target, or one in memory). */
export function createCheckoutPubSub(target: EventTarget = new EventTarget()): CheckoutPubSub {
  // Every open stream of a checkout listens on its topic; thousands on one checkout are expected,
  // not a leak, so Node's warning past 10 listeners per event would only mislead.
  if (target instanceof EventTarget) setMaxListeners(0, target);
  const pubsub = createPubSub<CheckoutTopics>({ eventTarget: target as never });
  return Object.assign(pubsub, {
    listenToCheckout(checkoutId: string, listener: (change: CheckoutChange) => void) {
      // The topic name createPubSub gives `subscribe('checkoutChanged', checkoutId)`.
      const topic = `checkoutChanged:${checkoutId}`;
      const handler = (event: Event) => listener((event as CustomEvent<CheckoutChange>).detail);
      target.addEventListener(topic, handler);
      return () => target.removeEventListener(topic, handler);
    },
  });
}

/** What the bus tells about its own connection. */
export interface BusConnectionEvents {
  /** The subscriber connection broke: messages published from now on may never arrive here. */
  down?: () => void;
  /** It is back (and resubscribed): whoever relies on messages re-reads what it may have missed. */
  up?: () => void;
}

/** The pub/sub and how to close its connections. */
export interface RealtimeBus {
  pubsub: CheckoutPubSub;
  kind: 'memory' | 'redis';
  /** A Redis connection for commands (the rate limiter's counters), when the bus runs on Redis. */
  redis?: Redis;
  /** False while the subscriber connection is down (always true in memory). */
  readonly connected: boolean;
  /** Listens to outages and recoveries of the subscriber connection; returns the unsubscribe. */
  onConnection(events: BusConnectionEvents): () => void;
  close(): Promise<void>;
}

/**
 * In memory by default; with `redisUrl`, through Redis so that a change polled by one instance
 * reaches subscribers connected to any other.
 */
export async function createRealtimeBus(
  redisUrl: string | undefined,
  onConnectionError: (error: Error) => void = () => undefined,
): Promise<RealtimeBus> {
  if (!redisUrl)
    return {
      pubsub: createCheckoutPubSub(),
      kind: 'memory',
      connected: true,
      onConnection: () => () => undefined,
      close: async () => undefined,
    };
  const options = { lazyConnect: true, maxRetriesPerRequest: 3 };
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  // ioredis reconnects by itself. Its errors are handled here (an unhandled error event would be
  // printed outside the JSON logs), and only the first of an outage is reported: one line, not one per retry.
  let outageReported = false;
  const reportOnce = (error: Error) => {
    if (outageReported) return;
    outageReported = true;
    onConnectionError(error);
  };
  for (const client of [publishClient, subscribeClient]) {
    client.on('error', reportOnce);
    client.on('ready', () => {
      outageReported = false;
    });
  }
  try {
    await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  } catch (error) {
    // A client that failed to connect keeps reconnecting until told to stop: nothing may outlive a failed start.
    publishClient.disconnect();
    subscribeClient.disconnect();
    throw new Error(
      `Redis at REDIS_URL could not be reached: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const connection = watchConnection(subscribeClient);
  return {
    pubsub: createCheckoutPubSub(
      createRedisEventTarget(failSoftly(publishClient, subscribeClient, reportOnce)) as unknown as EventTarget,
    ),
    kind: 'redis',
    redis: publishClient,
    get connected() {
      return connection.connected;
    },
    onConnection: connection.listen,
    async close() {
      connection.closing = true;
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
}

/**
 * The clients as the event target uses them, with the promises it drops handled: a publish or
 * (un)subscribe that fails during an outage is reported instead of rejecting unhandled, which
 * would end the process. What it would have carried is recovered by the streams' resync.
 */
function failSoftly(publishClient: Redis, subscribeClient: Redis, report: (error: Error) => void) {
  const handled = (pending: Promise<unknown>) => void pending.catch(report);
  const publisher = { publish: (channel: string, message: string) => handled(publishClient.publish(channel, message)) };
  const subscriber = {
    on: (event: 'message', listener: (channel: string, message: string) => void) => subscribeClient.on(event, listener),
    subscribe: (channel: string) => handled(subscribeClient.subscribe(channel)),
    unsubscribe: (channel: string) => handled(subscribeClient.unsubscribe(channel)),
  };
  return { publishClient: publisher as unknown as Redis, subscribeClient: subscriber as unknown as Redis };
}

/**
 * Follows the subscriber connection: `close` starts an outage, the next `ready` (ioredis has
 * resubscribed by then) ends it. A deliberate close is no outage.
 */
function watchConnection(client: Redis) {
  const listeners = new Set<BusConnectionEvents>();
  const state = {
    connected: true,
    closing: false,
    listen(events: BusConnectionEvents) {
      listeners.add(events);
      return () => void listeners.delete(events);
    },
  };
  client.on('close', () => {
    if (state.closing || !state.connected) return;
    state.connected = false;
    for (const events of listeners) events.down?.();
  });
  client.on('ready', () => {
    if (state.connected) return;
    state.connected = true;
    for (const events of listeners) events.up?.();
  });
  return state;
}

/** Publishes a status change to the checkout's topic. */
function publishChange(pubsub: CheckoutPubSub, checkout: CheckoutRow, event: CheckoutEventRow): void {
  pubsub.publish('checkoutChanged', checkout.id, {
    eventId: event.id,
    checkout: { ...checkout, createdAt: checkout.createdAt.toISOString(), updatedAt: checkout.updatedAt.toISOString() },
  });
}

/** The domain's publisher on this pub/sub. */
export function changePublisher(pubsub: CheckoutPubSub): ChangePublisher {
  return { publish: (checkout, event) => publishChange(pubsub, checkout, event) };
}

/** Tells the other instances' read models that a checkout was written. */
export function publishWritten(pubsub: CheckoutPubSub, written: CheckoutWritten): void {
  pubsub.publish('checkoutWritten', written);
}

/** The checkout row of a published change, with its dates restored. */
export function checkoutOf(change: CheckoutChange): CheckoutRow {
  // One row per change, however many subscriptions receive it: the same payload object lets
  // useSharedEventExecution execute each selection once per change.
  let row = rowsOfChanges.get(change);
  if (!row) {
    row = {
      ...change.checkout,
      createdAt: new Date(change.checkout.createdAt),
      updatedAt: new Date(change.checkout.updatedAt),
    };
    rowsOfChanges.set(change, row);
  }
  return row;
}

const rowsOfChanges = new WeakMap<CheckoutChange, CheckoutRow>();
