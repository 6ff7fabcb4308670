import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { parse, print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { CheckoutRepository } from '../src/db/repository.js';
import {
  CheckoutDocument,
  CheckoutStatusChangedDocument,
  CreateSmartCheckoutDocument,
  RefreshCheckoutDocument,
  type CheckoutStatusChangedSubscription,
} from './generated/graphql.js';
import { expectType, useTestApp } from './support/app.js';
import { waitFor } from './support/async.js';
import {
  smartcheckoutThrough,
  startGatedSmartcheckout,
  type GatedSmartcheckout,
} from './support/gated-smartcheckout.js';
import { globalId, rowIdOf } from './support/ids.js';
import { createSmart, sandboxProduct } from './support/seed.js';
import { recordSse, recordSubscription, scopedWsClient, type SubscriptionRecording } from './support/subscriptions.js';
import { statusChangedPayload } from '../src/webhooks/events.js';

/*
 * checkoutStatusChanged over graphql-ws and SSE against the real server, its real poller and a
 * Smartcheckout sandbox behind a counting gate: the gate holds a checkout's status GETs until the
 * test lets them through, so "the subscriber saw PROCESSING before the change" is a fact, not a race.
 */

const POLL = { POLLER: 'on', POLL_INTERVAL_MS: '100', POLL_MAX_INTERVAL_MS: '400' };
const FAILED_NOTE = 'Sandbox: the purchase could not be completed (sandbox_outcome=failed)';

type Event = CheckoutStatusChangedSubscription['checkoutStatusChanged'];

const statuses = (events: { checkoutStatusChanged: Event }[]) =>
  events.map((event) => event.checkoutStatusChanged.status);

/** Subscribes over SSE and reads the stream as it arrives (recordSse only returns at the end). */
function streamSse<TResult, TVariables>(
  baseUrl: string,
  apiKey: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
) {
  const events: { data?: TResult; errors?: unknown[] }[] = [];
  const state = { completed: false };
  const controller = new AbortController();
  const done = (async () => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query: print(document), variables }),
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (\w+)/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event === 'next' && data) events.push(JSON.parse(data));
        if (event === 'complete') state.completed = true;
      }
    }
  })();
  return { events, state, done, abort: () => controller.abort() };
}

/** A subscription's outcome as a client sees it, with `id` replaced so two answers can be compared. */
function visibleErrors(errors: unknown, id: string): string {
  return JSON.stringify(errors).split(id).join('<id>');
}

