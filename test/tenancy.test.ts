import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkouts as checkoutsTable } from '../src/db/schema.js';
import {
  CheckoutDocument,
  CheckoutsDeepDocument,
  CheckoutsDocument,
  CreatePayerVaultCheckoutDocument,
  EntitiesDocument,
  NodeDocument,
  RefreshCheckoutDocument,
} from './generated/graphql.js';
import { expectType, useTestApp, type TestApp } from './support/app.js';
import { globalId, rowIdOf } from './support/ids.js';
import { createPayerVault, createSmart, createStan } from './support/seed.js';

type Typename = 'SmartCheckout' | 'PayerVaultCheckout' | 'StanCheckout';
interface Created {
  id: string;
  typename: Typename;
  merchantId: string | null;
}

/** One checkout per provider; `idempotencyKey` goes to the PayerVault one. */
async function createAll(
  t: TestApp,
  apiKey: string | null,
  idempotencyKey?: string,
): Promise<Record<Typename, Created>> {
  const s = await createSmart(
    t,
    { productUrl: 'https://tenancy-shop.example/item?sandbox_after_polls=1', email: 'ada@example.com' },
    { apiKey },
  );
  const p = await createPayerVault(t, { customerId: 'cust-tenancy', idempotencyKey }, { apiKey });
  const k = await createStan(
    t,
    {
      returnUrl: 'https://tenancy-shop.example/return',
      lineItems: [{ productId: 'p1', quantity: 1, unitPrice: 990 }],
    },
    { apiKey },
  );
  return {
    SmartCheckout: { id: s.id, typename: 'SmartCheckout', merchantId: s.merchant?.id ?? null },
    PayerVaultCheckout: { id: p.id, typename: 'PayerVaultCheckout', merchantId: p.merchant?.id ?? null },
    StanCheckout: { id: k.id, typename: 'StanCheckout', merchantId: k.merchant?.id ?? null },
  };
}

/** A response as a client sees it, minus transport details, with `id` replaced so two answers can be compared. */
function visible(response: { status: number; data?: unknown; errors?: unknown }, id: string): string {
  return JSON.stringify({ status: response.status, data: response.data, errors: response.errors })
    .split(id)
    .join('<id>');
}

