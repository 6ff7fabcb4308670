import type { Logger } from '../logger.js';
import type { RealtimeBus } from '../realtime/pubsub.js';
import type { CheckoutReadModel } from './checkout-read-model.js';

/**
 * Keeps this instance's read model true to writes made elsewhere: each announced write evicts
 * its checkout, and an outage of the bus empties the model and bypasses it until the bus is back
 * (writes announced meanwhile never arrive). Returns the function that stops listening.
 */
export function listenForWrites(
  bus: RealtimeBus,
  readModel: CheckoutReadModel,
  origin: string,
  logger: Logger,
): () => Promise<void> {
  const writes = bus.pubsub.subscribe('checkoutWritten');
  const done = (async () => {
    for await (const written of writes) {
      if (written && written.origin !== origin) readModel.written(written.checkoutId, written.merchantId);
    }
  })();
  let downSince = 0;
  // The one line an outage of Redis writes when it starts, and the one when it ends.
  const unlisten = bus.onConnection({
    down: (reason) => {
      downSince = Date.now();
      readModel.busDown();
      logger.warn(
        { reason },
        'Redis is unavailable: until it answers, rate limits count per instance, changes reach only the subscribers of the instance that made them, and reads go to the database',
      );
    },
    up: () => {
      readModel.busUp();
      logger.info(
        { downForMs: Date.now() - downSince },
        'Redis answers again: rate limits are shared again, and open status streams re-read their checkouts',
      );
    },
  });
  return async () => {
    unlisten();
    await writes.return();
    await done;
  };
}
