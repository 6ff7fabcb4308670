import { readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@theguild/federation-composition';
import { execute, parse } from 'graphql';
import { schema } from '../src/schema/index.js';

/**
 * `npm run supergraph`: composes the checkout graph's subgraph SDL (exactly what `_service { sdl }`
 * serves) with the example orders subgraph into a Federation v2 supergraph for Hive Gateway.
 *
 * CHECKOUTS_URL and ORDERS_URL are the routing URLs written into the supergraph (the gateway
 * config may spread the checkout graph's requests over several instances, see gateway.config.ts);
 * SUPERGRAPH_OUT is where it is written (default supergraph.graphql).
 */
const checkoutsUrl = process.env.CHECKOUTS_URL ?? 'http://127.0.0.1:4000/graphql';
const ordersUrl = process.env.ORDERS_URL ?? 'http://127.0.0.1:4001/graphql';
const out = process.env.SUPERGRAPH_OUT ?? 'supergraph.graphql';

/** The SDL the running API serves as `_service { sdl }`, read from the same schema object without a server. */
async function checkoutGraphSdl(): Promise<string> {
  const result = await execute({ schema, document: parse('{ _service { sdl } }'), contextValue: {} });
  const sdl = (result.data as { _service?: { sdl?: string } } | null | undefined)?._service?.sdl;
  if (!sdl) throw new Error(`could not read the subgraph SDL: ${JSON.stringify(result.errors)}`);
  return sdl;
}

const ordersSdl = readFileSync(new URL('../examples/orders/schema.graphql', import.meta.url), 'utf8');
const result = composeServices([
  { name: 'checkouts', typeDefs: parse(await checkoutGraphSdl()), url: checkoutsUrl },
  { name: 'orders', typeDefs: parse(ordersSdl), url: ordersUrl },
]);
if (result.errors?.length) {
  for (const error of result.errors) process.stderr.write(`composition error: ${error.message}\n`);
  process.exit(1);
}
writeFileSync(out, result.supergraphSdl!);
process.stdout.write(`supergraph written to ${out} (checkouts → ${checkoutsUrl}, orders → ${ordersUrl})\n`);
