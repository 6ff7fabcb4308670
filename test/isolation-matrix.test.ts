import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type OperationDefinitionNode } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IsolationCheckoutDocument,
  IsolationCheckoutsDocument,
  IsolationCreatePayerVaultDocument,
  IsolationCreateSmartDocument,
  IsolationCreateStanDocument,
  IsolationEntitiesDocument,
  IsolationNodeDocument,
  IsolationRefreshDocument,
  IsolationWatchDocument,
  type CheckoutFilter,
} from './generated/graphql.js';
import { expectType, useTestApp } from './support/app.js';
import { globalId } from './support/ids.js';
import { wsClient } from './support/subscriptions.js';

/*
 * No tenant may learn anything about another's checkouts: for every operation that takes or returns
 * an id, tenant B's key on tenant A's ids must teach B nothing: B's answer equals its answer for an
 * id that does not exist (a random UUID encoded the same way), with only the echoed id normalised.
 * Every case runs over HTTP POST, over graphql-ws (key in connectionParams, and key per operation
 * in `extensions.headers` as GraphiQL sends it) and over Yoga's SSE. So that the matrix cannot pass
 * vacuously, tenant A's own answer on each of the same inputs must differ from the nonexistent answer.
 */

// Typed documents of every shape go through the same table.
// biome-ignore lint/suspicious/noExplicitAny: typed documents of every shape go through one table.
type AnyDocument = TypedDocumentNode<any, any>;
type Tenant = 'a' | 'b';
type CheckoutTypename = 'SmartCheckout' | 'PayerVaultCheckout' | 'StanCheckout';
type Transport = 'HTTP' | 'WebSocket' | 'WebSocket, key per operation' | 'SSE';
type Channel = 'HTTP' | 'WebSocket' | 'SSE';

const TRANSPORTS: Transport[] = ['HTTP', 'WebSocket', 'WebSocket, key per operation', 'SSE'];
const channelOf = (transport: Transport): Channel =>
  transport === 'HTTP' ? 'HTTP' : transport === 'SSE' ? 'SSE' : 'WebSocket';
const CHECKOUT_TYPENAMES: CheckoutTypename[] = ['SmartCheckout', 'PayerVaultCheckout', 'StanCheckout'];
const ALL_STATUSES = ['PENDING', 'OPEN', 'PROCESSING', 'COMPLETED', 'FAILED', 'EXPIRED', 'UNKNOWN'] as const;

/** How long a streamed answer may take to end; a subscription that is still open after this says so in its answer. */
const STREAM_WAIT_MS = 3_000;

const cursorOf = (seq: string) => Buffer.from(`checkout:${seq}`).toString('base64url');
/**
 * A cursor no checkout has: past the end of the sequence. Tenant B's checkouts are all older than
 * A's, so this cursor sits on the same side of every one of B's checkouts as A's cursors do, and
 * B's page for it equals B's page for an A cursor unless the cursor itself leaks something.
 */
const MISSING_CURSOR = cursorOf('999999999999999');

interface Created {
  id: string;
  merchantId: string | null;
}

/** What the tenants created before the matrix runs: A's ids are what B's probes aim at. */
interface World {
  a: Record<CheckoutTypename, Created>;
  b: Record<CheckoutTypename, Created>;
  /** A's cursors, newest first (Stan, PayerVault, Smartcheckout). */
  aCursors: string[];
}

/** One probe's input: variables, and the ids in them that an answer may echo (normalised away). */
interface Probe {
  variables: Record<string, unknown>;
  echoes: string[];
}

/** A case whose input carries an id (or cursor) of A's: compared with the same input carrying a nonexistent one. */
interface IdCase {
  kind: 'id';
  name: string;
  document: AnyDocument;
  foreign(world: World): Probe;
  missing(world: World): Probe;
}

/** A case without an id in its input (a list): compared with B's answer from before A created anything. */
interface ListCase {
  kind: 'list';
  name: string;
  document: AnyDocument;
  variables: Record<string, unknown>;
}

type Case = IdCase | ListCase;

/** What A's ids are: its three checkouts and the merchants behind them. */
interface Target {
  label: string;
  typename: string;
  id(world: World): string;
}

