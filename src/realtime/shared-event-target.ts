import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import type { RedisHealth } from './redis-health.js';

/** What travels through Redis: the event's detail, and the process that sent it. */
interface Envelope {
  /** The sending process, so that it does not deliver its own events twice. */
  o: string;
  d: unknown;
}

/**
 * An EventTarget for Yoga's `createPubSub` shared by every instance through Redis, that delivers
 * to this instance's own listeners without Redis. It does what `@graphql-yoga/redis-event-target`
 * does (one Redis channel per topic, subscribed while it has listeners) and one thing it cannot:
 * an event is dispatched locally first and published for the other instances second, and an
 * instance ignores its own events coming back from Redis. So a subscriber hears a change made on
 * its own instance whatever state Redis is in; other instances hear it when Redis carries it (and
 * from their streams' resync when it could not).
 */
export function createSharedEventTarget(parts: {
  /** The connection in subscriber mode. */
  subscribeClient: Redis;
  /** The command connection's health: publications go through it, and report their failures to it. */
  health: RedisHealth;
  /** Told about (un)subscriptions that failed (ioredis subscribes again when it reconnects). */
  onError: (error: Error) => void;
}): EventTarget {
  const { subscribeClient, health, onError } = parts;
  const origin = randomUUID();
  const local = new EventTarget();
  // Every open stream of a checkout listens on its topic: thousands on one topic are expected.
  setMaxListeners(0, local);
  const listenersByTopic = new Map<string, number>();

  subscribeClient.on('message', (channel: string, message: string) => {
    if (!listenersByTopic.has(channel)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      return; // not ours
    }
    if (envelope.o === origin) return;
    local.dispatchEvent(new CustomEvent(channel, { detail: envelope.d }));
  });

  const handled = (pending: Promise<unknown>) => void pending.catch(onError);
  return {
    addEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      if (!listener) return;
      const count = listenersByTopic.get(topic) ?? 0;
      listenersByTopic.set(topic, count + 1);
      if (count === 0) handled(subscribeClient.subscribe(topic));
      local.addEventListener(topic, listener);
    },
    removeEventListener(topic: string, listener: EventListenerOrEventListenerObject | null) {
      if (!listener) return;
      local.removeEventListener(topic, listener);
      const count = (listenersByTopic.get(topic) ?? 0) - 1;
      if (count > 0) return void listenersByTopic.set(topic, count);
      listenersByTopic.delete(topic);
      handled(subscribeClient.unsubscribe(topic));
    },
    dispatchEvent(event: Event) {
      const detail = (event as CustomEvent).detail;
      local.dispatchEvent(new CustomEvent(event.type, { detail }));
      // Nothing waits for the publication. One that fails is lost for the other instances: their
      // streams re-read their checkouts when Redis is back, and on their resync tick.
      void health
        .send((client) => client.publish(event.type, JSON.stringify({ o: origin, d: detail })))
        .catch(() => undefined);
      return true;
    },
  } as EventTarget;
}
