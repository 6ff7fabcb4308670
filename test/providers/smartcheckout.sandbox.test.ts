import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { RunningSandbox } from '../../src/providers/sandbox-http.js';
import { SmartcheckoutAdapter } from '../../src/providers/smartcheckout/adapter.js';
import { SmartcheckoutClient } from '../../src/providers/smartcheckout/client.js';
import { startSmartcheckoutSandbox } from '../../src/providers/smartcheckout/sandbox.js';
import { providerErrorOf } from '../support/errors.js';

const API_KEY = 'sk_sandbox_key';
const OTHER_KEY = 'sk_other_account';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let sandbox: RunningSandbox;
let adapter: SmartcheckoutAdapter;
let client: SmartcheckoutClient;

beforeAll(async () => {
  sandbox = await startSmartcheckoutSandbox({ apiKey: [API_KEY, OTHER_KEY], port: 0 });
  client = new SmartcheckoutClient({ baseUrl: sandbox.url, timeoutMs: 2000, apiKey: API_KEY });
  adapter = new SmartcheckoutAdapter(client, { testMode: true });
});
afterAll(() => sandbox.close());

/** A request to the sandbox by path, as any HTTP client would send it. */
function sandboxFetch(path: string, init: RequestInit = {}) {
  return fetch(`${sandbox.url}${path}`, init);
}
/** A create POST with `body` as is and this Authorization header (none when null). */
function postCheckout(body: string, authorization: string | null = `Bearer ${API_KEY}`) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== null) headers.authorization = authorization;
  return sandboxFetch('/v0/checkout', { method: 'POST', headers, body });
}