const targets: Target[] = [
  ...CHECKOUT_TYPENAMES.map((typename) => ({ label: typename, typename, id: (w: World) => w.a[typename].id })),
  { label: 'Merchant (Smartcheckout store)', typename: 'Merchant', id: (w: World) => w.a.SmartCheckout.merchantId! },
  { label: 'Merchant (Stan)', typename: 'Merchant', id: (w: World) => w.a.StanCheckout.merchantId! },
];

const probesFor = (variables: (id: string) => Record<string, unknown>, target: Target) => ({
  foreign: (w: World): Probe => ({ variables: variables(target.id(w)), echoes: [target.id(w)] }),
  missing: (): Probe => {
    const id = globalId(target.typename, randomUUID());
    return { variables: variables(id), echoes: [id] };
  },
});

/**
 * Operations taking one id, and the ids each is asked about: the checkout-only ones get A's
 * checkouts (a merchant id is never a checkout, for A either, so it would prove nothing).
 */
const idOperations: {
  name: string;
  document: AnyDocument;
  merchants: boolean;
  variables: (id: string, typename: string) => Record<string, unknown>;
}[] = [
  { name: 'checkout(id)', document: IsolationCheckoutDocument, merchants: false, variables: (id) => ({ id }) },
  { name: 'node(id)', document: IsolationNodeDocument, merchants: true, variables: (id) => ({ id }) },
  { name: 'refreshCheckout(id)', document: IsolationRefreshDocument, merchants: false, variables: (id) => ({ id }) },
  {
    name: 'checkoutStatusChanged(id)',
    document: IsolationWatchDocument,
    merchants: false,
    variables: (id) => ({ id }),
  },
  {
    name: '_entities',
    document: IsolationEntitiesDocument,
    merchants: true,
    variables: (id, typename) => ({ representations: [{ __typename: typename, id }] }),
  },
];

const cursorCases: {
  label: string;
  cursor: (w: World) => string;
  variables: (cursor: string) => Record<string, unknown>;
}[] = [
  { label: "after A's newest", cursor: (w) => w.aCursors[0]!, variables: (after) => ({ first: 100, after }) },
  { label: "after A's middle", cursor: (w) => w.aCursors[1]!, variables: (after) => ({ first: 100, after }) },
  { label: "after A's oldest", cursor: (w) => w.aCursors[2]!, variables: (after) => ({ first: 100, after }) },
  { label: "before A's middle", cursor: (w) => w.aCursors[1]!, variables: (before) => ({ last: 100, before }) },
  { label: "before A's oldest", cursor: (w) => w.aCursors[2]!, variables: (before) => ({ last: 100, before }) },
  {
    label: "after A's newest, status OPEN",
    cursor: (w) => w.aCursors[0]!,
    variables: (after) => ({ first: 100, after, filter: { status: ['OPEN'] } satisfies CheckoutFilter }),
  },
];

const listVariables: { label: string; variables: Record<string, unknown> }[] = [
  { label: 'first 100', variables: { first: 100 } },
  { label: 'last 100', variables: { last: 100 } },
  { label: 'first 1', variables: { first: 1 } },
  ...(['SMARTCHECKOUT', 'PAYERVAULT', 'STAN'] as const).map((provider) => ({
    label: `provider ${provider}`,
    variables: { first: 100, filter: { provider } satisfies CheckoutFilter },
  })),
  { label: 'status OPEN', variables: { first: 100, filter: { status: ['OPEN'] } satisfies CheckoutFilter } },
  // PROCESSING or COMPLETED: A's Smartcheckout checkout is one or the other whenever this runs.
  {
    label: 'status PROCESSING or COMPLETED',
    variables: { last: 100, filter: { status: ['PROCESSING', 'COMPLETED'] } satisfies CheckoutFilter },
  },
  { label: 'every status', variables: { first: 100, filter: { status: [...ALL_STATUSES] } satisfies CheckoutFilter } },
];

