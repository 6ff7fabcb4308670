import type { CheckoutStore } from '../domain/ports.js';
import { publishWritten, type CheckoutPubSub } from '../realtime/pubsub.js';
import type { CheckoutReadModel } from './checkout-read-model.js';

/** Who hears of a write: this process's read model, and through the bus the other instances'. */
export interface WriteAudience {
  readModel?: CheckoutReadModel;
  /** Set when other processes share the database and listen on this bus (Redis). */
  bus?: CheckoutPubSub;
  /** This instance's id, so that it skips its own announcements. */
  origin: string;
}

/**
 * The store the domain writes through: the same store, and every write that changed a checkout
 * evicts it from the read model before the write's caller goes on (so a read right after a
 * mutation, a refresh or a published change is fresh here) and is announced to the other instances.
 */
export function invalidatingStore(store: CheckoutStore, audience: WriteAudience): CheckoutStore {
  return {
    createPending: (input) => store.createPending(input),
    findByIdempotencyKey: (tenant, key) => store.findByIdempotencyKey(tenant, key),
    async applySnapshot(checkoutId, snapshot, source, options) {
      const result = await store.applySnapshot(checkoutId, snapshot, source, options);
      if (result.written) {
        audience.readModel?.written(checkoutId, result.row.merchantId);
        if (audience.bus)
          publishWritten(audience.bus, { checkoutId, merchantId: result.row.merchantId, origin: audience.origin });
      }
      return result;
    },
  };
}
