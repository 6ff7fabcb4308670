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

/** One topic per checkout: `checkoutChanged:<checkout id>`. */
export type CheckoutPubSub = PubSub<{ checkoutChanged: [checkoutId: string, change: CheckoutChange] }>;

/** The pub/sub and how to close its connections. */
export interface RealtimeBus {
  pubsub: CheckoutPubSub;
  kind: 'memory' | 'redis';
  /** A Redis connection for commands (the rate limiter's counters), when the bus runs on Redis. */
  redis?: Redis;
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
  if (!redisUrl) return { pubsub: createPubSub(), kind: 'memory', close: async () => undefined };
  const options = { lazyConnect: true, maxRetriesPerRequest: 3 };
  const publishClient = new Redis(redisUrl, options);
  const subscribeClient = new Redis(redisUrl, options);
  // ioredis reconnects by itself; each failed attempt is reported here instead of as an unhandled error event.
  for (const client of [publishClient, subscribeClient]) client.on('error', onConnectionError);
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
  return {
    pubsub: createPubSub({ eventTarget: createRedisEventTarget({ publishClient, subscribeClient }) }),
    kind: 'redis',
    redis: publishClient,
    async close() {
      await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
    },
  };
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
