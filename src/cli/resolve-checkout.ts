import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { isRowId } from '../domain/ids.js';
import { CHECKOUT_STATUSES, type CheckoutStatus } from '../domain/checkout.js';
import { decodeGlobalIdSafely } from '../schema/global-id.js';
import { runCommand } from './command.js';
import { connectOperator } from './operator-client.js';

/**
 * `npm run checkout:resolve -- <checkout id> --status <STATUS> [--provider-checkout-id <id>] --note "<why>"`
 *
 * Records what an operator found out at the provider about a checkout whose outcome is UNKNOWN
 * (or any other), as an event with source `operator`. With a provider checkout id and a status
 * that is not final, the poller follows the checkout from then on. The change is published, so
 * subscribers hear it: on the embedded database the command goes through the server holding the
 * data folder; with PostgreSQL it writes beside the servers, which hear of it through Redis.
 */
const USAGE =
  'usage: npm run checkout:resolve -- <checkout id> --status <STATUS> [--provider-checkout-id <id>] --note "<why>"';

runCommand('checkout:resolve', USAGE, async (fail) => {
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
  if (!rawId || !status || !CHECKOUT_STATUSES.includes(status) || !values.note?.trim())
    return fail(`statuses: ${CHECKOUT_STATUSES.join(', ')}`);
  const id = isRowId(rawId) ? rawId : decodeGlobalIdSafely(rawId)?.id;
  if (!id || !isRowId(id)) return fail(`"${rawId}" is neither a checkout's global id nor its row id`);

  const operator = await connectOperator(loadConfig(process.env), 'checkout:resolve');
  try {
    const resolved = await operator.resolveCheckout({
      checkoutId: id,
      status,
      note: values.note,
      providerCheckoutId: values['provider-checkout-id'],
    });
    process.stdout.write(
      `${resolved.checkoutId}: ${resolved.previousStatus} -> ${resolved.status}${resolved.followed ? ' (the poller follows it now)' : ''}\n`,
    );
    return 0;
  } finally {
    await operator.close();
  }
});
