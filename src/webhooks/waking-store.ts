import { enqueuedDeliveryCount } from '../db/webhooks.js';
import type { CheckoutStore } from '../domain/ports.js';

/**
 * The store, and after a committed write that put deliveries in the webhook outbox `wake` is
 * called: the dispatcher then sends them at once instead of at its next scan. Writes that enqueued
 * nothing (a tenant without endpoints) wake nobody, so they cost no extra statement.
 */
export function wakingStore(store: CheckoutStore, wake: () => void): CheckoutStore {
  const afterWrite = async <T>(write: () => Promise<T>): Promise<T> => {
    const before = enqueuedDeliveryCount();
    const result = await write();
    if (enqueuedDeliveryCount() !== before) wake();
    return result;
  };
  return {
    findByIdempotencyKey: (tenant, key) => store.findByIdempotencyKey(tenant, key),
    createPending: (input) => afterWrite(() => store.createPending(input)),
    applySnapshot: (checkoutId, snapshot, source, options) =>
      afterWrite(() => store.applySnapshot(checkoutId, snapshot, source, options)),
  };
}
