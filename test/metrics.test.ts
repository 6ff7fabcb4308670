import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckoutDocument, CreateSmartCheckoutDocument } from './generated/graphql.js';
import { expectType, startTestApp, type TestApp } from './support/app.js';

/** The value of one sample of the Prometheus text format, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ POLLER: 'on', POLL_INTERVAL_MS: '100', POLL_MAX_INTERVAL_MS: '200', SMARTCHECKOUT_API_KEY: 'sk-metrics-secret-123' });
  });
  afterAll(() => t?.stop());

  it('reports GraphQL operations, polls, provider latency, breaker states and the backlog, and no secret', async () => {
    const created = await t.request(CreateSmartCheckoutDocument, { input: { productUrl: 'https://shop.example/m?sandbox_after_polls=2', email: 'a@b.co' } });
    const checkout = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    await expect
      .poll(async () => (await t.request(CheckoutDocument, { id: checkout.id })).data?.checkout?.status, { timeout: 10_000, interval: 100 })
      .toBe('COMPLETED');

    const response = await fetch(`${t.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();

    expect(sample(text, 'graphql_envelop_request_duration_count', { operationName: 'CreateSmartCheckout' })).toBe(1);
    expect(sample(text, 'checkout_poller_polls_total', { provider: 'SMARTCHECKOUT', outcome: 'unchanged' })).toBe(1);
    expect(sample(text, 'checkout_poller_polls_total', { provider: 'SMARTCHECKOUT', outcome: 'changed' })).toBe(1);
    expect(sample(text, 'checkout_poller_schedule_lag_seconds_count')).toBe(2);
    expect(sample(text, 'checkout_provider_request_duration_seconds_count', { provider: 'SMARTCHECKOUT', method: 'POST', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'checkout_provider_request_duration_seconds_count', { provider: 'SMARTCHECKOUT', method: 'GET', outcome: 'ok' })).toBe(2);
    for (const provider of ['SMARTCHECKOUT', 'PAYERVAULT', 'STAN']) {
      expect(sample(text, 'checkout_provider_breaker_state', { provider })).toBe(0);
    }
    expect(sample(text, 'checkout_poller_due_backlog')).toBe(0);
    expect(sample(text, 'checkout_websocket_clients')).toBe(0);

    for (const secret of [t.keys.a!, t.keys.b!, 'sk-metrics-secret-123']) expect(text).not.toContain(secret);
  });
});
