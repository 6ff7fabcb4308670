import { describe, expect, it } from 'vitest';
import { CheckoutDocument, CheckoutStatusChangedDocument, CreateSmartCheckoutDocument } from './generated/graphql.js';
import { expectType, useTestApp } from './support/app.js';
import { metricSample } from './support/metrics.js';
import { recordSse, recordSubscription, scopedWsClient } from './support/subscriptions.js';

describe('/metrics', () => {
  const t = useTestApp({
    POLLER: 'on',
    POLL_INTERVAL_MS: '100',
    POLL_MAX_INTERVAL_MS: '200',
    SMARTCHECKOUT_API_KEY: 'sk-metrics-secret-123',
  });

  it('reports GraphQL operations, polls, provider latency, breaker states and the backlog, and no secret', async () => {
    const created = await t.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/m?sandbox_after_polls=2', email: 'a@b.co' },
    });
    const checkout = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    await expect
      .poll(async () => (await t.request(CheckoutDocument, { id: checkout.id })).data?.checkout?.status, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('COMPLETED');

    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();

    expect(metricSample(text, 'graphql_envelop_request_duration_count', { operationName: 'CreateSmartCheckout' })).toBe(
      1,
    );
    expect(metricSample(text, 'checkout_poller_polls_total', { provider: 'SMARTCHECKOUT', outcome: 'unchanged' })).toBe(
      1,
    );
    expect(metricSample(text, 'checkout_poller_polls_total', { provider: 'SMARTCHECKOUT', outcome: 'changed' })).toBe(
      1,
    );
    expect(metricSample(text, 'checkout_poller_schedule_lag_seconds_count')).toBe(2);
    expect(
      metricSample(text, 'checkout_provider_request_duration_seconds_count', {
        provider: 'SMARTCHECKOUT',
        method: 'POST',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      metricSample(text, 'checkout_provider_request_duration_seconds_count', {
        provider: 'SMARTCHECKOUT',
        method: 'GET',
        outcome: 'ok',
      }),
    ).toBe(2);
    for (const provider of ['SMARTCHECKOUT', 'PAYERVAULT', 'STAN']) {
      expect(metricSample(text, 'checkout_provider_breaker_state', { provider })).toBe(0);
    }
    expect(metricSample(text, 'checkout_poller_due_backlog')).toBe(0);
    expect(metricSample(text, 'checkout_websocket_clients')).toBe(0);

    for (const secret of [t.keys.a!, t.keys.b!, 'sk-metrics-secret-123']) expect(text).not.toContain(secret);
  });

  it('counts open subscriptions over WebSocket and SSE, and back to 0 when they end', async () => {
    const scrape = async () => await (await fetch(`${t.url}/metrics`)).text();
    // Held PROCESSING until the sandbox has been polled 50 times: the streams stay open while we look.
    const created = await t.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/m?sandbox_after_polls=50', email: 'a@b.co' },
    });
    const checkout = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    const client = scopedWsClient(t.url, t.keys.a!);
    const overWs = [
      recordSubscription(client, CheckoutStatusChangedDocument, { id: checkout.id }),
      recordSubscription(client, CheckoutStatusChangedDocument, { id: checkout.id }),
    ];
    const sseAbort = new AbortController();
    const overSse = recordSse(
      t.url,
      t.keys.a!,
      CheckoutStatusChangedDocument,
      { id: checkout.id },
      { signal: sseAbort.signal },
    ).catch(() => undefined);
    await expect
      .poll(async () => metricSample(await scrape(), 'checkout_open_subscriptions'), { timeout: 5_000, interval: 50 })
      .toBe(3);
    expect(metricSample(await scrape(), 'checkout_websocket_clients')).toBe(1);

    for (const recording of overWs) recording.dispose();
    sseAbort.abort();
    await overSse;
    // Closed here, not only when the test ends: the gauges below must see it gone.
    await client.dispose();
    await expect
      .poll(async () => metricSample(await scrape(), 'checkout_open_subscriptions'), { timeout: 5_000, interval: 50 })
      .toBe(0);
    await expect
      .poll(async () => metricSample(await scrape(), 'checkout_websocket_clients'), { timeout: 5_000, interval: 50 })
      .toBe(0);
  });

  it('logs every provider call with the request id of the request or poll that made it', async () => {
    const requestId = 'storefront-req-42';
    const created = await t.request(
      CreateSmartCheckoutDocument,
      { input: { productUrl: 'https://shop.example/m?sandbox_after_polls=1', email: 'a@b.co' } },
      { headers: { 'x-request-id': requestId } },
    );
    const checkout = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    await expect
      .poll(async () => (await t.request(CheckoutDocument, { id: checkout.id })).data?.checkout?.status, {
        timeout: 10_000,
        interval: 100,
      })
      .toBe('COMPLETED');
    const providerCalls = t.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'provider call');
    // The create's POST carries the client's id; the poller's GET carries the id of its poll,
    // which is also on that poll's "status changed" line.
    expect(providerCalls).toContainEqual(
      expect.objectContaining({ requestId, provider: 'SMARTCHECKOUT', method: 'POST', outcome: 'ok' }),
    );
    const changedLine = t.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .findLast((line) => line.msg === 'status changed' && line.to === 'COMPLETED');
    expect(changedLine?.requestId).toMatch(/^poll:/);
    expect(providerCalls).toContainEqual(
      expect.objectContaining({
        requestId: changedLine!.requestId,
        provider: 'SMARTCHECKOUT',
        method: 'GET',
        outcome: 'ok',
      }),
    );
  });
});
