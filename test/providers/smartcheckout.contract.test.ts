import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ProviderError, ValidationError } from '../../src/domain/errors.js';
import { SmartcheckoutAdapter } from '../../src/providers/smartcheckout/adapter.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { SmartcheckoutClient } from '../../src/providers/smartcheckout/client.js';
import { providerErrorOf } from '../support/errors.js';
import { closedOrigin } from '../support/net.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from '../support/recording-server.js';

const API_KEY = 'sk_test_contract_123';
const DOC_CHECKOUT_ID = 'a8043a0d-bb94-4d26-aa9f-8ca02ad146fd';

// The examples of Smartcheckout's API documentation, verbatim.
const DOC_CREATE_BODY = {
  url: 'https://example-store.com/product/item',
  user_data: { email: 'test@example.com', prompt: 'Size Large, Color Blue' },
};
const DOC_CREATE_RESPONSE = { checkout_id: DOC_CHECKOUT_ID, status: 'processing' };
const DOC_DETAILS_RESPONSE = {
  id: DOC_CHECKOUT_ID,
  status: 'completed',
  amount_str: '49.99',
  currency: 'USD',
  notes: '',
};

let respond: (request: RecordedRequest) => CannedResponse = () => ({ status: 500 });
let server: Awaited<ReturnType<typeof startRecordingServer>>;

function smartcheckoutClient(overrides: { baseUrl?: string; timeoutMs?: number } = {}) {
  return new SmartcheckoutClient({ baseUrl: server.url, timeoutMs: 2000, apiKey: API_KEY, ...overrides });
}
function adapter(overrides: { baseUrl?: string; timeoutMs?: number } = {}) {
  return new SmartcheckoutAdapter(smartcheckoutClient(overrides), { testMode: false });
}
/** The ProviderError of a Smartcheckout call, which must not carry the API key. */
async function smartcheckoutErrorOf(promise: Promise<unknown>): Promise<ProviderError> {
  const providerError = await providerErrorOf(promise);
  expect(providerError.provider).toBe('SMARTCHECKOUT');
  expect(providerError.message).not.toContain(API_KEY);
  return providerError;
}

beforeAll(async () => {
  server = await startRecordingServer((request) => respond(request));
});
afterAll(() => server.close());
afterEach(() => {
  server.requests.length = 0;
});