describe('tenant isolation (API_KEYS with tenants a and b)', () => {
  const t = useTestApp();
  let a: Record<Typename, Created>;
  let b: Record<Typename, Created>;
  const typenames: Typename[] = ['SmartCheckout', 'PayerVaultCheckout', 'StanCheckout'];
  const sharedKey = `shared-${randomUUID()}`;

  beforeAll(async () => {
    a = await createAll(t, t.keys.a!, sharedKey);
    b = await createAll(t, t.keys.b!);
  });

  const unknownOf = (typename: string) => globalId(typename, randomUUID());

  it('gives each tenant its own merchant rows, even for the same store', () => {
    expect(a.StanCheckout.merchantId).toBeTruthy();
    expect(b.StanCheckout.merchantId).toBeTruthy();
    expect(b.StanCheckout.merchantId).not.toBe(a.StanCheckout.merchantId);
    expect(a.SmartCheckout.merchantId).toBeTruthy();
    expect(b.SmartCheckout.merchantId).not.toBe(a.SmartCheckout.merchantId);
  });

  it("checkout(id): another tenant's checkout answers exactly like a nonexistent one", async () => {
    for (const [viewer, other] of [
      [t.keys.b!, a],
      [t.keys.a!, b],
    ] as const) {
      for (const typename of typenames) {
        const foreign = await t.request(CheckoutDocument, { id: other[typename].id }, { apiKey: viewer });
        const missing = unknownOf(typename);
        const absent = await t.request(CheckoutDocument, { id: missing }, { apiKey: viewer });
        expect(foreign.data).toEqual({ checkout: null });
        expect(foreign.errors).toBeUndefined();
        expect(visible(foreign, other[typename].id)).toBe(visible(absent, missing));
      }
    }
    // The owner does see it.
    const own = await t.request(CheckoutDocument, { id: a.StanCheckout.id }, { apiKey: t.keys.a! });
    expect(own.data?.checkout?.id).toBe(a.StanCheckout.id);
  });

  it("node(id): another tenant's checkouts and merchants answer exactly like nonexistent ones", async () => {
    for (const typename of typenames) {
      const foreign = await t.request(NodeDocument, { id: a[typename].id }, { apiKey: t.keys.b! });
      const missing = unknownOf(typename);
      const absent = await t.request(NodeDocument, { id: missing }, { apiKey: t.keys.b! });
      expect(foreign.data).toEqual({ node: null });
      expect(visible(foreign, a[typename].id)).toBe(visible(absent, missing));
    }
    for (const merchantId of [a.StanCheckout.merchantId!, a.SmartCheckout.merchantId!]) {
      const foreign = await t.request(NodeDocument, { id: merchantId }, { apiKey: t.keys.b! });
      const missing = unknownOf('Merchant');
      const absent = await t.request(NodeDocument, { id: missing }, { apiKey: t.keys.b! });
      expect(foreign.data).toEqual({ node: null });
      expect(visible(foreign, merchantId)).toBe(visible(absent, missing));
      const own = await t.request(NodeDocument, { id: merchantId }, { apiKey: t.keys.a! });
      expect(own.data?.node).toMatchObject({ __typename: 'Merchant', id: merchantId });
    }
  });

  it('checkouts: each tenant lists only its own, with and without filters', async () => {
    const ids = (r: Record<Typename, Created>) => typenames.map((n) => r[n].id);
    for (const [viewer, own, other] of [
      [t.keys.a!, a, b],
      [t.keys.b!, b, a],
    ] as const) {
      const all = await t.request(CheckoutsDocument, { first: 100 }, { apiKey: viewer });
      expect(all.errors).toBeUndefined();
      expect(all.data!.checkouts.edges.map((e) => e.node.id)).toEqual([...ids(own)].reverse());

      const filters = [
        { provider: 'SMARTCHECKOUT' as const },
        { provider: 'STAN' as const },
        { status: ['OPEN' as const] },
        {
          status: [
            'PROCESSING' as const,
            'OPEN' as const,
            'PENDING' as const,
            'COMPLETED' as const,
            'FAILED' as const,
            'EXPIRED' as const,
            'UNKNOWN' as const,
          ],
        },
        { provider: 'PAYERVAULT' as const, status: ['OPEN' as const] },
      ];
      for (const filter of filters) {
        const page = await t.request(CheckoutsDocument, { first: 100, filter }, { apiKey: viewer });
        const listed = page.data!.checkouts.edges.map((e) => e.node.id);
        expect(listed.length).toBeGreaterThan(0);
        expect(listed.every((id) => ids(own).includes(id))).toBe(true);
        expect(listed.some((id) => ids(other).includes(id))).toBe(false);
      }

      // Backwards from the end of the list too.
      const last = await t.request(CheckoutsDocument, { last: 100 }, { apiKey: viewer });
      expect(last.data!.checkouts.edges.map((e) => e.node.id)).toEqual([...ids(own)].reverse());
    }
  });

  it("checkouts: a cursor taken from another tenant's list does not reveal its checkouts", async () => {
    const aPage = await t.request(CheckoutsDocument, { first: 1 }, { apiKey: t.keys.a! });
    const cursor = aPage.data!.checkouts.pageInfo.endCursor!;
    for (const args of [
      { first: 100, after: cursor },
      { last: 100, before: cursor },
    ]) {
      const page = await t.request(CheckoutsDocument, args, { apiKey: t.keys.b! });
      const listed = page.data?.checkouts.edges.map((e) => e.node.id) ?? [];
      expect(listed.some((id) => typenames.some((n) => a[n].id === id))).toBe(false);
    }
  });

  it("CheckoutsDeep shows only the tenant's own merchants", async () => {
    const deep = await t.request(CheckoutsDeepDocument, { first: 50 }, { apiKey: t.keys.b! });
    const merchants = deep.data!.checkouts.edges.map((e) => e.node.merchant?.id).filter(Boolean);
    expect(merchants.length).toBeGreaterThan(0);
    expect(merchants).not.toContain(a.StanCheckout.merchantId);
    expect(merchants).not.toContain(a.SmartCheckout.merchantId);
  });

  it("refreshCheckout: another tenant's checkout is a NotFoundError identical to a nonexistent id, and is not refreshed", async () => {
    for (const typename of typenames) {
      const foreignId = a[typename].id;
      const foreign = await t.request(RefreshCheckoutDocument, { id: foreignId }, { apiKey: t.keys.b! });
      const missing = unknownOf(typename);
      const absent = await t.request(RefreshCheckoutDocument, { id: missing }, { apiKey: t.keys.b! });
      const error = expectType(foreign.data?.refreshCheckout, 'NotFoundError');
      expect(error).toMatchObject({ code: 'NOT_FOUND', id: foreignId });
      expect(visible(foreign, foreignId)).toBe(visible(absent, missing));
    }
    // The Smartcheckout sandbox flips on its first poll: had b's refresh polled a's checkout, it would be COMPLETED now.
    const own = await t.request(CheckoutDocument, { id: a.SmartCheckout.id }, { apiKey: t.keys.a! });
    expect(own.data?.checkout?.status).toBe('PROCESSING');
    expect(own.data?.checkout?.events.map((e) => e.status)).toEqual(['PENDING', 'PROCESSING']);
  });

  it("_entities: another tenant's representations resolve to null like nonexistent ones", async () => {
    const foreign = [
      ...typenames.map((typename) => ({ __typename: typename, id: a[typename].id })),
      { __typename: 'Merchant', id: a.StanCheckout.merchantId! },
      { __typename: 'Merchant', id: a.SmartCheckout.merchantId! },
    ];
    const missing = foreign.map((r) => ({ __typename: r.__typename, id: unknownOf(r.__typename) }));
    const foreignAnswer = await t.request(EntitiesDocument, { representations: foreign }, { apiKey: t.keys.b! });
    const missingAnswer = await t.request(EntitiesDocument, { representations: missing }, { apiKey: t.keys.b! });
    expect(foreignAnswer.errors).toBeUndefined();
    expect(foreignAnswer.data!._entities).toEqual(foreign.map(() => null));
    expect(JSON.stringify(foreignAnswer.data)).toBe(JSON.stringify(missingAnswer.data));

    const own = await t.request(EntitiesDocument, { representations: foreign }, { apiKey: t.keys.a! });
    expect(own.data!._entities.map((e) => e?.id)).toEqual(foreign.map((r) => r.id));
  });

  it("idempotency keys are per tenant: b reusing a's key neither replays a's checkout nor reports a reuse", async () => {
    // Same key as a's, different input: no IdempotencyKeyReuseError reveals that a used it.
    const other = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-other', idempotencyKey: sharedKey } },
      { apiKey: t.keys.b! },
    );
    expect(expectType(other.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout.id).not.toBe(
      a.PayerVaultCheckout.id,
    );

    // Same key and same input as a's: b gets a checkout of its own, not a replay of a's.
    const key = `again-${randomUUID()}`;
    const first = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-same', idempotencyKey: key } },
      { apiKey: t.keys.a! },
    );
    const aId = expectType(first.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout.id;
    const same = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-same', idempotencyKey: key } },
      { apiKey: t.keys.b! },
    );
    const bId = expectType(same.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout.id;
    expect(bId).not.toBe(aId);

    // a's replay still returns a's own checkout.
    const replay = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-tenancy', idempotencyKey: sharedKey } },
      { apiKey: t.keys.a! },
    );
    expect(expectType(replay.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout.id).toBe(
      a.PayerVaultCheckout.id,
    );
  });
});

