import type { CheckoutStore } from '../domain/ports.js';

/**
 * The store, and after a committed write that put deliveries in the webhook outbox `wake` is
 * called: the dispatcher then sends them at once instead of at its next scan. Writes that enqueued
 * nothing (a tenant without endpoints) wake nobody. A create's first write (PENDING) wakes nobody
 * either: the write of the provider's answer follows it at once and wakes the dispatcher for both.
 */
export function wakingStore(store: CheckoutStore, wake: () => void): CheckoutStore {
  return {
    findByIdempotencyKey: (tenant, key) => store.findByIdempotencyKey(tenant, key),
    createPending: (input) => store.createPending(input),
    async applySnapshot(expected, snapshot, source, options) {
      const result = await store.applySnapshot(expected, snapshot, source, options);
      if (result.deliveries > 0) wake();
      return result;
    },
  };
}