describe('checkoutStatusChanged', () => {
  let provider: GatedSmartcheckout;
  beforeAll(async () => {
    provider = await startGatedSmartcheckout({ holdNew: true });
    // A beforeAll's clean-up runs after the block's afterAll hooks: once the app has stopped.
    return () => provider.close();
  });
  const t = useTestApp(
    () => ({
      ...POLL,
      // Held GETs must not time out: the gate decides when they are answered.
      PROVIDER_TIMEOUT_MS: '20000',
      ...smartcheckoutThrough(provider),
      // The slow-client test selects a large userData under 60 aliases to fill socket buffers fast.
      LIMIT_MAX_ALIASES: '100',
      LIMIT_MAX_COST: '100000',
    }),
    { isolate: 'subscriptions' },
  );
  // Lets held GETs through before the app stops (after-hooks run in reverse order of registration).
  afterAll(() => provider?.allowAll());
  let repository: CheckoutRepository;
  beforeEach(() => {
    repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
  });

  /** A graphql-ws client of the running test (tenant a's unless `apiKey` says otherwise), closed when it ends. */
  const connect = (apiKey: string | null = t.keys.a!) => scopedWsClient(t.url, apiKey);

  /** A PROCESSING Smartcheckout purchase whose status GETs the gate holds until the test allows them. */
  async function createHeldPurchase(
    query: string,
    options: { apiKey?: string; userData?: Record<string, unknown> } = {},
  ) {
    const checkout = await createSmart(
      t,
      { productUrl: sandboxProduct(query, 'live-shop.example'), email: 'ada@example.com', userData: options.userData },
      { apiKey: options.apiKey },
    );
    expect(checkout.status).toBe('PROCESSING');
    return { id: checkout.id, providerId: checkout.providerCheckoutId! };
  }

  async function statusOf(id: string) {
    const response = await t.request(CheckoutDocument, { id });
    return response.data?.checkout?.status;
  }

  describe('event sequence over graphql-ws', () => {
    it('sends the current state, then the change, then completes (sandbox_after_polls=3)', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=3&sandbox_amount=49.99&sandbox_currency=USD');
      const recording = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await waitFor(() => recording.events.length === 1, { what: 'the current state' });
      expect(provider.getCount(checkout.providerId)).toBeLessThanOrEqual(1); // held: nothing answered yet
      provider.allow(checkout.providerId);
      await recording.done;

      expect(recording.errors).toBeUndefined();
      expect(recording.completed).toBe(true);
      expect(statuses(recording.events)).toEqual(['PROCESSING', 'COMPLETED']);
      const [first, last] = recording.events.map((event) => event.checkoutStatusChanged);
      expect(first).toMatchObject({
        __typename: 'SmartCheckout',
        id: checkout.id,
        provider: 'SMARTCHECKOUT',
        total: null,
      });
      expect(first!.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING']);
      expect(last).toMatchObject({ id: checkout.id, total: { amount: 4999, currency: 'USD', decimal: '49.99' } });
      expect(last!.events.map((event) => event.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
      expect(provider.getCount(checkout.providerId)).toBe(3);
    });

    it('ends with FAILED and its notes when the purchase fails', async () => {
      const checkout = await createHeldPurchase('sandbox_outcome=failed&sandbox_after_polls=2');
      const recording = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await waitFor(() => recording.events.length === 1, { what: 'the current state' });
      provider.allow(checkout.providerId);
      await recording.done;

      expect(recording.errors).toBeUndefined();
      expect(recording.completed).toBe(true);
      expect(statuses(recording.events)).toEqual(['PROCESSING', 'FAILED']);
      expect(recording.events[1]!.checkoutStatusChanged.notes).toBe(FAILED_NOTE);
      expect(recording.events[1]!.checkoutStatusChanged.total).toBeNull();
    });

    it('sends only the terminal state and completes at once for a checkout already COMPLETED', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=1');
      provider.allow(checkout.providerId);
      await waitFor(async () => (await statusOf(checkout.id)) === 'COMPLETED', { what: 'the checkout to complete' });

      const recording = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await recording.done;
      expect(recording.errors).toBeUndefined();
      expect(recording.completed).toBe(true);
      expect(statuses(recording.events)).toEqual(['COMPLETED']);
      expect(provider.getCount(checkout.providerId)).toBe(1);
    });

    it('loses and repeats nothing when a client disposes and resubscribes', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=3');
      const first = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await waitFor(() => first.events.length === 1, { what: "the first subscription's current state" });
      first.dispose();

      // One poll happens while nobody listens: still PROCESSING, so nothing to tell anyone.
      provider.allow(checkout.providerId, 1);
      await waitFor(async () => (await repository.pollScheduleOf(rowIdOf(checkout.id)))?.attempts === 1, {
        what: 'the first poll',
      });

      const second = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await waitFor(() => second.events.length === 1, { what: "the second subscription's current state" });
      provider.allow(checkout.providerId);
      await second.done;

      expect(statuses(first.events)).toEqual(['PROCESSING']);
      expect(second.errors).toBeUndefined();
      expect(second.completed).toBe(true);
      expect(statuses(second.events)).toEqual(['PROCESSING', 'COMPLETED']);

      // A client that comes back after the end gets the terminal state, once, and completion.
      const third = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await third.done;
      expect(statuses(third.events)).toEqual(['COMPLETED']);
      expect(third.completed).toBe(true);
      expect(provider.getCount(checkout.providerId)).toBe(3);
    });
  });

  describe('event sequence over SSE', () => {
    it('streams the same sequence and a complete event', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=3');
      const stream = streamSse(t.url, t.keys.a!, CheckoutStatusChangedDocument, { id: checkout.id });
      await waitFor(() => stream.events.length === 1, { what: 'the current state over SSE' });
      provider.allow(checkout.providerId);
      await stream.done;

      expect(stream.state.completed).toBe(true);
      expect(stream.events.every((event) => event.errors === undefined)).toBe(true);
      expect(stream.events.map((event) => event.data!.checkoutStatusChanged.status)).toEqual([
        'PROCESSING',
        'COMPLETED',
      ]);
      expect(stream.events[1]!.data!.checkoutStatusChanged.total).toEqual({
        amount: 4999,
        currency: 'USD',
        decimal: '49.99',
      });
    });

    it('gives only the terminal state for a finished checkout (recordSse)', async () => {
      const checkout = await createHeldPurchase('sandbox_outcome=failed&sandbox_after_polls=1');
      provider.allow(checkout.providerId);
      await waitFor(async () => (await statusOf(checkout.id)) === 'FAILED', { what: 'the checkout to fail' });

      const recorded = await recordSse(t.url, t.keys.a!, CheckoutStatusChangedDocument, { id: checkout.id });
      expect(recorded.completed).toBe(true);
      expect(recorded.events.map((event) => event.data?.checkoutStatusChanged.status)).toEqual(['FAILED']);
      expect(recorded.events[0]!.data!.checkoutStatusChanged.notes).toBe(FAILED_NOTE);
    });
  });

  describe("ids that are not the caller's", () => {
    let foreign: { id: string; providerId: string };
    beforeAll(async () => {
      // Never completes, so it is still PROCESSING after tenant b's attempts.
      foreign = await createHeldPurchase('sandbox_after_polls=1000');
      provider.allow(foreign.providerId);
    });

    const cases = () => [
      { name: 'an unknown id', id: globalId('SmartCheckout', randomUUID()), apiKey: t.keys.a! },
      { name: 'a malformed id', id: 'not a global id', apiKey: t.keys.a! },
      { name: "another tenant's id", id: foreign.id, apiKey: t.keys.b! },
    ];

    it('ends each at once with NOT_FOUND over graphql-ws, the same for unknown and foreign ids', async () => {
      const seen: Record<string, string> = {};
      for (const { name, id, apiKey } of cases()) {
        const recording = recordSubscription(connect(apiKey), CheckoutStatusChangedDocument, { id });
        await recording.done;
        expect(recording.events, name).toEqual([]);
        expect(recording.errors, name).toHaveLength(1);
        expect(recording.errors![0]!.extensions?.code, name).toBe('NOT_FOUND');
        expect(recording.errors![0]!.message, name).toContain(id);
        seen[name] = visibleErrors(recording.errors, id);
      }
      expect(seen["another tenant's id"]).toBe(seen['an unknown id']);
      // Tenant b's attempt did not reveal, poll or change tenant a's checkout.
      expect(await statusOf(foreign.id)).toBe('PROCESSING');
    });

    it('ends each at once with NOT_FOUND over SSE, the same for unknown and foreign ids', async () => {
      const seen: Record<string, string> = {};
      for (const { name, id, apiKey } of cases()) {
        const recorded = await recordSse(t.url, apiKey, CheckoutStatusChangedDocument, { id });
        expect(recorded.completed, name).toBe(true);
        expect(recorded.events, name).toHaveLength(1);
        expect(recorded.events[0]!.data ?? null, name).toBeNull();
        const errors = recorded.events[0]!.errors as { message: string; extensions?: { code?: string } }[];
        expect(errors, name).toHaveLength(1);
        expect(errors[0]!.extensions?.code, name).toBe('NOT_FOUND');
        seen[name] = visibleErrors(errors, id);
      }
      expect(seen["another tenant's id"]).toBe(seen['an unknown id']);
    });
  });

  describe('authentication over graphql-ws', () => {
    it('closes the socket with 4403 and runs nothing with an unknown key', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=1');
      const recording = recordSubscription(connect(`key-unknown-${randomUUID()}`), CheckoutStatusChangedDocument, {
        id: checkout.id,
      });
      await recording.done;
      provider.allow(checkout.providerId);
      expect(recording.events).toEqual([]);
      expect(recording.completed).toBe(false);
      expect(recording.errors?.[0]?.extensions?.closeCode).toBe(4403);
    });

    it('refuses each operation of a socket opened without a key unless the operation brings one (GraphiQL)', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=1');
      const keyless = connect(null);
      const refused = recordSubscription(keyless, CheckoutStatusChangedDocument, { id: checkout.id });
      await refused.done;
      expect(refused.events).toEqual([]);
      expect(refused.completed).toBe(false);
      expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      const wrong = await new Promise<readonly { extensions?: Record<string, unknown> }[]>((resolve) => {
        keyless.subscribe(
          {
            query: print(CheckoutStatusChangedDocument),
            variables: { id: checkout.id },
            extensions: { headers: { authorization: 'Bearer nope-nope-nope' } },
          },
          { next: () => undefined, error: (error) => resolve(error as never), complete: () => resolve([]) },
        );
      });
      expect(wrong[0]?.extensions?.code).toBe('UNAUTHENTICATED');

      const statuses: string[] = [];
      await new Promise<void>((resolve, reject) => {
        keyless.subscribe<{ checkoutStatusChanged: { status: string } }>(
          {
            query: print(CheckoutStatusChangedDocument),
            variables: { id: checkout.id },
            extensions: { headers: { authorization: `Bearer ${t.keys.a}` } },
          },
          {
            next: ({ data }) => void statuses.push(data!.checkoutStatusChanged.status),
            error: reject,
            complete: resolve,
          },
        );
        provider.allow(checkout.providerId);
      });
      expect(statuses).toEqual(['PROCESSING', 'COMPLETED']);
      await keyless.dispose();
    });

    it("lets tenant b follow its own checkout but not tenant a's", async () => {
      const own = await createHeldPurchase('sandbox_after_polls=1', { apiKey: t.keys.b });
      const ofA = await createHeldPurchase('sandbox_after_polls=1');
      const b = connect(t.keys.b!);
      const mine = recordSubscription(b, CheckoutStatusChangedDocument, { id: own.id });
      const theirs = recordSubscription(b, CheckoutStatusChangedDocument, { id: ofA.id });
      await theirs.done;
      expect(theirs.events).toEqual([]);
      expect(theirs.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

      await waitFor(() => mine.events.length === 1, { what: "tenant b's current state" });
      provider.allow(own.providerId);
      provider.allow(ofA.providerId);
      await mine.done;
      expect(statuses(mine.events)).toEqual(['PROCESSING', 'COMPLETED']);
      expect(theirs.events).toEqual([]); // a's completion never reached b
    });
  });

  describe('fan-out', () => {
    it('polls a checkout with 1000 subscribers exactly as often as one with a single subscriber', {
      timeout: 120_000,
    }, async () => {
      const single = await createHeldPurchase('sandbox_after_polls=3');
      const crowded = await createHeldPurchase('sandbox_after_polls=3');

      const oneSocket = connect();
      const one = recordSubscription(oneSocket, CheckoutStatusChangedDocument, { id: single.id });
      // 10 sockets with 100 subscriptions each.
      const sockets = Array.from({ length: 10 }, () => connect());
      const many: SubscriptionRecording<CheckoutStatusChangedSubscription>[] = sockets.flatMap((socket) =>
        Array.from({ length: 100 }, () =>
          recordSubscription(socket, CheckoutStatusChangedDocument, { id: crowded.id }),
        ),
      );
      await waitFor(() => one.events.length === 1 && many.every((recording) => recording.events.length === 1), {
        what: "every subscriber's current state",
        timeoutMs: 60_000,
      });
      expect(t.app.webSocket.clientCount).toBeGreaterThanOrEqual(11);

      provider.allow(single.providerId);
      provider.allow(crowded.providerId);
      await Promise.all([one.done, ...many.map((recording) => recording.done)]);

      expect(one.completed).toBe(true);
      expect(statuses(one.events)).toEqual(['PROCESSING', 'COMPLETED']);
      expect(many).toHaveLength(1000);
      for (const recording of many) {
        expect(recording.errors).toBeUndefined();
        expect(recording.completed).toBe(true);
        expect(statuses(recording.events)).toEqual(['PROCESSING', 'COMPLETED']);
      }
      // Both schedules are gone (terminal), so the counts below are final.
      await waitFor(
        async () =>
          (await repository.pollScheduleOf(rowIdOf(single.id))) === undefined &&
          (await repository.pollScheduleOf(rowIdOf(crowded.id))) === undefined,
        { what: 'both poll schedules to be removed' },
      );
      expect(provider.getCount(crowded.providerId)).toBe(provider.getCount(single.providerId));
      expect(provider.getCount(crowded.providerId)).toBe(3);

      // Closed sockets release their subscriptions.
      await Promise.all([...sockets, oneSocket].map((socket) => socket.dispose()));
      await waitFor(() => t.app.webSocket.clientCount === 0, { what: 'every socket to be released' });
    });

    it('releases the subscriptions of sockets that close while their checkout is still processing', async () => {
      const checkout = await createHeldPurchase('sandbox_after_polls=2');
      const sockets = Array.from({ length: 3 }, () => connect());
      const recordings = sockets.map((socket) =>
        recordSubscription(socket, CheckoutStatusChangedDocument, { id: checkout.id }),
      );
      await waitFor(() => recordings.every((recording) => recording.events.length === 1), {
        what: 'the current states',
      });
      expect(t.app.webSocket.clientCount).toBe(3);

      await Promise.all(sockets.map((socket) => socket.dispose()));
      await waitFor(() => t.app.webSocket.clientCount === 0, { what: 'the sockets to be released' });

      // The change still happens, and a new subscriber still gets [current, change].
      const later = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: checkout.id });
      await waitFor(() => later.events.length === 1, { what: "the new subscriber's current state" });
      provider.allow(checkout.providerId);
      await later.done;
      expect(statuses(later.events)).toEqual(['PROCESSING', 'COMPLETED']);
      for (const recording of recordings) expect(statuses(recording.events)).toEqual(['PROCESSING']);
    });
  });

  describe('a client that stops reading', () => {
    it('is cut off without holding back a normal client', { timeout: 60_000 }, async () => {
      // 16 KB of user data selected 60 times: about 1 MB per event.
      const userData = { blob: 'x'.repeat(16_000) };
      const heavy = await Promise.all(
        Array.from({ length: 4 }, () => createHeldPurchase('sandbox_after_polls=2', { userData })),
      );
      const aliases = Array.from({ length: 60 }, (_, index) => `u${index}: userData`).join(' ');
      const query = `subscription Heavy($id: ID!) { checkoutStatusChanged(id: $id) { id status events { status at source } ... on SmartCheckout { productUrl ${aliases} } } }`;

      const normal = recordSubscription(connect(), CheckoutStatusChangedDocument, { id: heavy[0]!.id });
      await waitFor(() => normal.events.length === 1, { what: "the normal client's current state" });
      const before = t.app.webSocket.clientCount;

      const slow = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
      onTestFinished(() => slow.terminate());
      await new Promise<void>((resolve, reject) => {
        slow.once('open', resolve);
        slow.once('error', reject);
      });
      const acked = new Promise<void>((resolve) =>
        slow.on('message', (data) => {
          if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') resolve();
        }),
      );
      slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.keys.a}` } }));
      await acked;
      expect(t.app.webSocket.clientCount).toBe(before + 1);

      // Stop reading: the server's writes pile up in the kernel, then in its own send buffer.
      (slow as unknown as { _socket: { pause(): void } })._socket.pause();
      let n = 0;
      for (let round = 0; round < 10; round++) {
        for (const checkout of heavy) {
          slow.send(
            JSON.stringify({ id: `s${n++}`, type: 'subscribe', payload: { query, variables: { id: checkout.id } } }),
          );
        }
      }

      // About 40 MB of first events against 1 MiB allowed (plus what the kernel buffers): the server cuts it off.
      await waitFor(() => t.app.webSocket.clientCount === before, {
        what: 'the server to drop the client that stopped reading',
        timeoutMs: 30_000,
      });
      expect(t.logs.some((line) => line.includes('closing a WebSocket client that stopped reading'))).toBe(true);

      // The normal client is still served: the change reaches it and it completes.
      for (const checkout of heavy) provider.allow(checkout.providerId);
      await normal.done;
      expect(normal.errors).toBeUndefined();
      expect(statuses(normal.events)).toEqual(['PROCESSING', 'COMPLETED']);
    });
  });
});

describe('one execution per status change and selection', () => {
  // No poller: the change is made by refreshCheckout, so every statement counted is the test's.
  // No read model either: whether one selection's load is still in memory when another selection
  // runs depends on timing, and the statements counted here must count executions.
  const t = useTestApp({ READ_MODEL_MAX_ENTRIES: '0' });

  /** Statements one refresh to COMPLETED costs while `subscribers` clients watch with the same selection (events included). */
  async function statementsOfOneChange(subscribers: number, otherSelection = 0) {
    const created = await t.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/shared?sandbox_after_polls=1', email: 'a@b.co' },
    });
    const { id } = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    const client = scopedWsClient(t.url, t.keys.a!);
    const same = Array.from({ length: subscribers }, () =>
      recordSubscription(client, CheckoutStatusChangedDocument, { id }),
    );
    const other = Array.from({ length: otherSelection }, () => recordSubscription(client, IsolationLikeWatch, { id }));
    await waitFor(() => [...same, ...other].every((recording) => recording.events.length === 1), {
      what: 'the current state on every subscription',
    });
    const before = t.app.database.statementCount;
    const refreshed = await t.request(RefreshCheckoutDocument, { id });
    expect(expectType(refreshed.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout.status).toBe('COMPLETED');
    await Promise.all([...same, ...other].map((recording) => recording.done));
    const statements = t.app.database.statementCount - before;
    await client.dispose();
    for (const recording of same) {
      expect(recording.completed).toBe(true);
      expect(statuses(recording.events)).toEqual(['PROCESSING', 'COMPLETED']);
      // Each subscriber got the change's events, read once for all of them.
      expect(recording.events[1]!.checkoutStatusChanged.events.map((event) => event.status)).toEqual([
        'PENDING',
        'PROCESSING',
        'COMPLETED',
      ]);
    }
    for (const recording of other)
      expect(recording.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);
    return statements;
  }

  /**
   * The fewest statements of two tries: background workers (the webhook dispatcher's idle scan,
   * maintenance) share the statement counter and can only add to a try, never take away.
   */
  async function fewestStatementsOfOneChange(subscribers: number, otherSelection = 0) {
    return Math.min(
      await statementsOfOneChange(subscribers, otherSelection),
      await statementsOfOneChange(subscribers, otherSelection),
    );
  }

  it("reads a change's events once for 25 subscribers of one selection, and in the same statement for another selection", async () => {
    const alone = await fewestStatementsOfOneChange(1);
    expect(await fewestStatementsOfOneChange(25)).toBe(alone);
    // A second selection (other fields) is executed once on its own, and its read of the
    // checkout joins the first one's statement: the read model loads a turn's reads together.
    expect(await fewestStatementsOfOneChange(25, 5)).toBe(alone);
  });
});

/** The same subscription field with another selection (it reads the events too). */
const IsolationLikeWatch = parse(
  `subscription OtherSelection($id: ID!) { checkoutStatusChanged(id: $id) { status events { status } } }`,
) as TypedDocumentNode<{ checkoutStatusChanged: { status: string; events: { status: string }[] } }, { id: string }>;
