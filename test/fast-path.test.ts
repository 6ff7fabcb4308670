import { describe, expect, it } from 'vitest';
import { type TestApp, useTestApp } from './support/app.js';
import { metricOf } from './support/metrics.js';
import { createStan } from './support/seed.js';

/** A query without fragments: the fast path runs it compiled by graphql-jit. */
const PLAIN_QUERY = `query Plain($id: ID!) {
  checkout(id: $id) {
    __typename id provider status
    total { amount currency decimal }
    lineItems { productId description quantity unitPrice { amount currency decimal } }
    merchant { id name }
    createdAt updatedAt
  }
}`;

/** A fragment between fields: graphql-jit would reorder them, so the fast path runs graphql-js. */
const FRAGMENT_QUERY = `query WithFragment($id: ID!) {
  checkout(id: $id) { id ... on StanCheckout { checkoutUrl } status events { status source } }
}`;

const PAGE_QUERY = '{ checkouts(first: 5) { edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }';

interface RawAnswer {
  status: number;
  contentType: string | null;
  remaining: number;
  body: string;
}

/** POSTs `query` as raw JSON (no Origin header, any Accept), as the tenant of `apiKey`. */
async function post(
  t: TestApp,
  query: string,
  variables: Record<string, unknown> = {},
  { apiKey = t.keys.a, headers = {} }: { apiKey?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const remaining = Number(/r=(\d+)/.exec(response.headers.get('ratelimit') ?? '')?.[1] ?? Number.NaN);
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    remaining,
    body: await response.text(),
  };
}

const outcome = (t: TestApp, name: string) => metricOf(t, 'checkout_fast_query_path_total', { outcome: name });

describe('the fast query path', () => {
  const t = useTestApp();

  it.each([
    ['a plain query (graphql-jit)', PLAIN_QUERY],
    ['a query with a fragment between fields (graphql-js)', FRAGMENT_QUERY],
  ])('serves %s again with the bytes Yoga sent the first time', async (_name, query) => {
    const checkout = await createStan(t);
    const servedBefore = await outcome(t, 'served');
    const first = await post(t, query, { id: checkout.id });
    const again = await post(t, query, { id: checkout.id });
    const third = await post(t, query, { id: checkout.id });
    expect(JSON.parse(first.body).data.checkout.id).toBe(checkout.id);
    expect({ ...again, remaining: 0 }).toEqual({ ...first, remaining: 0 });
    expect(third.body).toBe(first.body);
    // The first time Yoga validated the source; the two after it were served without Yoga.
    expect((await outcome(t, 'served')) - servedBefore).toBe(2);
  });

  it('serves pages, and records the operation in the same metrics Yoga does', async () => {
    await createStan(t);
    const label = { operationName: 'Anonymous', operationType: 'query' };
    const before = await metricOf(t, 'graphql_envelop_request_duration_count', label);
    const first = await post(t, PAGE_QUERY);
    const again = await post(t, PAGE_QUERY);
    expect(again.body).toBe(first.body);
    expect(JSON.parse(again.body).data.checkouts.edges.length).toBeGreaterThan(0);
    expect((await metricOf(t, 'graphql_envelop_request_duration_count', label)) - before).toBe(2);
  });

  it("never serves a tenant another tenant's checkout", async () => {
    const checkout = await createStan(t);
    await post(t, PLAIN_QUERY, { id: checkout.id });
    expect(JSON.parse((await post(t, PLAIN_QUERY, { id: checkout.id })).body).data.checkout.id).toBe(checkout.id);
    const other = await post(t, PLAIN_QUERY, { id: checkout.id }, { apiKey: t.keys.b });
    expect(JSON.parse(other.body)).toEqual({ data: { checkout: null } });
  });

  it('hands a result with errors back to Yoga, which answers as before and counts the request once', async () => {
    const query = 'query NeedsId($id: ID!) { checkout(id: $id) { id } }';
    const handedBackBefore = await outcome(t, 'handed_back');
    // A missing required variable: the document validates (Yoga answers the first request and
    // records it); the second is run by the fast path, fails the same way and is handed back.
    const first = await post(t, query, {});
    const again = await post(t, query, {});
    expect(again.body).toBe(first.body);
    expect(JSON.parse(again.body).errors[0].message).toMatch(/Variable "\$id" of required type "ID!" was not provided/);
    expect(again.status).toBe(first.status);
    expect(first.remaining - again.remaining).toBe(1);
    expect((await outcome(t, 'handed_back')) - handedBackBefore).toBe(1);
  });

  it('leaves refused keys, CORS requests and mutations to Yoga', async () => {
    const checkout = await createStan(t);
    await post(t, PLAIN_QUERY, { id: checkout.id });
    const servedBefore = await outcome(t, 'served');
    const refused = await post(t, PLAIN_QUERY, { id: checkout.id }, { apiKey: 'not-a-key' });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${t.keys.a}`,
        origin: 'https://shop.example',
      },
      body: JSON.stringify({ query: PLAIN_QUERY, variables: { id: checkout.id } }),
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const mutation = 'mutation { refreshCheckout(id: "Zm9v") { __typename } }';
    await post(t, mutation);
    await post(t, mutation);
    expect(await outcome(t, 'served')).toBe(servedBefore);
  });
});

describe('the fast query path turned off', () => {
  const t = useTestApp({ FAST_QUERY_PATH: 'off' });

  it('answers every query through Yoga', async () => {
    const checkout = await createStan(t);
    const first = await post(t, PLAIN_QUERY, { id: checkout.id });
    expect((await post(t, PLAIN_QUERY, { id: checkout.id })).body).toBe(first.body);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).not.toContain('checkout_fast_query_path_total');
  });
});
