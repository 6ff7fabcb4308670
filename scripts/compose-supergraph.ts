import { readFileSync, writeFileSync } from 'node:fs';
import { composeServices } from '@theguild/federation-composition';
import { execute, parse } from 'graphql';
import { schema } from '../src/schema/index.js';

/**
 * `npm run supergraph`: composes the checkout graph's subgraph SDL (exactly what `_service { sdl }`
 * serves) with the example orders subgraph into a Federation v2 supergraph for Hive Gateway.
 *
 * CHECKOUTS_URLS lists the checkout graph's instances (comma-separated; default one instance at
 * http://127.0.0.1:4000/graphql): the first is the routing URL written into the supergraph, and the
 * whole list is written beside it (`INSTANCES_MARK`), so the gateway reads its instances from the
 * supergraph it serves and refuses to start with another list (see gateway.config.ts). ORDERS_URL
 * is the orders subgraph's URL; SUPERGRAPH_OUT is where it is written (default supergraph.graphql).
 * CHECKOUTS_URL, the single URL of earlier versions, is read only when CHECKOUTS_URLS is unset.
 */
const DEFAULT_CHECKOUTS_URL = 'http://127.0.0.1:4000/graphql';
/** The supergraph's comment line naming the checkout graph's instances (gateway.config.ts reads the same line). */
const INSTANCES_MARK = '# checkouts instances (CHECKOUTS_URLS): ';
const checkoutsUrls = (process.env.CHECKOUTS_URLS ?? process.env.CHECKOUTS_URL ?? DEFAULT_CHECKOUTS_URL)
  .split(',')
  .map((url) => url.trim())
  .filter(Boolean);
for (const url of checkoutsUrls) {
  if (!URL.canParse(url)) {
    process.stderr.write(`CHECKOUTS_URLS: "${url}" is not a URL\n`);
    process.exit(1);
  }
}
const checkoutsUrl = checkoutsUrls[0] ?? DEFAULT_CHECKOUTS_URL;
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
writeFileSync(out, `${INSTANCES_MARK}${checkoutsUrls.join(',')}\n${result.supergraphSdl!}`);
process.stdout.write(`supergraph written to ${out} (checkouts → ${checkoutsUrls.join(', ')}, orders → ${ordersUrl})\n`);