const cases: Case[] = [
  ...idOperations.flatMap((operation) =>
    targets
      .filter((target) => operation.merchants || target.typename !== 'Merchant')
      .map(
        (target): Case => ({
          kind: 'id',
          name: `${operation.name} on ${target.label}`,
          document: operation.document,
          ...probesFor((id) => operation.variables(id, target.typename), target),
        }),
      ),
  ),
  {
    kind: 'id',
    name: "_entities with all of A's entities in one call",
    document: IsolationEntitiesDocument,
    foreign: (w) => {
      const representations = targets.map((target) => ({ __typename: target.typename, id: target.id(w) }));
      return { variables: { representations }, echoes: representations.map((r) => r.id) };
    },
    missing: () => {
      const representations = targets.map((target) => ({
        __typename: target.typename,
        id: globalId(target.typename, randomUUID()),
      }));
      return { variables: { representations }, echoes: representations.map((r) => r.id) };
    },
  },
  ...cursorCases.map(
    (c): Case => ({
      kind: 'id',
      name: `checkouts ${c.label} cursor`,
      document: IsolationCheckoutsDocument,
      foreign: (w) => ({ variables: c.variables(c.cursor(w)), echoes: [c.cursor(w)] }),
      missing: () => ({ variables: c.variables(MISSING_CURSOR), echoes: [MISSING_CURSOR] }),
    }),
  ),
  ...listVariables.map(
    (l): Case => ({
      kind: 'list',
      name: `checkouts ${l.label}`,
      document: IsolationCheckoutsDocument,
      variables: l.variables,
    }),
  ),
];

/** An answer as a client sees it, with the echoed ids replaced by their position, as one comparable string. */
function normalised(answer: unknown, echoes: string[]): string {
  let text = JSON.stringify(answer);
  echoes.forEach((id, index) => {
    text = text.split(id).join(`<id ${index}>`);
  });
  return text;
}

const isSubscription = (document: AnyDocument) =>
  document.definitions.some(
    (definition) =>
      definition.kind === 'OperationDefinition' && (definition as OperationDefinitionNode).operation === 'subscription',
  );

/**
 * Runs an operation over graphql-ws and records what the client sees: every `next` payload and how
 * it ended. A subscription that delivers data is left after its first event (a checkout of one's
 * own stays open until it is terminal); anything else is followed to its end.
 */
