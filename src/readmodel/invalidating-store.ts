import type { StoredSnapshotResult } from '../db/repository.js';
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

/** A store whose writes say what they stored (the repository). */
export interface StoringCheckoutStore extends CheckoutStore {
  applySnapshot(...args: Parameters<CheckoutStore['applySnapshot']>): Promise<StoredSnapshotResult>;
}

/**
 * The store the domain writes through: the same store, and every write that changed a checkout
 * updates the read model before the write's caller goes on (with what the write stored, so the
 * mutation's answer and the next read need no statement; or, when the write could not say, by
 * evicting it) and is announced to the other instances, which evict it.
 */
export function invalidatingStore(store: StoringCheckoutStore, audience: WriteAudience): CheckoutStore {
  return {
    createPending: (input) => store.createPending(input),
    findByIdempotencyKey: (tenant, key) => store.findByIdempotencyKey(tenant, key),
    async applySnapshot(expected, snapshot, source, options) {
      const result = await store.applySnapshot(expected, snapshot, source, options);
      if (result.written) {
        const { row } = result;
        if (result.stored) audience.readModel?.stored(result.stored, result.stored.merchant);
        else audience.readModel?.written(row.id, row.merchantId, row.updatedAt);
        if (audience.bus)
          publishWritten(audience.bus, { checkoutId: row.id, merchantId: row.merchantId, origin: audience.origin });
      }
      return result;
    },
  };
}
