import { setMaxListeners } from 'node:events';
import { createPubSub, type PubSub } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { CheckoutEventRow, CheckoutRow } from '../db/schema.js';
import type { ChangePublisher } from '../domain/ports.js';
import { RedisHealth } from './redis-health.js';
import { createSharedEventTarget } from './shared-event-target.js';

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
  /** Redis stopped answering (or the subscriber connection broke), and why: messages published from now on may never arrive here. */
  down?: (reason: string) => void;
  /** It answers again (and has resubscribed): whoever relies on messages re-reads what it may have missed. */
  up?: () => void;
}

/** The pub/sub and how to close its connections. */
export interface RealtimeBus {
  pubsub: CheckoutPubSub;
  kind: 'memory' | 'redis';
  /** The Redis command connection and its health (the rate limiter's counters), when the bus runs on Redis. */
  redis?: { client: Redis; health: RedisHealth };
  /** False while Redis does not answer in time or the subscriber connection is down (always true in memory). */
  readonly connected: boolean;
  /** Listens to outages and recoveries; returns the unsubscribe. */
  onConnection(events: BusConnectionEvents): () => void;
  close(): Promise<void>;
}

/** How long a stop waits for Redis to acknowledge QUIT before it drops the connections. */
const QUIT_TIMEOUT_MS = 1_000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** How the bus treats Redis. */
export interface RealtimeBusOptions {
  /** Deadline of each Redis command on the request path (default 50 ms). */
  commandTimeoutMs?: number;
  /** How often Redis is pinged to find a freeze without traffic (default 1 s). */
  pingIntervalMs?: number;
  /** Told about the first connection error of an outage (ioredis reconnects by itself). */
  onConnectionError?: (error: Error) => void;
}

/**
 * In memory by default; with `redisUrl`, through Redis so that a change made on one instance
 * reaches subscribers connected to any other. Nothing on the request path waits on Redis for more
 * than `commandTimeoutMs`: see RedisHealth and createSharedEventTarget.
 */
export async function createRealtimeBus(
  redisUrl: string | undefined,
  options: RealtimeBusOptions = {},
): Promise<RealtimeBus> {
  if (!redisUrl)
    return {
      pubsub: createCheckoutPubSub(),
      kind: 'memory',
      connected: true,
      onConnection: () => () => undefined,
      close: async () => undefined,
    };
  // Commands fail at once while the connection is down (no offline queue) and after
  // `commandTimeout` when Redis does not answer (frozen): either way the caller falls back.
  const publishClient = new Redis(redisUrl, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // Subscriptions are never awaited by a request; ioredis queues them and subscribes again after a reconnect.
  const subscribeClient = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  // ioredis reconnects by itself. Its errors are handled here (an unhandled error event would be
  // printed outside the JSON logs), and only the first of an outage is reported: one line, not one per retry.
  let outageReported = false;
  const reportOnce = (error: Error) => {
    if (outageReported) return;
    outageReported = true;
    options.onConnectionError?.(error);
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
  // The deadline applies from here on (ioredis reads it as each command is sent): connecting, on a
  // busy machine, may take longer than a request should ever wait.
  publishClient.options.commandTimeout = options.commandTimeoutMs ?? 50;
  const health = new RedisHealth(publishClient, { pingIntervalMs: options.pingIntervalMs });
  const connection = watchConnection(subscribeClient, health);
  return {
    pubsub: createCheckoutPubSub(createSharedEventTarget({ subscribeClient, health, onError: reportOnce })),
    kind: 'redis',
    redis: { client: publishClient, health },
    get connected() {
      return connection.connected;
    },
    onConnection: connection.listen,
    async close() {
      connection.closing = true;
      health.stop();
      // QUIT waits for Redis's answer: a frozen Redis would hold the stop for ever.
      const quit = Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
      const late = await Promise.race([quit.then(() => false), delay(QUIT_TIMEOUT_MS).then(() => true)]);
      if (late) {
        publishClient.disconnect();
        subscribeClient.disconnect();
      }
    },
  };
}

/**
 * Follows Redis as subscribers depend on it: down when the subscriber connection closes or Redis
 * stops answering commands in time, up when both are well again (ioredis has resubscribed by its
 * `ready`). A deliberate close is no outage.
 */
function watchConnection(subscriber: Redis, health: RedisHealth) {
  const listeners = new Set<BusConnectionEvents>();
  let subscriberReady = true;
  let reason = '';
  const state = {
    connected: true,
    closing: false,
    listen(events: BusConnectionEvents) {
      listeners.add(events);
      return () => void listeners.delete(events);
    },
  };
  const update = () => {
    const connected = subscriberReady && !health.outage;
    if (state.closing || connected === state.connected) return;
    state.connected = connected;
    for (const events of listeners) connected ? events.up?.() : events.down?.(reason);
  };
  subscriber.on('close', () => {
    subscriberReady = false;
    reason = 'the subscriber connection closed';
    update();
  });
  subscriber.on('ready', () => {
    subscriberReady = true;
    update();
  });
  health.listen(() => {
    reason = `Redis has not answered within its deadline for a second (${health.lastFailure})`;
    update();
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