function overWebSocket(
  client: Client,
  document: AnyDocument,
  variables: Record<string, unknown>,
  extensions?: Record<string, unknown>,
) {
  const subscription = isSubscription(document);
  return new Promise<{ messages: unknown[]; end: string; error?: unknown }>((resolve) => {
    const messages: unknown[] = [];
    let settled = false;
    let dispose = () => {};
    const finish = (end: string, error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      dispose();
      resolve({ messages, end, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => finish('still open'), STREAM_WAIT_MS);
    dispose = client.subscribe(
      { query: print(document), variables, ...(extensions ? { extensions } : {}) },
      {
        next: (message) => {
          messages.push(message);
          if (subscription && message.data) finish('open after its first event');
        },
        error: (error) =>
          finish(
            'error',
            Array.isArray(error)
              ? error
              : { closeCode: (error as { code?: number }).code, message: String((error as Error).message ?? error) },
          ),
        complete: () => finish('complete'),
      },
    );
  });
}

/**
 * POSTs an operation as JSON and records status, content type and body (a subscription asked for
 * this way gets no stream: Yoga answers 406 when there would be one, so the body may be empty).
 */
async function overHttp(url: string, apiKey: string, document: AnyDocument, variables: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      authorization: `Bearer ${apiKey}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: response.status, contentType: response.headers.get('content-type'), body };
}

/** Runs an operation over Yoga's SSE (POST, `Accept: text/event-stream`) and records its events the same way. */
async function overSse(url: string, apiKey: string, document: AnyDocument, variables: Record<string, unknown>) {
  const subscription = isSubscription(document);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), STREAM_WAIT_MS);
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query: print(document), variables }),
    signal: controller.signal,
  });
  const events: unknown[] = [];
  let end = 'closed without complete';
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    read: for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let index = buffer.indexOf('\n\n'); index >= 0; index = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        const event = /^event: (\w+)/m.exec(block)?.[1];
        if (!event) continue; // keep-alive comment
        if (event === 'complete') {
          end = 'complete';
          break read;
        }
        const data = /^data: (.*)$/m.exec(block)?.[1];
        const payload = data ? (JSON.parse(data) as { data?: unknown }) : null;
        events.push({ event, payload });
        if (subscription && payload?.data) {
          end = 'open after its first event';
          break read;
        }
      }
    }
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    end = 'still open';
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: response.status, contentType: response.headers.get('content-type'), events, end };
}

describe("tenant isolation matrix: B's key on A's ids answers exactly like a nonexistent id", () => {
  // The matrix sends a few hundred operations per key within seconds; it is not about rate limits.
  const t = useTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  let world: World;
  const clients = {} as Record<Tenant, Client>;
  /** One socket opened without a key: each operation brings its own in `extensions.headers`. */
  let keyless: Client;
  /** Each tenant's list answers from before A created anything, per transport. */
  const before = new Map<string, string>();
  /** A's checkouts as read right after creation, to show B's calls changed nothing. */
  let aAsCreated: unknown[];
  const counts: Record<Channel, number> = { HTTP: 0, WebSocket: 0, SSE: 0 };
  const controls: Record<Channel, number> = { HTTP: 0, WebSocket: 0, SSE: 0 };

  function send(
    transport: Transport,
    tenant: Tenant,
    document: AnyDocument,
    variables: Record<string, unknown>,
  ): Promise<unknown> {
    const apiKey = t.keys[tenant]!;
    switch (transport) {
      case 'HTTP':
        return overHttp(t.url, apiKey, document, variables);
      case 'WebSocket':
        return overWebSocket(clients[tenant], document, variables);
      case 'WebSocket, key per operation':
        return overWebSocket(keyless, document, variables, { headers: { authorization: `Bearer ${apiKey}` } });
      case 'SSE':
        return overSse(t.url, apiKey, document, variables);
    }
  }

  async function create(tenant: Tenant): Promise<Record<CheckoutTypename, Created>> {
    const apiKey = t.keys[tenant]!;
    // sandbox_after_polls=1: a single poll of A's Smartcheckout checkout (by anyone) would complete it.
    const smart = await t.request(
      IsolationCreateSmartDocument,
      { input: { productUrl: 'https://isolation-shop.example/item?sandbox_after_polls=1', email: 'ada@example.com' } },
      { apiKey },
    );
    const payervault = await t.request(
      IsolationCreatePayerVaultDocument,
      { input: { customerId: 'cust-isolation' } },
      { apiKey },
    );
    const stan = await t.request(
      IsolationCreateStanDocument,
      {
        input: {
          returnUrl: 'https://isolation-shop.example/return',
          lineItems: [{ productId: 'p1', quantity: 2, unitPrice: 1250 }],
        },
      },
      { apiKey },
    );
    const checkouts = {
      SmartCheckout: expectType(smart.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout,
      PayerVaultCheckout: expectType(payervault.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess')
        .checkout,
      StanCheckout: expectType(stan.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout,
    };
    // Merchant ids are not in the create documents' selection (they differ between any two creates).
    const result = {} as Record<CheckoutTypename, Created>;
    for (const typename of CHECKOUT_TYPENAMES) {
      const read = await t.request(IsolationCheckoutDocument, { id: checkouts[typename].id }, { apiKey });
      result[typename] = { id: checkouts[typename].id, merchantId: read.data?.checkout?.merchant?.id ?? null };
    }
    return result;
  }

  async function snapshotLists() {
    for (const transport of TRANSPORTS) {
      for (const c of cases) {
        if (c.kind !== 'list') continue;
        for (const tenant of ['a', 'b'] as const) {
          before.set(
            `${transport}|${tenant}|${c.name}`,
            normalised(await send(transport, tenant, c.document, c.variables), []),
          );
        }
      }
    }
  }

  beforeAll(async () => {
    clients.a = wsClient(t.url, t.keys.a!, { lazy: false });
    clients.b = wsClient(t.url, t.keys.b!, { lazy: false });
    keyless = wsClient(t.url, null, { lazy: false });
    // B first, so that every one of B's checkouts is older than all of A's (see MISSING_CURSOR).
    const b = await create('b');
    await snapshotLists();
    const a = await create('a');
    const page = await t.request(IsolationCheckoutsDocument, { first: 100 }, { apiKey: t.keys.a! });
    world = { a, b, aCursors: page.data!.checkouts.edges.map((edge) => edge.cursor) };
    aAsCreated = await Promise.all(
      CHECKOUT_TYPENAMES.map((typename) =>
        t.request(IsolationCheckoutDocument, { id: a[typename].id }, { apiKey: t.keys.a! }).then((r) => r.data),
      ),
    );
  }, 60_000);

  // Runs before the app stops (after-hooks run in reverse order of registration).
  afterAll(async () => {
    await Promise.all([clients.a?.dispose(), clients.b?.dispose(), keyless?.dispose()]);
    console.log(
      `isolation matrix: ${counts.HTTP} cases over HTTP, ${counts.WebSocket} over WebSocket, ${counts.SSE} over SSE` +
        ` (controls where tenant A's own answer differs: ${controls.HTTP} HTTP, ${controls.WebSocket} WebSocket, ${controls.SSE} SSE)`,
    );
  });

  it("sets the matrix up: A's ids are real, A's list is newest first, and A and B have separate merchants", () => {
    expect(world.aCursors).toHaveLength(3);
    for (const target of targets) expect(target.id(world), target.label).toBeTruthy();
    expect(world.a.SmartCheckout.merchantId).not.toBe(world.b.SmartCheckout.merchantId);
    expect(world.a.StanCheckout.merchantId).not.toBe(world.b.StanCheckout.merchantId);
  });

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      for (const c of cases) {
        it(`${c.name}: B on A's ${c.kind === 'id' ? 'id' : 'data'} = B on nothing`, async () => {
          if (c.kind === 'id') {
            const foreign = c.foreign(world);
            const missing = c.missing(world);
            const [onForeign, onMissing] = await Promise.all([
              send(transport, 'b', c.document, foreign.variables),
              send(transport, 'b', c.document, missing.variables),
            ]);
            expect(normalised(onForeign, foreign.echoes)).toBe(normalised(onMissing, missing.echoes));
          } else {
            const now = normalised(await send(transport, 'b', c.document, c.variables), []);
            expect(now).toBe(before.get(`${transport}|b|${c.name}`));
          }
          counts[channelOf(transport)] += 1;
        });
      }
    });
  }

  it("B's calls changed nothing of A's (no refresh reached A's Smartcheckout checkout, which one poll would complete)", async () => {
    const now = await Promise.all(
      CHECKOUT_TYPENAMES.map((typename) =>
        t.request(IsolationCheckoutDocument, { id: world.a[typename].id }, { apiKey: t.keys.a! }).then((r) => r.data),
      ),
    );
    expect(now).toEqual(aAsCreated);
    const smart = now[0]!.checkout!;
    expect(smart.status).toBe('PROCESSING');
    expect(smart.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING']);
  });

  // The controls run after every B case: A's refreshCheckout of its own Smartcheckout checkout polls it.
  for (const transport of TRANSPORTS) {
    describe(`control over ${transport}`, () => {
      for (const c of cases) {
        it(`${c.name}: A on its own ${c.kind === 'id' ? 'id' : 'data'} ≠ A on nothing`, async () => {
          if (c.kind === 'id') {
            const own = c.foreign(world);
            const missing = c.missing(world);
            const onOwn = normalised(await send(transport, 'a', c.document, own.variables), own.echoes);
            const onMissing = normalised(await send(transport, 'a', c.document, missing.variables), missing.echoes);
            expect(onOwn).not.toBe(onMissing);
          } else {
            const now = normalised(await send(transport, 'a', c.document, c.variables), []);
            expect(now).not.toBe(before.get(`${transport}|a|${c.name}`));
          }
          controls[channelOf(transport)] += 1;
        });
      }
    });
  }

  /*
   * Idempotency keys are per tenant. B sending A's key must be exactly like B sending a key nobody
   * ever used: with A's input, a new checkout of B's own (not a replay of A's); with another input,
   * a new checkout too (not an IdempotencyKeyReuseError revealing that A used the key).
   */
  const creates: {
    provider: string;
    document: AnyDocument;
    field: 'createSmartCheckout' | 'createPayerVaultCheckout' | 'createStanCheckout';
    input: (variant: 1 | 2) => Record<string, unknown>;
  }[] = [
    {
      provider: 'createSmartCheckout',
      document: IsolationCreateSmartDocument,
      field: 'createSmartCheckout',
      input: (variant) => ({
        productUrl: `https://isolation-shop.example/item-${variant}?sandbox_after_polls=5`,
        email: `shopper${variant}@example.com`,
      }),
    },
    {
      provider: 'createPayerVaultCheckout',
      document: IsolationCreatePayerVaultDocument,
      field: 'createPayerVaultCheckout',
      input: (variant) => ({ customerId: `cust-isolation-${variant}` }),
    },
    {
      provider: 'createStanCheckout',
      document: IsolationCreateStanDocument,
      field: 'createStanCheckout',
      input: (variant) => ({
        returnUrl: 'https://isolation-shop.example/return',
        lineItems: [{ productId: `p${variant}`, quantity: variant, unitPrice: 700 }],
      }),
    },
  ];

  interface CreateAnswer {
    data?: Record<string, { __typename: string; checkout?: { id: string } } | undefined> | null;
  }

  /** The create's checkout id and the answer with it (and the key, if echoed) normalised. */
  function createdIn(
    transport: Transport,
    answer: unknown,
    field: string,
    key: string,
  ): { id: string | undefined; text: string } {
    const payload =
      transport === 'HTTP'
        ? (answer as { body: CreateAnswer }).body
        : transport === 'SSE'
          ? ((answer as { events: { payload: CreateAnswer }[] }).events[0]?.payload ?? {})
          : (((answer as { messages: CreateAnswer[] }).messages[0] ?? {}) as CreateAnswer);
    const id = payload.data?.[field]?.checkout?.id;
    return { id, text: normalised(answer, [...(id ? [id] : []), key]) };
  }

  for (const transport of TRANSPORTS) {
    describe(`idempotency keys over ${transport}`, () => {
      for (const create of creates) {
        it(`${create.provider}: B reusing A's idempotencyKey = B with a key nobody used`, async () => {
          const sameKey = `iso-same-${randomUUID()}`;
          const otherKey = `iso-other-${randomUUID()}`;
          const run = async (tenant: Tenant, variant: 1 | 2, key: string) =>
            createdIn(
              transport,
              await send(transport, tenant, create.document, {
                input: { ...create.input(variant), idempotencyKey: key },
              }),
              create.field,
              key,
            );

          const aFirst = await run('a', 1, sameKey);
          const aOther = await run('a', 1, otherKey);
          expect(aFirst.id).toBeTruthy();
          expect(aOther.id).toBeTruthy();

          // Same input as A's.
          const bSame = await run('b', 1, sameKey);
          const bSameFresh = await run('b', 1, `iso-fresh-${randomUUID()}`);
          expect(bSame.text).toBe(bSameFresh.text);
          expect(bSame.id).toBeTruthy();
          expect(bSame.id).not.toBe(aFirst.id);
          // Different input from A's.
          const bOther = await run('b', 2, otherKey);
          const bOtherFresh = await run('b', 2, `iso-fresh-${randomUUID()}`);
          expect(bOther.text).toBe(bOtherFresh.text);
          expect(bOther.id).toBeTruthy();
          counts[channelOf(transport)] += 2;

          // B's checkouts are B's own, invisible to A; A's are still A's alone.
          for (const id of [bSame.id!, bOther.id!]) {
            expect((await t.request(IsolationCheckoutDocument, { id }, { apiKey: t.keys.b! })).data?.checkout?.id).toBe(
              id,
            );
            expect(
              (await t.request(IsolationCheckoutDocument, { id }, { apiKey: t.keys.a! })).data?.checkout,
            ).toBeNull();
          }

          // Controls: for A the keys do mean something: a replay of its own checkout, and a reuse error.
          const aReplay = await run('a', 1, sameKey);
          expect(aReplay.id).toBe(aFirst.id);
          const aReuse = await run('a', 2, otherKey);
          const aFresh = await run('a', 2, `iso-fresh-${randomUUID()}`);
          expect(aReuse.text).not.toBe(aFresh.text);
          expect(aReuse.text).toContain('IdempotencyKeyReuseError');
          controls[channelOf(transport)] += 2;
        });
      }
    });
  }
});
