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
      if (written.origin !== origin) readModel.written(written.checkoutId, written.merchantId);
    }
  })();
  const unlisten = bus.onConnection({
    down: () => {
      readModel.busDown();
      logger.warn('the pub/sub connection is down: reads go to the database until it is back');
    },
    up: () => {
      readModel.busUp();
      logger.info('the pub/sub connection is back: open status streams re-read their checkouts');
    },
  });
  return async () => {
    unlisten();
    await writes.return();
    await done;
  };
}