describe('Smartcheckout request shapes', () => {
  it('sends the documented create request, byte-compatible with the seed example', async () => {
    respond = () => ({ status: 200, body: DOC_CREATE_RESPONSE });
    const snapshot = await adapter().create({
      productUrl: DOC_CREATE_BODY.url,
      email: DOC_CREATE_BODY.user_data.email,
      prompt: DOC_CREATE_BODY.user_data.prompt,
    });

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe('/v0/checkout');
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toStrictEqual(DOC_CREATE_BODY);

    expect(snapshot).toStrictEqual({
      providerCheckoutId: DOC_CHECKOUT_ID,
      status: 'PROCESSING',
      notes: null,
      testMode: false,
      merchant: { key: 'https://example-store.com', name: 'example-store.com', website: 'https://example-store.com' },
      lineItems: [{ productUrl: DOC_CREATE_BODY.url, quantity: 1 }],
    });
  });

  it('puts the shipping address in snake_case, omits empty keys, and lets explicit fields win over userData', async () => {
    respond = () => ({ status: 200, body: DOC_CREATE_RESPONSE });
    const productUrl = 'http://www.shop.test:8080/p/42?color=red';
    const snapshot = await new SmartcheckoutAdapter(smartcheckoutClient(), { testMode: true }).create({
      productUrl,
      email: 'buyer@example.com',
      prompt: null,
      shippingAddress: {
        name: 'Ada Lovelace',
        line1: '1 Main St',
        line2: null,
        city: 'Springfield',
        postalCode: '12345',
        state: undefined,
        country: 'US',
        phone: '+1 555 0100',
      },
      userData: { email: 'spoofed@example.com', shipping_address: 'ignored', gift_wrap: true, notes: { a: 1 } },
    });

    expect(JSON.parse(server.requests[0]!.body)).toStrictEqual({
      url: productUrl,
      user_data: {
        email: 'buyer@example.com',
        gift_wrap: true,
        notes: { a: 1 },
        shipping_address: {
          name: 'Ada Lovelace',
          line1: '1 Main St',
          city: 'Springfield',
          postal_code: '12345',
          country: 'US',
          phone: '+1 555 0100',
        },
      },
    });
    expect(snapshot.testMode).toBe(true);
    expect(snapshot.merchant).toStrictEqual({
      key: 'http://www.shop.test:8080',
      name: 'www.shop.test',
      website: 'http://www.shop.test:8080',
    });
    expect(snapshot.lineItems).toStrictEqual([{ productUrl, quantity: 1 }]);
  });

  it('keeps userData prompt and shipping_address when no explicit value is given', async () => {
    respond = () => ({ status: 200, body: DOC_CREATE_RESPONSE });
    await adapter().create({
      productUrl: 'https://shop.test/p',
      email: 'buyer@example.com',
      userData: { prompt: 'from userData', shipping_address: { line1: 'x' } },
    });
    expect(JSON.parse(server.requests[0]!.body).user_data).toStrictEqual({
      prompt: 'from userData',
      shipping_address: { line1: 'x' },
      email: 'buyer@example.com',
    });
  });

  it('rejects a product URL that is not absolute http(s) before calling the provider', async () => {
    for (const productUrl of ['/relative/path', 'ftp://shop.test/p', 'not a url', ' https://shop.test/p']) {
      const error = await adapter()
        .create({ productUrl, email: 'buyer@example.com' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fieldErrors[0]!.path).toStrictEqual(['input', 'productUrl']);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('sends the documented GET for checkout details and maps the seed example', async () => {
    respond = () => ({ status: 200, body: DOC_DETAILS_RESPONSE });
    const snapshot = await adapter().fetchStatus(DOC_CHECKOUT_ID);

    const [request] = server.requests;
    expect(request!.method).toBe('GET');
    expect(request!.path).toBe(`/v0/checkout/${DOC_CHECKOUT_ID}`);
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toBeUndefined();
    expect(request!.body).toBe('');
    expect(snapshot).toStrictEqual({ status: 'COMPLETED', notes: null, currency: 'USD', total: 4999 });
  });

  it('URL-encodes the checkout id in the path', async () => {
    respond = () => ({ status: 200, body: { status: 'processing' } });
    await smartcheckoutClient().getCheckout('a/b c?d#e%');
    expect(server.requests[0]!.path).toBe('/v0/checkout/a%2Fb%20c%3Fd%23e%25');
  });

  it('appends the documented path to a base URL with a trailing slash', async () => {
    respond = () => ({ status: 200, body: DOC_CREATE_RESPONSE });
    await smartcheckoutClient({ baseUrl: `${server.url}/` }).createCheckout(DOC_CREATE_BODY);
    expect(server.requests[0]!.path).toBe('/v0/checkout');
  });

  it('refuses, at configuration, an API key that fetch would quote in an error message, without echoing it', () => {
    const base = { SMARTCHECKOUT_BASE_URL: server.url };
    expect(() => loadConfig({ ...base, SMARTCHECKOUT_API_KEY: 'sk\nsecret' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SMARTCHECKOUT_API_KEY: 'sk\nsecret' })).toThrow(
      'SMARTCHECKOUT_API_KEY must contain only visible ASCII characters',
    );
    expect(() => loadConfig({ ...base, SMARTCHECKOUT_API_KEY: 'sk\u00e9secret' })).toThrow(/visible ASCII/);
    expect(() => loadConfig({ ...base, SMARTCHECKOUT_API_KEY: '' })).toThrow(
      'SMARTCHECKOUT_API_KEY is required when SMARTCHECKOUT_BASE_URL is set',
    );
    try {
      loadConfig({ ...base, SMARTCHECKOUT_API_KEY: 'sk\nsecret' });
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });
});

describe('Smartcheckout status responses', () => {
  it('accepts amount_str, currency and notes absent, null or empty while processing', async () => {
    const bodies = [
      { id: DOC_CHECKOUT_ID, status: 'processing' },
      { id: DOC_CHECKOUT_ID, status: 'processing', amount_str: null, currency: null, notes: null },
      { id: DOC_CHECKOUT_ID, status: 'processing', amount_str: '', currency: '', notes: '' },
      { status: 'processing', extra_field: 1 },
    ];
    for (const body of bodies) {
      respond = () => ({ status: 200, body });
      expect(await adapter().fetchStatus(DOC_CHECKOUT_ID)).toStrictEqual({ status: 'PROCESSING', notes: null });
    }
  });

  it('maps failed with its notes and no total', async () => {
    respond = () => ({
      status: 200,
      body: { id: DOC_CHECKOUT_ID, status: 'failed', amount_str: null, currency: null, notes: 'Out of stock' },
    });
    expect(await adapter().fetchStatus(DOC_CHECKOUT_ID)).toStrictEqual({ status: 'FAILED', notes: 'Out of stock' });
  });

  it('maps an undocumented status to UNKNOWN with a note naming it', async () => {
    respond = () => ({ status: 200, body: { id: DOC_CHECKOUT_ID, status: 'refunded', notes: 'customer refund' } });
    const snapshot = await adapter().fetchStatus(DOC_CHECKOUT_ID);
    expect(snapshot.status).toBe('UNKNOWN');
    expect(snapshot.notes).toContain('"refunded"');
    expect(snapshot.notes).toContain('customer refund');

    respond = () => ({ status: 200, body: { checkout_id: DOC_CHECKOUT_ID, status: 'queued' } });
    const created = await adapter().create({ productUrl: 'https://shop.test/p', email: 'a@b.c' });
    expect(created.status).toBe('UNKNOWN');
    expect(created.notes).toContain('"queued"');
  });

  it('does not treat inherited object keys as statuses', async () => {
    respond = () => ({ status: 200, body: { status: 'constructor' } });
    expect((await adapter().fetchStatus(DOC_CHECKOUT_ID)).status).toBe('UNKNOWN');
  });

  it('parses amounts exactly in the currency minor unit and normalises the currency', async () => {
    const cases: Array<[string, string, string, number]> = [
      ['49.99', 'USD', 'USD', 4999],
      ['1000', 'jpy', 'JPY', 1000],
      ['1.005', 'KWD', 'KWD', 1005],
      ['0.1', 'EUR', 'EUR', 10],
      ['19.990', ' usd ', 'USD', 1999],
      ['25000000.00', 'IDR', 'IDR', 2_500_000_000],
      ['90071992547409.91', 'USD', 'USD', Number.MAX_SAFE_INTEGER],
    ];
    for (const [amount_str, currency, normalised, total] of cases) {
      respond = () => ({
        status: 200,
        body: { id: DOC_CHECKOUT_ID, status: 'completed', amount_str, currency, notes: '' },
      });
      const snapshot = await adapter().fetchStatus(DOC_CHECKOUT_ID);
      expect(snapshot.currency).toBe(normalised);
      expect(snapshot.total).toBe(total);
    }
  });

  it('keeps amounts beyond 32 bits exactly: 25,000,000.00 IDR is 2,500,000,000 minor units', async () => {
    respond = () => ({
      status: 200,
      body: { id: DOC_CHECKOUT_ID, status: 'completed', amount_str: '25000000.00', currency: 'IDR', notes: '' },
    });
    expect(await adapter().fetchStatus(DOC_CHECKOUT_ID)).toStrictEqual({
      status: 'COMPLETED',
      currency: 'IDR',
      total: 2_500_000_000,
      notes: null,
    });
  });

  it('keeps a currency given without an amount and leaves the total as it was', async () => {
    respond = () => ({ status: 200, body: { status: 'completed', amount_str: null, currency: 'usd' } });
    expect(await adapter().fetchStatus(DOC_CHECKOUT_ID)).toStrictEqual({
      status: 'COMPLETED',
      currency: 'USD',
      notes: null,
    });
  });

  it.each([
    ['49.999', 'USD', /more decimal places than USD allows \(2\)/, 'USD'],
    ['1e3', 'USD', /not a decimal amount/, 'USD'],
    ['-5.00', 'USD', /not a decimal amount/, 'USD'],
    ['12.5', 'JPY', /more decimal places than JPY allows \(0\)/, 'JPY'],
    ['49.99', 'DOLLARS', /not an ISO 4217 currency code/, null],
    ['49.99', 'XAU', /no minor unit in ISO 4217/, null],
    ['49.99', 'ZZZ', /"ZZZ" is not an ISO 4217 currency/, null],
    ['999999999999999999', 'USD', /larger than the largest supported amount/, 'USD'],
    ['49.99', null, /came without a currency/, undefined],
  ])(
    'records the completed status when amount_str %j %j cannot be read: total null, reason in notes and unreadable',
    async (amount_str, currency, reason, storedCurrency) => {
      respond = () => ({
        status: 200,
        body: { id: DOC_CHECKOUT_ID, status: 'completed', amount_str, currency, notes: 'Order #123' },
      });
      const snapshot = await adapter().fetchStatus(DOC_CHECKOUT_ID);
      expect(snapshot.status).toBe('COMPLETED');
      expect(snapshot.total ?? null).toBeNull();
      expect(snapshot.currency).toBe(storedCurrency);
      expect(snapshot.unreadable).toEqual([expect.stringMatching(reason)]);
      // The provider's own notes stay first; ours says what was left out and why.
      expect(snapshot.notes).toMatch(
        /^Order #123\. Smartcheckout's amount could not be read exactly \(.+\); the total is left empty$/,
      );
      expect(snapshot.notes).toMatch(reason);
    },
  );

  it('rejects an answer about another checkout', async () => {
    respond = () => ({ status: 200, body: { ...DOC_DETAILS_RESPONSE, id: 'another-checkout' } });
    const error = await smartcheckoutErrorOf(smartcheckoutClient().getCheckout(DOC_CHECKOUT_ID));
    expect(error.retryable).toBe(false);
    // An id differing only in case is the same UUID.
    respond = () => ({ status: 200, body: { ...DOC_DETAILS_RESPONSE, id: DOC_CHECKOUT_ID.toUpperCase() } });
    expect((await smartcheckoutClient().getCheckout(DOC_CHECKOUT_ID)).status).toBe('completed');
  });

  it('refuses an empty checkout id without a request', async () => {
    const error = await smartcheckoutErrorOf(smartcheckoutClient().getCheckout(''));
    expect(error.retryable).toBe(false);
    expect(error.delivery).toBe('no');
    expect(server.requests).toHaveLength(0);
  });
});

describe('Smartcheckout failure mapping', () => {
  const statusCases: Array<{ status: number; retryable: boolean; body?: unknown }> = [
    { status: 400, retryable: false, body: { message: 'url is required' } },
    { status: 401, retryable: false, body: { message: 'Invalid API key' } },
    { status: 403, retryable: false },
    { status: 404, retryable: false, body: { message: 'Checkout not found' } },
    { status: 408, retryable: true },
    { status: 422, retryable: false, body: { detail: 'user_data.email missing' } },
    { status: 429, retryable: true, body: { message: 'slow down' } },
    { status: 500, retryable: true },
    { status: 502, retryable: true, body: { message: 'bad gateway' } },
    { status: 503, retryable: true },
  ];

  for (const { status, retryable, body } of statusCases) {
    it(`maps HTTP ${status} on create and on status to retryable=${retryable}`, async () => {
      respond = () => ({ status, body });
      const createError = await smartcheckoutErrorOf(smartcheckoutClient().createCheckout(DOC_CREATE_BODY));
      const getError = await smartcheckoutErrorOf(adapter().fetchStatus(DOC_CHECKOUT_ID));
      for (const error of [createError, getError]) {
        expect(error.retryable).toBe(retryable);
        expect(error.httpStatus).toBe(status);
        const message =
          (body as { message?: string; detail?: string } | undefined)?.message ??
          (body as { detail?: string } | undefined)?.detail;
        expect(error.providerMessage).toBe(message ?? null);
        expect(error.delivery).toBe('yes');
      }
    });
  }

  it('times out as a retryable ProviderError without an HTTP status', async () => {
    respond = () => ({ status: 200, body: DOC_CREATE_RESPONSE, delayMs: 400 });
    for (const call of [
      () => smartcheckoutClient({ timeoutMs: 50 }).createCheckout(DOC_CREATE_BODY),
      () => smartcheckoutClient({ timeoutMs: 50 }).getCheckout(DOC_CHECKOUT_ID),
    ]) {
      const error = await smartcheckoutErrorOf(call());
      expect(error.retryable).toBe(true);
      expect(error.httpStatus).toBeNull();
      expect(error.message).toMatch(/did not answer within 50 ms/);
      expect(error.delivery).toBe('maybe');
    }
  });

  it('maps a refused connection to a retryable ProviderError', async () => {
    const baseUrl = await closedOrigin();
    for (const call of [
      () => smartcheckoutClient({ baseUrl }).createCheckout(DOC_CREATE_BODY),
      () => smartcheckoutClient({ baseUrl }).getCheckout(DOC_CHECKOUT_ID),
    ]) {
      const error = await smartcheckoutErrorOf(call());
      expect(error.retryable).toBe(true);
      expect(error.httpStatus).toBeNull();
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(error.delivery).toBe('no');
    }
  });

  it('maps a 200 with malformed JSON or no body to a non-retryable ProviderError', async () => {
    for (const canned of [
      { status: 200, rawBody: '{"checkout_id": "abc", ' },
      { status: 200, rawBody: '<html>ok</html>' },
      { status: 200 },
    ]) {
      respond = () => canned;
      for (const call of [
        () => smartcheckoutClient().createCheckout(DOC_CREATE_BODY),
        () => smartcheckoutClient().getCheckout(DOC_CHECKOUT_ID),
      ]) {
        const error = await smartcheckoutErrorOf(call());
        expect(error.retryable).toBe(false);
        expect(error.httpStatus).toBe(200);
      }
    }
  });

  it('maps a 5xx with a malformed body to a retryable ProviderError', async () => {
    respond = () => ({ status: 503, rawBody: '<html>maintenance</html>' });
    const error = await smartcheckoutErrorOf(smartcheckoutClient().createCheckout(DOC_CREATE_BODY));
    expect(error.retryable).toBe(true);
    expect(error.httpStatus).toBe(503);
  });

  it('maps a 200 missing required fields to a non-retryable ProviderError naming the field', async () => {
    const createBodies = [
      { status: 'processing' },
      { checkout_id: '', status: 'processing' },
      { checkout_id: 'x' },
      { checkout_id: 42, status: 'processing' },
      [],
    ];
    for (const body of createBodies) {
      respond = () => ({ status: 200, body });
      const error = await smartcheckoutErrorOf(smartcheckoutClient().createCheckout(DOC_CREATE_BODY));
      expect(error.retryable).toBe(false);
      expect(error.httpStatus).toBe(200);
    }
    respond = () => ({ status: 200, body: { checkout_id: DOC_CHECKOUT_ID } });
    expect((await smartcheckoutErrorOf(smartcheckoutClient().createCheckout(DOC_CREATE_BODY))).message).toContain(
      'status',
    );

    const detailBodies = [
      { id: DOC_CHECKOUT_ID },
      { id: DOC_CHECKOUT_ID, status: 'completed', amount_str: 49.99, currency: 'USD' },
      { status: null },
    ];
    for (const body of detailBodies) {
      respond = () => ({ status: 200, body });
      const error = await smartcheckoutErrorOf(adapter().fetchStatus(DOC_CHECKOUT_ID));
      expect(error.retryable).toBe(false);
      expect(error.httpStatus).toBe(200);
    }
  });
});