describe('authentication', () => {
  const t = useTestApp();

  /** POSTs a checkouts query with exactly these headers (besides the content negotiation). */
  async function postWithHeaders(headers: Record<string, string>) {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...headers,
      },
      body: JSON.stringify({ query: '{ checkouts(first: 1) { edges { node { id } } } }' }),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  function expectUnauthenticated(answer: { status: number; headers: Headers; text: string }, message: RegExp) {
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toMatch(/json/);
    const body = JSON.parse(answer.text) as {
      data?: unknown;
      errors: { message: string; extensions?: Record<string, unknown> }[];
    };
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0]!.message).toMatch(message);
    expect(body.errors[0]!.extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.data ?? null).toBeNull();
    // No stack trace or source path anywhere, and the http extension is not leaked either.
    expect(answer.text).not.toMatch(/stack|\bat \S+ \(|\.ts:\d+|node_modules|originalError/i);
    expect(JSON.stringify(body.errors[0]!.extensions)).toBe('{"code":"UNAUTHENTICATED"}');
  }

  it('refuses a request without Authorization with a JSON 401', async () => {
    expectUnauthenticated(await postWithHeaders({}), /missing api key/i);
    const typed = await t.request(CheckoutsDocument, { first: 1 }, { apiKey: null });
    expect(typed.status).toBe(401);
    expect(typed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong key, a key of another scheme and an empty bearer, without echoing the key', async () => {
    const wrong = `wrong-${randomUUID()}`;
    const answer = await postWithHeaders({ authorization: `Bearer ${wrong}` });
    expectUnauthenticated(answer, /invalid api key/i);
    expect(answer.text).not.toContain(wrong);
    expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/i);

    // A known key with a suffix or prefix is still wrong.
    expectUnauthenticated(await postWithHeaders({ authorization: `Bearer ${t.keys.a!}x` }), /invalid api key/i);
    expectUnauthenticated(await postWithHeaders({ authorization: `Bearer x${t.keys.a!}` }), /invalid api key/i);
    expectUnauthenticated(
      await postWithHeaders({ authorization: `Basic ${Buffer.from(`user:${t.keys.a!}`).toString('base64')}` }),
      /missing api key/i,
    );
    expectUnauthenticated(await postWithHeaders({ authorization: t.keys.a! }), /missing api key/i);
    expectUnauthenticated(await postWithHeaders({ authorization: 'Bearer ' }), /missing api key/i);
  });

  it('refuses the mutation before it reaches the checkouts or a provider', async () => {
    const before = t.app.database.statementCount;
    const created = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-anonymous' } },
      { apiKey: 'not-a-key-at-all' },
    );
    expect(created.status).toBe(401);
    // One look-up of the key's hash among the stored API keys, nothing more.
    expect(t.app.database.statementCount - before).toBe(1);
    const again = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-anonymous' } },
      { apiKey: 'not-a-key-at-all' },
    );
    expect(again.status).toBe(401);
    // The verdict is cached: a flood of one bad key does not become a flood of queries.
    expect(t.app.database.statementCount - before).toBe(1);
  });

  it('accepts the Bearer scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const answer = await postWithHeaders({ authorization: `${scheme} ${t.keys.a!}` });
      expect({ scheme, status: answer.status }).toEqual({ scheme, status: 200 });
      expect(JSON.parse(answer.text)).toMatchObject({ data: { checkouts: { edges: [] } } });
    }
  });
});