describe('Smartcheckout sandbox over real HTTP', () => {
  it('runs the happy path: processing, then completed on the 2nd poll with the default amount', async () => {
    const created = await adapter.create({
      productUrl: 'https://store.test/item',
      email: 'buyer@example.com',
      prompt: 'Size L',
    });
    expect(created.providerCheckoutId).toMatch(UUID);
    expect(created.status).toBe('PROCESSING');
    expect(created.testMode).toBe(true);
    expect(created.merchant).toStrictEqual({
      key: 'https://store.test',
      name: 'store.test',
      website: 'https://store.test',
    });
    expect(created.lineItems).toStrictEqual([{ productUrl: 'https://store.test/item', quantity: 1 }]);

    const id = created.providerCheckoutId!;
    expect(await adapter.fetchStatus(id)).toStrictEqual({ status: 'PROCESSING', notes: null });
    expect(await adapter.fetchStatus(id)).toStrictEqual({
      status: 'COMPLETED',
      notes: null,
      currency: 'USD',
      total: 4999,
    });
    // Terminal: further polls keep the result.
    expect(await adapter.fetchStatus(id)).toStrictEqual({
      status: 'COMPLETED',
      notes: null,
      currency: 'USD',
      total: 4999,
    });
  });

  it('answers the documented body shapes', async () => {
    const createResponse = await postCheckout(
      JSON.stringify({ url: 'https://store.test/x', user_data: { email: 'a@b.c' } }),
    );
    expect(createResponse.status).toBe(200);
    expect(createResponse.headers.get('content-type')).toMatch(/^application\/json/);
    const created = (await createResponse.json()) as { checkout_id: string };
    expect(Object.keys(created).sort()).toStrictEqual(['checkout_id', 'status']);
    expect(created).toMatchObject({ status: 'processing' });

    const auth = { authorization: `Bearer ${API_KEY}` };
    const first = await (await sandboxFetch(`/v0/checkout/${created.checkout_id}`, { headers: auth })).json();
    expect(first).toStrictEqual({
      id: created.checkout_id,
      status: 'processing',
      amount_str: null,
      currency: null,
      notes: '',
    });
    const second = await (await sandboxFetch(`/v0/checkout/${created.checkout_id}`, { headers: auth })).json();
    expect(second).toStrictEqual({
      id: created.checkout_id,
      status: 'completed',
      amount_str: '49.99',
      currency: 'USD',
      notes: '',
    });
  });

  it('sandbox_outcome=failed fails with an explanatory note and no amount', async () => {
    const created = await adapter.create({
      productUrl: 'https://store.test/item?sandbox_outcome=failed',
      email: 'a@b.c',
    });
    const id = created.providerCheckoutId!;
    expect((await adapter.fetchStatus(id)).status).toBe('PROCESSING');
    const failed = await adapter.fetchStatus(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.notes).toMatch(/\S/);
    expect(failed.total).toBeUndefined();
    expect(failed.currency).toBeUndefined();
    const details = await client.getCheckout(id);
    expect(details.amount_str).toBeNull();
  });

  it('sandbox_outcome=completed is the explicit default', async () => {
    const created = await adapter.create({
      productUrl: 'https://store.test/item?sandbox_outcome=completed&sandbox_after_polls=1',
      email: 'a@b.c',
    });
    expect(await adapter.fetchStatus(created.providerCheckoutId!)).toMatchObject({ status: 'COMPLETED', total: 4999 });
  });

  it('sandbox_after_polls=N flips the status on the Nth GET', async () => {
    for (const n of [1, 4]) {
      const created = await adapter.create({
        productUrl: `https://store.test/item?sandbox_after_polls=${n}`,
        email: 'a@b.c',
      });
      const statuses: string[] = [];
      for (let poll = 1; poll <= n + 1; poll += 1)
        statuses.push((await adapter.fetchStatus(created.providerCheckoutId!)).status);
      expect(statuses).toStrictEqual([...Array<string>(n - 1).fill('PROCESSING'), 'COMPLETED', 'COMPLETED']);
    }
  });

  it('sandbox_amount and sandbox_currency set the completed total exactly', async () => {
    const cases: Array<[string, string, string, number]> = [
      ['1234.5', 'EUR', 'EUR', 123450],
      ['1000', 'JPY', 'JPY', 1000],
      ['1.005', 'kwd', 'KWD', 1005],
      ['25000000.00', 'IDR', 'IDR', 2_500_000_000],
    ];
    for (const [amount, currency, normalised, total] of cases) {
      const created = await adapter.create({
        productUrl: `https://store.test/item?sandbox_after_polls=1&sandbox_amount=${amount}&sandbox_currency=${currency}`,
        email: 'a@b.c',
      });
      expect(await adapter.fetchStatus(created.providerCheckoutId!)).toStrictEqual({
        status: 'COMPLETED',
        notes: null,
        currency: normalised,
        total,
      });
    }
  });

  it('passes an unrepresentable sandbox_amount through: the adapter records the status and leaves the total out', async () => {
    const created = await adapter.create({
      productUrl: 'https://store.test/item?sandbox_after_polls=1&sandbox_amount=49.999',
      email: 'a@b.c',
    });
    const snapshot = await adapter.fetchStatus(created.providerCheckoutId!);
    expect(snapshot).toMatchObject({
      status: 'COMPLETED',
      currency: 'USD',
      total: null,
      unreadable: [expect.stringContaining('"49.999"')],
    });
  });

  it('rejects invalid scenario controls with 400', async () => {
    for (const query of [
      'sandbox_outcome=maybe',
      'sandbox_after_polls=0',
      'sandbox_after_polls=two',
      'sandbox_amount=',
      'sandbox_currency=',
    ]) {
      const error = await providerErrorOf(
        adapter.create({ productUrl: `https://store.test/item?${query}`, email: 'a@b.c' }),
      );
      expect(error.httpStatus).toBe(400);
      expect(error.retryable).toBe(false);
      expect(error.providerMessage).toContain(query.split('=')[0]);
    }
  });

  it('rejects wrong or missing credentials with 401 on both endpoints', async () => {
    const created = await adapter.create({ productUrl: 'https://store.test/item', email: 'a@b.c' });
    const wrong = new SmartcheckoutClient({ baseUrl: sandbox.url, timeoutMs: 2000, apiKey: 'sk_wrong' });
    for (const call of [
      () => wrong.createCheckout({ url: 'https://store.test/item', user_data: { email: 'a@b.c' } }),
      () => wrong.getCheckout(created.providerCheckoutId!),
    ]) {
      const error = await providerErrorOf(call());
      expect(error.httpStatus).toBe(401);
      expect(error.retryable).toBe(false);
      expect(error.message).not.toContain('sk_wrong');
    }

    const body = JSON.stringify({ url: 'https://store.test/item', user_data: { email: 'a@b.c' } });
    for (const authorization of [
      null,
      API_KEY,
      `Basic ${API_KEY}`,
      `Bearer ${API_KEY}x`,
      'Bearer ',
      `Bearer ${API_KEY} extra`,
    ]) {
      const response = await postCheckout(body, authorization);
      expect(response.status).toBe(401);
      const json = (await response.json()) as { message: string };
      expect(json.message).toMatch(/\S/);
      expect(JSON.stringify(json)).not.toContain(API_KEY);
    }
    const get = await sandboxFetch(`/v0/checkout/${created.providerCheckoutId}`);
    expect(get.status).toBe(401);
    // The scheme name is case-insensitive (RFC 9110).
    expect((await postCheckout(body, `bearer ${API_KEY}`)).status).toBe(200);
  });

  it('rejects invalid bodies with 400 and a message', async () => {
    const bodies = [
      'not json',
      '',
      'null',
      '[]',
      JSON.stringify({ user_data: { email: 'a@b.c' } }),
      JSON.stringify({ url: '/relative', user_data: { email: 'a@b.c' } }),
      JSON.stringify({ url: 'ftp://store.test/x', user_data: { email: 'a@b.c' } }),
      JSON.stringify({ url: 42, user_data: { email: 'a@b.c' } }),
      JSON.stringify({ url: 'https://store.test/x' }),
      JSON.stringify({ url: 'https://store.test/x', user_data: 'a@b.c' }),
      JSON.stringify({ url: 'https://store.test/x', user_data: [] }),
      JSON.stringify({ url: 'https://store.test/x', user_data: {} }),
      JSON.stringify({ url: 'https://store.test/x', user_data: { email: 7 } }),
      JSON.stringify({ url: 'https://store.test/x', user_data: { email: '  ' } }),
    ];
    for (const body of bodies) {
      const response = await postCheckout(body);
      expect(response.status, body).toBe(400);
      expect(((await response.json()) as { message: string }).message).toMatch(/\S/);
    }
  });

  it("answers 404 for an unknown id and for another API key's checkout", async () => {
    const unknown = await providerErrorOf(adapter.fetchStatus('00000000-0000-4000-8000-000000000000'));
    expect(unknown.httpStatus).toBe(404);
    expect(unknown.retryable).toBe(false);
    expect(unknown.providerMessage).toBe('Checkout not found');

    const created = await adapter.create({ productUrl: 'https://store.test/item', email: 'a@b.c' });
    const other = new SmartcheckoutClient({ baseUrl: sandbox.url, timeoutMs: 2000, apiKey: OTHER_KEY });
    const foreign = await providerErrorOf(other.getCheckout(created.providerCheckoutId!));
    expect(foreign.httpStatus).toBe(404);
    expect(foreign.providerMessage).toBe('Checkout not found');
    // The foreign poll did not count: the owner still sees processing on its first poll.
    expect((await adapter.fetchStatus(created.providerCheckoutId!)).status).toBe('PROCESSING');
  });

  it('answers 404 for unknown paths and 405 for the wrong method', async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    expect((await sandboxFetch('/v1/checkout', { headers: auth })).status).toBe(404);
    expect((await sandboxFetch('/v0/checkout/a/b', { headers: auth })).status).toBe(404);
    const getCollection = await sandboxFetch('/v0/checkout', { headers: auth });
    expect(getCollection.status).toBe(405);
    expect(getCollection.headers.get('allow')).toBe('POST');
    const postItem = await sandboxFetch('/v0/checkout/abc', { method: 'POST', headers: auth, body: '{}' });
    expect(postItem.status).toBe(405);
    expect(postItem.headers.get('allow')).toBe('GET');
  });

  it('keeps state per sandbox instance', async () => {
    const created = await adapter.create({ productUrl: 'https://store.test/item', email: 'a@b.c' });
    const second = await startSmartcheckoutSandbox({ apiKey: API_KEY });
    onTestFinished(() => second.close());
    const secondClient = new SmartcheckoutClient({ baseUrl: second.url, timeoutMs: 2000, apiKey: API_KEY });
    expect((await providerErrorOf(secondClient.getCheckout(created.providerCheckoutId!))).httpStatus).toBe(404);
  });
});
