import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { Kind, parse, type DocumentNode as GraphQLDocument } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CheckoutDocument,
  CheckoutsDeepDocument,
  CheckoutsDocument,
  EntitiesDocument,
  NodeDocument,
  RefreshCheckoutDocument,
  ServiceSdlDocument,
} from './generated/graphql.js';
import { expectType, useTestApp } from './support/app.js';
import { globalId, rowIdOf } from './support/ids.js';
import { createPayerVault, createSmart, createStan } from './support/seed.js';
import { fewestStatements } from './support/statements.js';

const t = useTestApp();

interface Created {
  id: string;
  typename: 'SmartCheckout' | 'PayerVaultCheckout' | 'StanCheckout';
  merchantId: string | null;
}

/** What the tests keep of a checkout they created. */
const summaryOf = (typename: Created['typename'], checkout: { id: string; merchant?: { id: string } | null }) => ({
  id: checkout.id,
  typename,
  merchantId: checkout.merchant?.id ?? null,
});

/** A Smartcheckout purchase of the tenant with `apiKey` (a store of its own unless `productUrl` says otherwise). */
const createSmartAs = async (
  apiKey: string,
  productUrl = `https://shop-${randomUUID().slice(0, 6)}.example/item`,
): Promise<Created> =>
  summaryOf('SmartCheckout', await createSmart(t, { productUrl, email: 'ada@example.com' }, { apiKey }));

const createPayerVaultAs = async (apiKey: string): Promise<Created> =>
  summaryOf('PayerVaultCheckout', await createPayerVault(t, {}, { apiKey }));

const createStanAs = async (apiKey: string): Promise<Created> =>
  summaryOf('StanCheckout', await createStan(t, { returnUrl: 'https://shop.example/return' }, { apiKey }));

