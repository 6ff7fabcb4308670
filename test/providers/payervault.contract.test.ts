import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EmptyCartError, ProviderError, ValidationError } from '../../src/domain/errors.js';
import { PayerVaultAdapter } from '../../src/providers/payervault/adapter.js';
import { PayerVaultClient } from '../../src/providers/payervault/client.js';
import { providerErrorOf, rejectionOf } from '../support/errors.js';
import { closedOrigin } from '../support/net.js';
import { startRecordingServer, type CannedResponse } from '../support/recording-server.js';

// PayerVault's documented sample request and answers ("Sample Usage"), verbatim.
const DOC_SAMPLE = {
  accessKey: 'your-access-key',
  accessSecret: 'your-access-secret',
  customerId: 'customer-id-123',
  requestLine: 'GET /api/v1/checkout-link/customer-id-123',
  successBody: { url: '<https://<url>/checkout/customer-id-123>' },
  errorBody: { message: 'No products in cart' },
};
// The sample's `<url>` is a placeholder for PayerVault's host; everything else is kept.
const SAMPLE_SUCCESS_BODY = { url: DOC_SAMPLE.successBody.url.replace('<url>', 'merchant.payervault.com') };
const DEFAULT_RESPONSE: CannedResponse = { status: 200, body: { url: 'https://pay.example/checkout/x' } };

let canned: CannedResponse = DEFAULT_RESPONSE;
let server: Awaited<ReturnType<typeof startRecordingServer>>;

beforeAll(async () => {
  server = await startRecordingServer(() => canned);
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.requests.length = 0;
  canned = DEFAULT_RESPONSE;
});

function payerVaultClient(overrides: { baseUrl?: string; timeoutMs?: number } = {}): PayerVaultClient {
  return new PayerVaultClient({
    baseUrl: overrides.baseUrl ?? server.url,
    timeoutMs: overrides.timeoutMs ?? 2000,
    accessKey: DOC_SAMPLE.accessKey,
    accessSecret: DOC_SAMPLE.accessSecret,
  });
}

async function providerFailure(response: CannedResponse, options?: { timeoutMs?: number }): Promise<ProviderError> {
  canned = response;
  const providerError = await providerErrorOf(payerVaultClient(options).getCheckoutLink('customer-id-123'));
  expect(providerError.provider).toBe('PAYERVAULT');
  expect(providerError.message).not.toContain(DOC_SAMPLE.accessSecret);
  expect(providerError.message).not.toContain(DOC_SAMPLE.accessKey);
  return providerError;
}

describe('PayerVault client: the request on the wire', () => {
  it('sends the documented sample request exactly', async () => {
    canned = { status: 200, body: SAMPLE_SUCCESS_BODY };
    await payerVaultClient().getCheckoutLink(DOC_SAMPLE.customerId);

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(`${request.method} ${request.path}`).toBe(DOC_SAMPLE.requestLine);
    expect(request.headers.accesskey).toBe('your-access-key');
    expect(request.headers.accesssecret).toBe('your-access-secret');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers['content-type']).toBeUndefined();
    expect(request.headers.accept).toBe('application/json');
    expect(request.body).toBe('');
  });

  it('URL-encodes the customer id as one path segment', async () => {
    await payerVaultClient().getCheckoutLink('a/b c');
    await payerVaultClient().getCheckoutLink('é?#&=%.');
    expect(server.requests.map((r) => r.path)).toEqual([
      '/api/v1/checkout-link/a%2Fb%20c',
      '/api/v1/checkout-link/%C3%A9%3F%23%26%3D%25.',
    ]);
  });

  it('appends the documented path to a base URL with a trailing slash without doubling it', async () => {
    await payerVaultClient({ baseUrl: `${server.url}/` }).getCheckoutLink('c1');
    expect(server.requests[0]!.path).toBe('/api/v1/checkout-link/c1');
  });

  it.each([[''], ['.'], ['..']])(
    'refuses the customer id %j, which cannot be one path segment, without calling PayerVault',
    async (id) => {
      const error = await rejectionOf(payerVaultClient().getCheckoutLink(id));
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).fieldErrors[0]!.path).toEqual(['customerId']);
      expect(server.requests).toHaveLength(0);
    },
  );
});

describe('PayerVault client: the 200 answer', () => {
  it('strips the markdown angle brackets of the documented sample response', async () => {
    canned = { status: 200, body: SAMPLE_SUCCESS_BODY };
    expect(SAMPLE_SUCCESS_BODY.url).toBe('<https://merchant.payervault.com/checkout/customer-id-123>');
    await expect(payerVaultClient().getCheckoutLink('customer-id-123')).resolves.toEqual({
      url: 'https://merchant.payervault.com/checkout/customer-id-123',
    });
  });

  it('accepts a plain URL and ignores undocumented fields', async () => {
    canned = { status: 200, body: { url: 'http://127.0.0.1:9/checkout/a%2Fb', expires_at: null, live: true } };
    await expect(payerVaultClient().getCheckoutLink('a/b')).resolves.toEqual({
      url: 'http://127.0.0.1:9/checkout/a%2Fb',
    });
  });

  it.each<[string, unknown]>([
    ['no url', {}],
    ['a null url', { url: null }],
    ['an empty url', { url: '' }],
    ['only angle brackets', { url: '<>' }],
    ['a relative url', { url: '/checkout/customer-id-123' }],
    ['a javascript: url', { url: 'javascript:alert(1)' }],
    ['a number', { url: 42 }],
    ["the sample's unfilled <url> placeholder", DOC_SAMPLE.successBody],
    ['an array body', [{ url: 'https://x.example' }]],
  ])('rejects a 200 with %s as a non-retryable ProviderError', async (_name, body) => {
    const error = await providerFailure({ status: 200, body });
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(200);
  });

  it('rejects a 200 with malformed JSON as a non-retryable ProviderError', async () => {
    const error = await providerFailure({ status: 200, rawBody: '{"url": "https://x.example' });
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(200);
    expect(error.message).toMatch(/without a JSON body/);
  });

  it('rejects a 200 with no body as a non-retryable ProviderError', async () => {
    const error = await providerFailure({ status: 200 });
    expect(error.retryable).toBe(false);
    expect(error.httpStatus).toBe(200);
  });
});

