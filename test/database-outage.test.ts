import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import {
  CheckoutStatusChangedDocument,
  CheckoutsDocument,
  CreatePayerVaultCheckoutDocument,
  RefreshCheckoutDocument,
} from './generated/graphql.js';
import { DATABASE_KIND, expectType, isolatedDatabase, startScopedTestApp, type TestApp } from './support/app.js';
import { pause } from './support/async.js';
import { createSmart } from './support/seed.js';
import { recordSse, recordSubscription, scopedWsClient } from './support/subscriptions.js';
import { startTcpProxy } from './support/tcp-proxy.js';

/*
 * PostgreSQL gone for 30 s, made by a TCP proxy in front of the machine's server that resets every
 * connection and refuses new ones: open status streams ride it out and deliver the change made
 * once it is back; meanwhile every operation that needs the database answers SERVICE_UNAVAILABLE
 * (HTTP 503, Retry-After) over HTTP, graphql-ws and SSE, never a masked `Unexpected error.`.
 */

const OUTAGE_MS = 30_000;

if (DATABASE_KIND !== 'postgres')
  console.log('database-outage.test.ts skipped: it cuts the connection to PostgreSQL (set DATABASE_URL).');

/** A POST as GraphQL client libraries send it, answered with its status and Retry-After. */
async function post<TResult, TVariables>(
  t: TestApp,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      authorization: `Bearer ${t.keys.a!}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), errors: body.errors };
}

const UNAVAILABLE = {
  status: 503,
  retryAfter: '5',
  errors: [
    expect.objectContaining({
      message: 'The database is unavailable for a moment; retry in 5 s',
      extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryable: true }),
    }),
  ],
};

describe.skipIf(DATABASE_KIND !== 'postgres')('PostgreSQL unreachable for 30 s', () => {
  it('streams ride it out and deliver the change made after it; operations answer SERVICE_UNAVAILABLE over HTTP, graphql-ws and SSE', {
    timeout: OUTAGE_MS + 60_000,
  }, async () => {
    const database = await isolatedDatabase('outage');
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(process.env.DATABASE_URL!).port || 5432),
    });
    const proxied = new URL(database.url!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    // Re-reads every second, from the database (no read model to answer them from memory): the
    // outage falls on many of them.
    const t = await startScopedTestApp({
      DATABASE_URL: proxied.toString(),
      SUBSCRIPTION_RESYNC_MS: '1000',
      READ_MODEL_MAX_ENTRIES: '0',
    });
    const checkout = await createSmart(t, { productUrl: 'https://shop.example/item?sandbox_after_polls=1' });
    const streams = [0, 1, 2].map(() =>
      recordSubscription(scopedWsClient(t.url, t.keys.a!), CheckoutStatusChangedDocument, { id: checkout.id }),
    );
    let sseEvents = 0;
    const sse = recordSse(
      t.url,
      t.keys.a!,
      CheckoutStatusChangedDocument,
      { id: checkout.id },
      {
        onEvent: () => (sseEvents += 1),
      },
    );
    // Every stream has sent its first event before the outage: the outage is to fall between events.
    await expect
      .poll(() => streams.every((stream) => stream.events.length === 1) && sseEvents === 1, { timeout: 10_000 })
      .toBe(true);

    await proxy.drop();
    const outageEnds = Date.now() + OUTAGE_MS;
    expect(await post(t, CheckoutsDocument, { first: 5 })).toEqual(UNAVAILABLE);
    expect(await post(t, CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-outage' } })).toEqual(
      UNAVAILABLE,
    );
    const health = await fetch(`${t.url}/health`);
    expect({ status: health.status, body: await health.json() }).toMatchObject({
      status: 503,
      body: { status: 'unavailable' },
    });
    const overWs = recordSubscription(scopedWsClient(t.url, t.keys.a!), CheckoutsDocument, { first: 5 });
    await overWs.done;
    expect(overWs.errors?.[0]?.extensions?.code ?? overWs.events).toBe('SERVICE_UNAVAILABLE');
    await pause(Math.max(0, outageEnds - Date.now()));
    expect(streams.map((stream) => stream.completed)).toEqual([false, false, false]);

    await proxy.restore();
    // The pool reconnects on its next statement.
    await expect
      .poll(async () => (await t.request(RefreshCheckoutDocument, { id: checkout.id })).data?.refreshCheckout, {
        timeout: 15_000,
        interval: 500,
      })
      .toMatchObject({ __typename: 'RefreshCheckoutSuccess', checkout: { status: 'COMPLETED' } });
    for (const stream of streams) {
      await stream.done;
      expect(stream.errors).toBeUndefined();
      expect(stream.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['PROCESSING', 'COMPLETED']);
    }
    const overSse = await sse;
    expect(overSse.completed).toBe(true);
    expect(overSse.events.map((event) => event.data?.checkoutStatusChanged.status)).toEqual([
      'PROCESSING',
      'COMPLETED',
    ]);
    expectType(
      (await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-after' } })).data
        ?.createPayerVaultCheckout,
      'CreatePayerVaultCheckoutSuccess',
    );
    await t.stop();
    await database.drop();
  });
});