describe('checkouts connection (tenant a: 7 checkouts of the three providers)', () => {
  // Creation order; the list shows them newest first.
  const created: Created[] = [];
  let failedSmartId: string;
  const newestFirst = () => created.map((c) => c.id).reverse();

  beforeAll(async () => {
    const key = t.keys.a!;
    created.push(await createSmartAs(key));
    created.push(await createPayerVaultAs(key));
    created.push(await createStanAs(key));
    // Becomes FAILED on its first refresh.
    const failing = await createSmartAs(
      key,
      'https://shop.example/broken?sandbox_outcome=failed&sandbox_after_polls=1',
    );
    const refreshed = await t.request(RefreshCheckoutDocument, { id: failing.id });
    expect(expectType(refreshed.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout.status).toBe('FAILED');
    failedSmartId = failing.id;
    created.push(failing);
    created.push(await createPayerVaultAs(key));
    created.push(await createStanAs(key));
    created.push(await createSmartAs(key));
  });

  it('lists every checkout of the tenant newest first, across the three providers', async () => {
    const response = await t.request(CheckoutsDocument, { first: 20 });
    expect(response.errors).toBeUndefined();
    const connection = response.data!.checkouts;
    expect(connection.edges.map((e) => e.node.id)).toEqual(newestFirst());
    expect(connection.edges.map((e) => e.node.provider)).toEqual([
      'SMARTCHECKOUT',
      'STAN',
      'PAYERVAULT',
      'SMARTCHECKOUT',
      'STAN',
      'PAYERVAULT',
      'SMARTCHECKOUT',
    ]);
    expect(connection.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });

    const full = await t.request(CheckoutDocument, { id: created[0]!.id });
    const newest = await t.request(CheckoutDocument, { id: created[6]!.id });
    expect(Date.parse(newest.data!.checkout!.createdAt)).toBeGreaterThanOrEqual(
      Date.parse(full.data!.checkout!.createdAt),
    );
  });

  it('defaults to a page of 20 when neither first nor last is given', async () => {
    const response = await t.request(CheckoutsDocument, {});
    expect(response.data!.checkouts.edges.map((e) => e.node.id)).toEqual(newestFirst());
  });

  it('pages forwards with first/after: exact sequence, no overlap, no gap', async () => {
    const pages: string[][] = [];
    const infos: { hasNextPage: boolean; hasPreviousPage: boolean }[] = [];
    let after: string | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await t.request(CheckoutsDocument, { first: 3, after });
      expect(response.errors).toBeUndefined();
      const { edges, pageInfo } = response.data!.checkouts;
      pages.push(edges.map((e) => e.node.id));
      infos.push({ hasNextPage: pageInfo.hasNextPage, hasPreviousPage: pageInfo.hasPreviousPage });
      expect(pageInfo.endCursor).toBe(edges.at(-1)!.cursor);
      expect(pageInfo.startCursor).toBe(edges[0]!.cursor);
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor!;
    }
    const all = newestFirst();
    expect(pages).toEqual([all.slice(0, 3), all.slice(3, 6), all.slice(6, 7)]);
    expect(infos.map((i) => i.hasNextPage)).toEqual([true, true, false]);
    // Forward pages after a cursor say that items precede them.
    expect(infos.map((i) => i.hasPreviousPage)).toEqual([false, true, true]);
  });

  it('pages backwards with last/before: exact sequence, no overlap, no gap', async () => {
    const pages: string[][] = [];
    const hasPrevious: boolean[] = [];
    let before: string | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await t.request(CheckoutsDocument, { last: 3, before });
      expect(response.errors).toBeUndefined();
      const { edges, pageInfo } = response.data!.checkouts;
      pages.push(edges.map((e) => e.node.id));
      hasPrevious.push(pageInfo.hasPreviousPage);
      expect(pageInfo.startCursor).toBe(edges[0]!.cursor);
      if (before !== undefined) expect(pageInfo.hasNextPage).toBe(true);
      if (!pageInfo.hasPreviousPage) break;
      before = pageInfo.startCursor!;
    }
    const all = newestFirst();
    // Each page is still in list order (newest first); pages walk from the oldest end.
    expect(pages).toEqual([all.slice(4, 7), all.slice(1, 4), all.slice(0, 1)]);
    expect(hasPrevious).toEqual([true, true, false]);
  });

  it('goes back and forth between the same pages with after and before', async () => {
    const first = await t.request(CheckoutsDocument, { first: 3 });
    const second = await t.request(CheckoutsDocument, { first: 3, after: first.data!.checkouts.pageInfo.endCursor });
    const back = await t.request(CheckoutsDocument, { last: 3, before: second.data!.checkouts.pageInfo.startCursor });
    expect(back.data!.checkouts.edges.map((e) => e.node.id)).toEqual(first.data!.checkouts.edges.map((e) => e.node.id));
    expect(back.data!.checkouts.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });

  it('filters by provider', async () => {
    for (const [provider, typename] of [
      ['SMARTCHECKOUT', 'SmartCheckout'],
      ['PAYERVAULT', 'PayerVaultCheckout'],
      ['STAN', 'StanCheckout'],
    ] as const) {
      const response = await t.request(CheckoutsDocument, { first: 20, filter: { provider } });
      expect(response.errors).toBeUndefined();
      const expected = [...created]
        .reverse()
        .filter((c) => c.typename === typename)
        .map((c) => c.id);
      expect(expected.length).toBeGreaterThan(1);
      expect(response.data!.checkouts.edges.map((e) => e.node.id)).toEqual(expected);
    }
  });

  it('filters by a list of statuses, alone and with a provider, and pages within the filter', async () => {
    const open = await t.request(CheckoutsDocument, { first: 20, filter: { status: ['OPEN'] } });
    const openIds = [...created]
      .reverse()
      .filter((c) => c.typename !== 'SmartCheckout')
      .map((c) => c.id);
    expect(open.data!.checkouts.edges.map((e) => e.node.id)).toEqual(openIds);
    expect(open.data!.checkouts.edges.every((e) => e.node.status === 'OPEN')).toBe(true);

    const failedOrProcessing = await t.request(CheckoutsDocument, {
      first: 20,
      filter: { status: ['FAILED', 'PROCESSING'] },
    });
    const smartIds = [...created]
      .reverse()
      .filter((c) => c.typename === 'SmartCheckout')
      .map((c) => c.id);
    expect(failedOrProcessing.data!.checkouts.edges.map((e) => e.node.id)).toEqual(smartIds);

    const failed = await t.request(CheckoutsDocument, {
      first: 20,
      filter: { status: ['FAILED'], provider: 'SMARTCHECKOUT' },
    });
    expect(failed.data!.checkouts.edges.map((e) => e.node.id)).toEqual([failedSmartId]);

    const none = await t.request(CheckoutsDocument, { first: 20, filter: { status: ['COMPLETED', 'EXPIRED'] } });
    expect(none.data!.checkouts.edges).toEqual([]);
    expect(none.data!.checkouts.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });

    const firstPage = await t.request(CheckoutsDocument, { first: 2, filter: { status: ['OPEN'] } });
    expect(firstPage.data!.checkouts.edges.map((e) => e.node.id)).toEqual(openIds.slice(0, 2));
    expect(firstPage.data!.checkouts.pageInfo.hasNextPage).toBe(true);
    const secondPage = await t.request(CheckoutsDocument, {
      first: 2,
      after: firstPage.data!.checkouts.pageInfo.endCursor,
      filter: { status: ['OPEN'] },
    });
    expect(secondPage.data!.checkouts.edges.map((e) => e.node.id)).toEqual(openIds.slice(2, 4));
    expect(secondPage.data!.checkouts.pageInfo.hasNextPage).toBe(false);
  });

  it('rejects a malformed cursor with BAD_USER_INPUT, not a masked error', async () => {
    for (const cursor of [
      'garbage',
      Buffer.from('checkout:abc').toString('base64url'),
      Buffer.from('offset:3').toString('base64url'),
      '',
    ]) {
      for (const args of [
        { first: 3, after: cursor },
        { last: 3, before: cursor },
      ]) {
        const response = await t.request(CheckoutsDocument, args);
        if (cursor === '') {
          // An empty cursor is "no cursor" for the relay plugin; it must not be an unexpected error either.
          expect(response.errors?.map((e) => e.message).join() ?? '').not.toContain('Unexpected error');
          continue;
        }
        expect(response.status).toBe(200);
        expect(response.data ?? null).toBeNull();
        expect(response.errors).toHaveLength(1);
        expect(response.errors![0]!.message).toMatch(/invalid cursor/i);
        expect(response.errors![0]!.message).not.toContain('Unexpected error');
        expect(response.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
        expect(response.errors![0]!.path).toEqual(['checkouts']);
      }
    }
  });

  it('refuses a negative first or last with an error naming the argument', async () => {
    for (const [args, name] of [
      [{ first: -1 }, 'first'],
      [{ last: -5 }, 'last'],
    ] as const) {
      const response = await t.request(CheckoutsDocument, args);
      expect(response.data ?? null).toBeNull();
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.message).toBe(`Argument "${name}" must be a non-negative integer`);
    }
  });

  it('caps first: 101 at the documented maximum of 100 instead of failing', async () => {
    // resolveCursorConnection clamps page sizes to maxSize (100) rather than refusing them.
    const response = await t.request(CheckoutsDocument, { first: 101 });
    expect(response.errors).toBeUndefined();
    expect(response.data!.checkouts.edges.map((e) => e.node.id)).toEqual(newestFirst());
  });

  it('answers first: 0 with an empty page', async () => {
    const response = await t.request(CheckoutsDocument, { first: 0 });
    expect(response.errors).toBeUndefined();
    expect(response.data!.checkouts.edges).toEqual([]);
  });
});