describe('PayerVault client: failures', () => {
  it('maps the documented 404 sample to EmptyCartError with the provider message', async () => {
    canned = { status: 404, body: DOC_SAMPLE.errorBody };
    const error = await rejectionOf(payerVaultClient().getCheckoutLink('cust 1'));
    expect(error).toBeInstanceOf(EmptyCartError);
    expect(error).toMatchObject({ code: 'EMPTY_CART', customerId: 'cust 1', providerMessage: 'No products in cart' });
  });

  it('maps a 404 with a JSON body without a message to EmptyCartError with no message', async () => {
    canned = { status: 404, body: {} };
    const error = await rejectionOf(payerVaultClient().getCheckoutLink('c2'));
    expect(error).toBeInstanceOf(EmptyCartError);
    expect(error).toMatchObject({ customerId: 'c2', providerMessage: null });
  });

  it('does not report a 404 that is not PayerVault JSON (wrong base URL, proxy page) as an empty cart', async () => {
    const html = await providerFailure({
      status: 404,
      rawBody: '<html>Not Found</html>',
      headers: { 'content-type': 'text/html' },
    });
    expect(html).toMatchObject({ retryable: false, httpStatus: 404 });
    const empty = await providerFailure({ status: 404 });
    expect(empty).toMatchObject({ retryable: false, httpStatus: 404 });
  });

  it('maps the documented 500 to a retryable ProviderError keeping the message', async () => {
    const error = await providerFailure({ status: 500, body: { message: 'Internal Server Error' } });
    expect(error).toMatchObject({ retryable: true, httpStatus: 500, providerMessage: 'Internal Server Error' });
  });

  it.each([[502], [503], [504]])('maps HTTP %i to a retryable ProviderError', async (status) => {
    const error = await providerFailure({ status, rawBody: 'upstream down' });
    expect(error).toMatchObject({ retryable: true, httpStatus: status, providerMessage: null });
  });

  it('maps 429 to a retryable ProviderError', async () => {
    const error = await providerFailure({ status: 429, body: { message: 'Too many requests' } });
    expect(error).toMatchObject({ retryable: true, httpStatus: 429, providerMessage: 'Too many requests' });
  });

  it.each([[400], [401], [403], [405], [422]])('maps HTTP %i to a non-retryable ProviderError', async (status) => {
    const error = await providerFailure({ status, body: { message: 'nope' } });
    expect(error).toMatchObject({ retryable: false, httpStatus: status, providerMessage: 'nope' });
  });

  it('maps a timeout to a retryable ProviderError without a status', async () => {
    const error = await providerFailure(
      { status: 200, body: { url: 'https://x.example' }, delayMs: 300 },
      { timeoutMs: 50 },
    );
    expect(error).toMatchObject({ retryable: true, httpStatus: null });
    expect(error.message).toMatch(/did not answer within 50 ms/);
  });

  it('maps a refused connection to a retryable ProviderError without a status', async () => {
    const error = await rejectionOf(payerVaultClient({ baseUrl: await closedOrigin() }).getCheckoutLink('c1'));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'PAYERVAULT', retryable: true, httpStatus: null });
    expect((error as ProviderError).message).not.toContain(DOC_SAMPLE.accessSecret);
  });
});

describe('PayerVault adapter over the recorded contract', () => {
  it('maps the link to an OPEN snapshot with no provider id', async () => {
    canned = { status: 200, body: SAMPLE_SUCCESS_BODY };
    const adapter = new PayerVaultAdapter(payerVaultClient(), { testMode: false });
    expect(adapter.name).toBe('PAYERVAULT');
    expect('fetchStatus' in adapter).toBe(false);
    await expect(adapter.create({ customerId: 'customer-id-123' })).resolves.toEqual({
      providerCheckoutId: null,
      status: 'OPEN',
      checkoutUrl: 'https://merchant.payervault.com/checkout/customer-id-123',
      testMode: false,
      details: { customerId: 'customer-id-123' },
    });
    expect(server.requests[0]!.path).toBe('/api/v1/checkout-link/customer-id-123');
  });

  it('passes EmptyCartError through', async () => {
    canned = { status: 404, body: DOC_SAMPLE.errorBody };
    const adapter = new PayerVaultAdapter(payerVaultClient(), { testMode: true });
    await expect(adapter.create({ customerId: 'c9' })).rejects.toBeInstanceOf(EmptyCartError);
  });
});
