import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { openDatabase } from '../db/client.js';
import { CheckoutRepository, isRowId } from '../db/repository.js';
import { CHECKOUT_STATUSES, isTerminal, type CheckoutStatus } from '../domain/checkout.js';
import { CheckoutLifecycle } from '../domain/lifecycle.js';
import { invalidatingStore } from '../readmodel/invalidating-store.js';
import { createLogger } from '../logger.js';
import { hasStatusEndpoint } from '../providers/index.js';
import { changePublisher, createRealtimeBus } from '../realtime/pubsub.js';
import { decodeGlobalIdSafely } from '../schema/global-id.js';

/**
 * `npm run checkout:resolve -- <checkout id> --status <STATUS> [--provider-checkout-id <id>] --note "<why>"`
 *
 * Records what an operator found out at the provider about a checkout whose outcome is UNKNOWN
 * (or any other), as an event with source `operator`. With a provider checkout id and a status
 * that is not final, the poller follows the checkout from then on. The change is published, so
 * subscribers on instances sharing REDIS_URL hear it.
 */
const USAGE =
  'usage: npm run checkout:resolve -- <checkout id> --status <STATUS> [--provider-checkout-id <id>] --note "<why>"';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      status: { type: 'string' },
      'provider-checkout-id': { type: 'string' },
      note: { type: 'string' },
    },
  });
  const [rawId] = positionals;
  const status = values.status?.toUpperCase() as CheckoutStatus | undefined;
  if (!rawId || !status || !CHECKOUT_STATUSES.includes(status) || !values.note?.trim()) {
    process.stderr.write(`${USAGE}\nstatuses: ${CHECKOUT_STATUSES.join(', ')}\n`);
    return 2;
  }
  const id = isRowId(rawId) ? rawId : decodeGlobalIdSafely(rawId)?.id;
  if (!id || !isRowId(id)) {
    process.stderr.write(`"${rawId}" is neither a checkout's global id nor its row id\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const bus = await createRealtimeBus(config.redisUrl);
  try {
    const repository = new CheckoutRepository(database.db);
    const row = await repository.findAnyById(id);
    if (!row) {
      process.stderr.write(`no checkout ${id}\n`);
      return 1;
    }
    // The same domain code as the API's recordCheckoutOutcome, with the operator's wider rights.
    // Running instances hold checkouts in their read models: with Redis they hear of this write.
    const store = invalidatingStore(repository, {
      bus: bus.kind === 'redis' ? bus.pubsub : undefined,
      origin: 'checkout:resolve',
    });
    const lifecycle = new CheckoutLifecycle({
      store,
      publisher: changePublisher(bus.pubsub),
      isPolled: hasStatusEndpoint,
      logger: createLogger('warn', process.stderr),
    });
    const providerCheckoutId = values['provider-checkout-id'] ?? row.providerCheckoutId;
    const follow = hasStatusEndpoint(row.provider) && providerCheckoutId && !isTerminal(status);
    const updated = await lifecycle.recordOutcome(
      row,
      { status, note: values.note, providerCheckoutId: values['provider-checkout-id'] },
      'operator',
    );
    process.stdout.write(
      `${row.id}: ${row.status} -> ${updated.status}${follow ? ' (the poller follows it now)' : ''}\n`,
    );
    return 0;
  } finally {
    await bus.close();
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`checkout:resolve failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
