import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { RedisHealth } from './redis-health.js';

/** How long a publication of this process is recognised when Redis hands it back. */
const OWN_ECHO_TTL_MS = 60_000;

/**
 * An EventTarget for Yoga's `createPubSub` shared by every instance through Redis, that delivers
 * to this instance's own listeners without Redis. It does what `@graphql-yoga/redis-event-target`
 * does, with the same messages on the same channels (one per topic, subscribed while it has
 * listeners; the detail as JSON), so instances of either kind understand each other during a
 * rolling upgrade, and one thing it cannot: an event is dispatched locally first and published for
 * the other instances second, and its copy coming back from Redis is skipped (recognised by its
 * exact text, which for these topics no other process publishes: it names its event or writer).
 * So a subscriber hears a change made on its own instance whatever state Redis is in; other
 * instances hear it when Redis carries it, and from their streams' resync when it could not.
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
  const local = new EventTarget();
  /** Texts this process published, with how many copies of each are still to come back. */
  const ownEchoes = new LRUCache<string, { count: number }>({ max: 100_000, ttl: OWN_ECHO_TTL_MS });
  // Every open stream of a checkout listens on its topic: thousands on one topic are expected.
  setMaxListeners(0, local);
  const listenersByTopic = new Map<string, number>();

  subscribeClient.on('message', (channel: string, message: string) => {
    if (!listenersByTopic.has(channel)) return;
    const echo = ownEchoes.get(message);
    if (echo) {
      if (--echo.count === 0) ownEchoes.delete(message);
      return;
    }
    let detail: unknown;
    try {
      detail = message === '' ? null : JSON.parse(message);
    } catch {
      return; // not a message of ours
    }
    local.dispatchEvent(new CustomEvent(channel, { detail }));
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
      const message = detail === undefined ? '' : JSON.stringify(detail);
      // Only a topic this process listens to comes back to it.
      if (listenersByTopic.has(event.type)) {
        const echo = ownEchoes.get(message);
        if (echo) echo.count += 1;
        else ownEchoes.set(message, { count: 1 });
      }
      // Nothing waits for the publication. One that fails is lost for the other instances: their
      // streams re-read their checkouts when Redis is back, and on their resync tick.
      void health.send((client) => client.publish(event.type, message)).catch(() => undefined);
      return true;
    },
  } as EventTarget;
}