describe('without API_KEYS (outside production)', () => {
  // An empty value means unset: loadConfig turns '' into undefined.
  const t = useTestApp({ API_KEYS: '' });

  it('serves requests without Authorization as tenant `sandbox`, and refuses keys that match nothing', async () => {
    const created = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: `cust-${randomUUID().slice(0, 8)}` } },
      { apiKey: null },
    );
    expect(created.status).toBe(200);
    const checkout = expectType(created.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;

    const [row] = await t.app.database.db
      .select({ tenant: checkoutsTable.tenant })
      .from(checkoutsTable)
      .where(eq(checkoutsTable.id, rowIdOf(checkout.id)));
    expect(row?.tenant).toBe('sandbox');

    // A key that matches nothing is refused, even here: only a request without a key is `sandbox`.
    for (const apiKey of ['anything-goes', t.keys.a!]) {
      const refused = await t.request(CheckoutDocument, { id: checkout.id }, { apiKey });
      expect(refused.status).toBe(401);
      expect(refused.errors?.[0]).toMatchObject({
        message: 'Invalid API key',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
    const read = await t.request(CheckoutDocument, { id: checkout.id }, { apiKey: null });
    expect(read.status).toBe(200);
    expect(read.data?.checkout?.id).toBe(checkout.id);
    // Other test files may share the `sandbox` tenant in one PostgreSQL database: only look for our own.
    const list = await t.request(
      CheckoutsDocument,
      { first: 100, filter: { provider: 'PAYERVAULT' } },
      { apiKey: null },
    );
    expect(list.data?.checkouts.edges.map((e) => e.node.id)).toContain(checkout.id);
  });
});
