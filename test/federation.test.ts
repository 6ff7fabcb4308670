import { readFileSync } from 'node:fs';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ServiceSdlDocument } from './generated/graphql.js';
import { useTestApp } from './support/app.js';

const ORDERS_SDL = readFileSync(new URL('../examples/orders/schema.graphql', import.meta.url), 'utf8');

describe('federation composition', () => {
  const t = useTestApp();

  it('composes the served subgraph SDL with the example orders subgraph, without errors', async () => {
    const sdl = (await t.request(ServiceSdlDocument, {})).data?._service.sdl;
    expect(sdl).toContain('@key(fields: "id")');
    const result = composeServices([
      { name: 'checkouts', typeDefs: parse(sdl!), url: `${t.url}/graphql` },
      { name: 'orders', typeDefs: parse(ORDERS_SDL), url: 'http://orders.invalid/graphql' },
    ]);
    expect(result.errors ?? []).toEqual([]);
    const supergraph = result.supergraphSdl!;
    // The order's checkout field resolves in the checkout graph: the join names both subgraphs.
    expect(supergraph).toMatch(/type Order[^{]*@join__type\(graph: ORDERS, key: "id"\)/);
    expect(supergraph).toMatch(/type SmartCheckout[^{]*@join__type\(graph: CHECKOUTS, key: "id"\)/);
    expect(supergraph).toMatch(/type SmartCheckout[^{]*@join__type\(graph: ORDERS, key: "id", resolvable: false\)/);
    expect(result.publicSdl).toContain('checkoutStatusChanged');
  });

  it('refuses a subgraph that contradicts ours (a composition that cannot fail would prove nothing)', async () => {
    const sdl = (await t.request(ServiceSdlDocument, {})).data?._service.sdl;
    const conflicting = ORDERS_SDL.replace('type Query {', 'type Money { amount: String! }\n\ntype Query {');
    const result = composeServices([
      { name: 'checkouts', typeDefs: parse(sdl!), url: `${t.url}/graphql` },
      { name: 'orders', typeDefs: parse(conflicting), url: 'http://orders.invalid/graphql' },
    ]);
    expect(result.errors?.length ?? 0).toBeGreaterThan(0);
  });
});