describe('checkout(id) and node(id)', () => {
  let smart: Created;
  let payervault: Created;
  let stan: Created;

  beforeAll(async () => {
    smart = await createSmartAs(t.keys.a!);
    payervault = await createPayerVaultAs(t.keys.a!);
    stan = await createStanAs(t.keys.a!);
  });

  it('returns each checkout type with its own fields', async () => {
    const s = await t.request(CheckoutDocument, { id: smart.id });
    expect(s.errors).toBeUndefined();
    const sc = expectType(s.data!.checkout, 'SmartCheckout');
    expect(sc).toMatchObject({ id: smart.id, provider: 'SMARTCHECKOUT', status: 'PROCESSING' });
    expect(sc.productUrl).toMatch(/^https:\/\/shop-/);

    const p = await t.request(CheckoutDocument, { id: payervault.id });
    const pv = expectType(p.data!.checkout, 'PayerVaultCheckout');
    expect(pv).toMatchObject({ id: payervault.id, provider: 'PAYERVAULT', status: 'OPEN' });
    expect(pv.customerId).toMatch(/^cust-/);
    expect(pv.checkoutUrl).toMatch(/^https?:\/\//);

    const st = await t.request(CheckoutDocument, { id: stan.id });
    const sk = expectType(st.data!.checkout, 'StanCheckout');
    expect(sk).toMatchObject({ id: stan.id, provider: 'STAN', status: 'OPEN', subtotal: { amount: 2500 } });
    expect(sk.merchant?.id).toBe(stan.merchantId);
  });

  it('node(id) resolves each checkout type and a Merchant', async () => {
    for (const c of [smart, payervault, stan]) {
      const response = await t.request(NodeDocument, { id: c.id });
      expect(response.errors).toBeUndefined();
      expect(response.data!.node).toMatchObject({ __typename: c.typename, id: c.id });
    }
    const stanNode = await t.request(NodeDocument, { id: stan.id });
    expect(stanNode.data!.node).toMatchObject({ status: 'OPEN', provider: 'STAN' });

    expect(stan.merchantId).toBeTruthy();
    const merchant = await t.request(NodeDocument, { id: stan.merchantId! });
    expect(merchant.errors).toBeUndefined();
    expect(merchant.data!.node).toMatchObject({ __typename: 'Merchant', id: stan.merchantId });
    expect((merchant.data!.node as { name?: string }).name).toBeTruthy();

    expect(smart.merchantId).toBeTruthy();
    const store = await t.request(NodeDocument, { id: smart.merchantId! });
    expect(store.data!.node).toMatchObject({
      __typename: 'Merchant',
      id: smart.merchantId,
      name: expect.stringMatching(/^shop-.*\.example$/),
    });
  });

  it('answers null, not an error, for unknown and malformed ids', async () => {
    const unknown = [
      globalId('SmartCheckout', randomUUID()),
      globalId('PayerVaultCheckout', randomUUID()),
      globalId('StanCheckout', randomUUID()),
      globalId('Merchant', randomUUID()),
      // A real checkout's row id under another checkout type.
      globalId('SmartCheckout', rowIdOf(stan.id)),
      globalId('StanCheckout', rowIdOf(payervault.id)),
      // A checkout's row id presented as a Merchant and the reverse.
      globalId('Merchant', rowIdOf(smart.id)),
      globalId('StanCheckout', rowIdOf(stan.merchantId!)),
      globalId('SmartCheckout', 'not-a-uuid'),
      globalId('NoSuchType', randomUUID()),
      globalId('Query', '1'),
      'garbage',
      '!!!',
      '',
      Buffer.from('no separator').toString('base64'),
      'x'.repeat(500),
    ];
    const wrong: unknown[] = [];
    for (const id of unknown) {
      const node = await t.request(NodeDocument, { id });
      if (node.errors || node.data?.node !== null)
        wrong.push({
          query: 'node',
          id,
          decoded: Buffer.from(id, 'base64').toString('utf8').slice(0, 60),
          errors: node.errors?.map((e) => e.message),
          data: node.data,
        });
      const checkout = await t.request(CheckoutDocument, { id });
      if (checkout.errors || checkout.data?.checkout !== null)
        wrong.push({ query: 'checkout', id, errors: checkout.errors?.map((e) => e.message), data: checkout.data });
    }
    expect(wrong).toEqual([]);
  });

  it('checkout(id) on a Merchant id is null', async () => {
    const response = await t.request(CheckoutDocument, { id: stan.merchantId! });
    expect(response.errors).toBeUndefined();
    expect(response.data!.checkout).toBeNull();
  });
});

describe('DataLoader batching and federation (tenant b: 61 checkouts)', () => {
  const created: Created[] = [];

  beforeAll(async () => {
    const key = t.keys.b!;
    const makers = [
      () => createSmartAs(key, `https://store-${created.length % 4}.example/p/${randomUUID().slice(0, 6)}`),
      () => createPayerVaultAs(key),
      () => createStanAs(key),
    ];
    for (let batch = 0; batch < 6; batch++) {
      const made = await Promise.all(Array.from({ length: 10 }, (_, i) => makers[(batch * 10 + i) % 3]!()));
      created.push(...made);
    }
    // The newest has a merchant, so a page of one loads merchants like the larger pages do.
    created.push(await createStanAs(key));
  }, 60_000);

  /** Statements of a cold read: what the read model holds is dropped before each try, so every load is counted. */
  const statementsFor = <T>(run: () => Promise<T>) => fewestStatements(t, run, () => t.app.readModel.clear());

  it('loads lineItems, merchant and events of a page in a constant number of statements (at most 4)', async () => {
    expect(created).toHaveLength(61);
    const counts: number[] = [];
    for (const first of [1, 10, 50]) {
      const { statements, result } = await statementsFor(() =>
        t.request(CheckoutsDeepDocument, { first }, { apiKey: t.keys.b! }),
      );
      expect(result.errors).toBeUndefined();
      const edges = result.data!.checkouts.edges;
      expect(edges).toHaveLength(first);
      // The page really carries the nested data whose loading is counted.
      expect(edges.every((e) => e.node.events.length >= 2)).toBe(true);
      expect(edges.every((e) => e.node.events[0]!.status === 'PENDING')).toBe(true);
      expect(edges[0]!.node.merchant).not.toBeNull();
      expect(edges[0]!.node.lineItems).toHaveLength(1);
      if (first > 1) {
        expect(new Set(edges.map((e) => e.node.merchant?.id ?? null)).size).toBeGreaterThan(2);
        expect(edges.some((e) => e.node.lineItems.length === 0)).toBe(true);
      }
      counts.push(statements);
    }
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts).toEqual([counts[0], counts[0], counts[0]]);
    expect(counts[0]).toBeLessThanOrEqual(4);
  });

  it('_service.sdl marks the checkout types and Merchant as entities keyed by id and matches schema/schema.graphql', async () => {
    const response = await t.request(ServiceSdlDocument, {}, { apiKey: t.keys.b! });
    expect(response.errors).toBeUndefined();
    const sdl = response.data!._service.sdl!;
    for (const type of ['SmartCheckout', 'PayerVaultCheckout', 'StanCheckout', 'Merchant']) {
      expect(sdl).toMatch(new RegExp(`type ${type} implements [^{]*@key\\(fields: "id"\\)`));
    }
    expect(sdl).toMatch(/@link\(url: "https:\/\/specs\.apollo\.dev\/federation\/v2\.\d+"/);

    const committed = await readFile(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    const served = definitions(parse(sdl));
    const printed = definitions(parse(committed));
    expect(served.size).toBeGreaterThan(20);
    expect([...served.keys()].sort()).toEqual([...printed.keys()].sort());
    // Same fields on every type, whatever the order.
    for (const [name, fields] of printed) expect({ name, fields: served.get(name) }).toEqual({ name, fields });
  });

  it('_entities resolves each checkout type and Merchant, and null for unknown or foreign ids', async () => {
    const byType = (typename: Created['typename']) => created.find((c) => c.typename === typename)!;
    const merchantId = byType('StanCheckout').merchantId!;
    const foreign = await createSmartAs(t.keys.a!);
    const representations = [
      { __typename: 'SmartCheckout', id: byType('SmartCheckout').id },
      { __typename: 'PayerVaultCheckout', id: byType('PayerVaultCheckout').id },
      { __typename: 'StanCheckout', id: byType('StanCheckout').id },
      { __typename: 'Merchant', id: merchantId },
      { __typename: 'SmartCheckout', id: globalId('SmartCheckout', randomUUID()) },
      { __typename: 'Merchant', id: globalId('Merchant', randomUUID()) },
      { __typename: 'StanCheckout', id: 'garbage' },
      { __typename: 'SmartCheckout', id: foreign.id },
      // A representation whose typename disagrees with its id is not that entity.
      { __typename: 'SmartCheckout', id: byType('StanCheckout').id },
      { __typename: 'Merchant', id: byType('StanCheckout').id },
    ];
    const response = await t.request(EntitiesDocument, { representations }, { apiKey: t.keys.b! });
    expect(response.errors).toBeUndefined();
    expect(response.data!._entities).toEqual([
      { __typename: 'SmartCheckout', id: representations[0]!.id, status: 'PROCESSING', provider: 'SMARTCHECKOUT' },
      { __typename: 'PayerVaultCheckout', id: representations[1]!.id, status: 'OPEN', provider: 'PAYERVAULT' },
      { __typename: 'StanCheckout', id: representations[2]!.id, status: 'OPEN', provider: 'STAN' },
      { __typename: 'Merchant', id: merchantId, name: expect.any(String) },
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it('_entities batches representations: 2 and 20 cost the same number of statements', async () => {
    const smart = created.filter((c) => c.typename === 'SmartCheckout');
    expect(smart.length).toBeGreaterThanOrEqual(20);
    const mixed = created.slice(0, 20);
    const merchantIds = [...new Set(created.map((c) => c.merchantId).filter((id): id is string => id !== null))];
    expect(merchantIds.length).toBeGreaterThanOrEqual(3);

    const run = async (representations: { __typename: string; id: string }[]) => {
      const { statements, result } = await statementsFor(() =>
        t.request(EntitiesDocument, { representations }, { apiKey: t.keys.b! }),
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities).toHaveLength(representations.length);
      expect(result.data!._entities.map((e) => e?.id)).toEqual(representations.map((r) => r.id));
      return statements;
    };
    const smartReps = (n: number) => smart.slice(0, n).map((c) => ({ __typename: c.typename, id: c.id }));
    const two = await run(smartReps(2));
    const twentySmart = await run(smartReps(20));
    expect(two).toBe(1);
    expect(twentySmart).toBe(two);

    // One per entity type (3 checkout types + Merchant) vs 20 mixed representations of the same types.
    const oneEach = [
      ...(['SmartCheckout', 'PayerVaultCheckout', 'StanCheckout'] as const).map((typename) => {
        const c = created.find((x) => x.typename === typename)!;
        return { __typename: typename, id: c.id };
      }),
      { __typename: 'Merchant', id: merchantIds[0]! },
    ];
    const twenty = [
      ...mixed.slice(0, 17).map((c) => ({ __typename: c.typename, id: c.id })),
      ...merchantIds.slice(0, 3).map((id) => ({ __typename: 'Merchant', id })),
    ];
    expect(twenty).toHaveLength(20);
    const four = await run(oneEach);
    const many = await run(twenty);
    expect(four).toBeLessThanOrEqual(4);
    expect(many).toBe(four);
  });

  it('clamps first: 101 to a page of 100 once more than 100 checkouts exist', async () => {
    for (let batch = 0; batch < 5; batch++) {
      created.push(...(await Promise.all(Array.from({ length: 9 }, () => createPayerVaultAs(t.keys.b!)))));
    }
    expect(created.length).toBeGreaterThan(101);
    const response = await t.request(CheckoutsDocument, { first: 101 }, { apiKey: t.keys.b! });
    expect(response.errors).toBeUndefined();
    const ids = response.data!.checkouts.edges.map((e) => e.node.id);
    expect(ids).toHaveLength(100);
    expect(response.data!.checkouts.pageInfo.hasNextPage).toBe(true);
    const rest = await t.request(
      CheckoutsDocument,
      { first: 100, after: response.data!.checkouts.pageInfo.endCursor },
      { apiKey: t.keys.b! },
    );
    const restIds = rest.data!.checkouts.edges.map((e) => e.node.id);
    expect(rest.data!.checkouts.pageInfo.hasNextPage).toBe(false);
    // Checkouts created in parallel get their list position in arrival order, so compare as sets.
    expect([...ids, ...restIds].sort()).toEqual(created.map((c) => c.id).sort());
    // The rest are the oldest: all from the first parallel batch.
    const firstBatch = created.slice(0, 10).map((c) => c.id);
    expect(restIds.length).toBe(created.length - 100);
    expect(restIds.every((id) => firstBatch.includes(id))).toBe(true);
  });
});

/** Type name -> sorted field/value/member names, for every named definition that is not federation plumbing. */
function definitions(document: GraphQLDocument): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (!('name' in definition) || !definition.name) continue;
    const name = definition.name.value;
    if (name.startsWith('_') || name.startsWith('link__') || name.startsWith('federation__')) continue;
    let members: string[] = [];
    if (
      definition.kind === Kind.OBJECT_TYPE_DEFINITION ||
      definition.kind === Kind.INTERFACE_TYPE_DEFINITION ||
      definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION
    ) {
      members = (definition.fields ?? []).map((f) => f.name.value).filter((f) => !f.startsWith('_'));
    } else if (definition.kind === Kind.ENUM_TYPE_DEFINITION) {
      members = (definition.values ?? []).map((v) => v.name.value);
    } else if (definition.kind === Kind.UNION_TYPE_DEFINITION) {
      members = (definition.types ?? []).map((t) => t.name.value);
    } else if (definition.kind === Kind.DIRECTIVE_DEFINITION) {
      continue;
    }
    result.set(`${definition.kind}:${name}`, members.sort());
  }
  return result;
}
