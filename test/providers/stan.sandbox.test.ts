import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { ProviderError } from '../../src/domain/errors.js';
import { computeStanTotals } from '../../src/providers/stan/totals.js';
import type { RunningSandbox } from '../../src/providers/sandbox-http.js';
import { StanAdapter, type StanCreateInput } from '../../src/providers/stan/adapter.js';
import { StanClient } from '../../src/providers/stan/client.js';
import { startStanSandbox } from '../../src/providers/stan/sandbox.js';

const CREDENTIALS = { clientId: 'sandbox-client', clientSecret: 'sandbox-secret' };
const AUTH = `Basic ${Buffer.from('sandbox-client:sandbox-secret').toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let sandbox: RunningSandbox;
let adapter: StanAdapter;

beforeAll(async () => {
  sandbox = await startStanSandbox({ ...CREDENTIALS, port: 0 });
  adapter = new StanAdapter(new StanClient({ baseUrl: sandbox.url, timeoutMs: 2000, ...CREDENTIALS }), {
    currency: 'EUR',
  });
});

afterAll(async () => {
  await sandbox.close();
});

/** Builds a create input the way the lead will: totals completed with computeStanTotals. */
function completed(input: Omit<StanCreateInput, 'subtotalAmount' | 'totalAmount'>): StanCreateInput {
  const totals = computeStanTotals(input);
  if (!totals.ok) throw new Error(JSON.stringify(totals.fieldErrors));
  return { ...input, taxCost: totals.tax, subtotalAmount: totals.subtotal, totalAmount: totals.total };
}

/** A raw request to the sandbox (a create POST unless told otherwise), with Basic auth unless `headers` replace it. */
async function stanRequest(
  body: unknown,
  headers: Record<string, string> = {},
  path = '/v1/checkouts',
  method = 'POST',
) {
  const response = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json', ...headers },
    body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

const VALID_BODY = {
  return_url: 'https://shop.example/return',
  line_items: [{ product_id: 'p1', quantity: 2, unit_price: 1500 }],
};

describe('Stan sandbox through the real client and adapter', () => {
  it('creates an open test-mode checkout with the fixed sandbox merchant and echoes the input', async () => {
    const input = completed({
      returnUrl: 'https://shop.example/return',
      lineItems: [
        {
          productId: 'sku-shoe',
          quantity: 2,
          unitPrice: 4999,
          discountAmount: 500,
          description: 'Shoe',
          sku: 'SHOE',
          imageUrl: 'https://i/s.png',
          productUrl: 'https://p/s',
        },
        { productId: 'sku-sock', quantity: 3, unitPrice: 333 },
      ],
      discountAmount: 1000,
      discountCode: 'WELCOME10',
      taxRate: 20,
      sessionId: 'cart-1',
      orderId: 'order-1',
    });
    expect(input).toMatchObject({ subtotalAmount: 10497, taxCost: 1899, totalAmount: 11396 });
    const snapshot = await adapter.create(input);
    expect(snapshot.providerCheckoutId).toMatch(UUID);
    expect(snapshot).toMatchObject({
      status: 'OPEN',
      currency: 'EUR',
      total: 11396,
      testMode: true,
      merchant: {
        key: 'https://sandbox.stan-app.fr',
        name: 'Stan Sandbox Shop',
        website: 'https://sandbox.stan-app.fr',
        privacyPolicyUrl: expect.stringMatching(/^https:\/\/sandbox\.stan-app\.fr\//),
        generalTermsUrl: expect.stringMatching(/^https:\/\/sandbox\.stan-app\.fr\//),
        logoUrl: expect.stringMatching(/^https:\/\/sandbox\.stan-app\.fr\//),
      },
      lineItems: [
        {
          productId: 'sku-shoe',
          quantity: 2,
          unitPrice: 4999,
          discount: 500,
          total: 9498,
          description: 'Shoe',
          sku: 'SHOE',
          imageUrl: 'https://i/s.png',
          productUrl: 'https://p/s',
        },
        { productId: 'sku-sock', quantity: 3, unitPrice: 333, discount: null, total: 999 },
      ],
      details: {
        subtotal: 10497,
        discount: 1000,
        taxRate: 20,
        tax: 1899,
        discountCode: 'WELCOME10',
        totalBeforeDiscount: 12396,
        sessionId: 'cart-1',
        orderId: 'order-1',
        returnUrl: 'https://shop.example/return',
      },
    });
  });

  it('gives every checkout its own id and the same merchant key', async () => {
    const input = completed({
      returnUrl: 'https://shop.example/r',
      lineItems: [{ productId: 'p', quantity: 1, unitPrice: 100 }],
    });
    const [a, b] = await Promise.all([adapter.create(input), adapter.create(input)]);
    expect(a.providerCheckoutId).not.toBe(b.providerCheckoutId);
    expect(a.merchant?.key).toBe(b.merchant?.key);
    expect(a.testMode && b.testMode).toBe(true);
  });

  it('rejects wrong credentials with 401, which the client reports as a non-retryable ProviderError', async () => {
    for (const credentials of [
      { clientId: 'sandbox-client', clientSecret: 'wrong' },
      { clientId: 'someone-else', clientSecret: 'sandbox-secret' },
      { clientId: '', clientSecret: '' },
    ]) {
      const wrong = new StanAdapter(new StanClient({ baseUrl: sandbox.url, timeoutMs: 2000, ...credentials }), {
        currency: 'EUR',
      });
      const error = await wrong
        .create(completed({ returnUrl: 'https://r', lineItems: [{ productId: 'p', quantity: 1, unitPrice: 1 }] }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ provider: 'STAN', retryable: false, httpStatus: 401 });
      expect((error as ProviderError).message).not.toContain('sandbox-secret');
    }
  });

  it('rejects a missing or non-Basic Authorization header with 401 and a JSON message', async () => {
    for (const authorization of [
      '',
      'Bearer sandbox-secret',
      'Basic',
      `Basic ${Buffer.from('sandbox-client').toString('base64')}`,
      AUTH.toLowerCase(),
    ]) {
      const response = await stanRequest(VALID_BODY, { authorization });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
      expect(typeof response.json.message).toBe('string');
      expect(JSON.stringify(response.json)).not.toContain('sandbox-secret');
    }
  });

  it('accepts the Basic scheme in any case, the credentials only exactly', async () => {
    expect((await stanRequest(VALID_BODY, { authorization: AUTH.replace('Basic', 'basic') })).status).toBe(200);
    expect((await stanRequest(VALID_BODY, { authorization: AUTH.replace('Basic', 'BASIC') })).status).toBe(200);
    const upperSecret = `Basic ${Buffer.from('sandbox-client:SANDBOX-SECRET').toString('base64')}`;
    expect((await stanRequest(VALID_BODY, { authorization: upperSecret })).status).toBe(401);
  });

  it('checks the credentials before reading the body', async () => {
    const response = await stanRequest('not json', { authorization: 'Basic Zm9vOmJhcg==' });
    expect(response.status).toBe(401);
  });

  it('answers the documented response shape with the raw client', async () => {
    const response = await stanRequest(VALID_BODY);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({
      id: expect.stringMatching(UUID),
      total_amount: 3000,
      total_amount_before_discount: 3000,
      subtotal_amount: 3000,
      discount_amount: 0,
      tax_rate: null,
      discount_code: null,
      is_testmode: true,
      line_items: [{ product_id: 'p1', quantity: 2, unit_price: 1500 }],
      merchant: {
        name: 'Stan Sandbox Shop',
        website: 'https://sandbox.stan-app.fr',
        privacy_policy_url: 'https://sandbox.stan-app.fr/privacy',
        general_terms_url: 'https://sandbox.stan-app.fr/terms',
        logo_url: 'https://sandbox.stan-app.fr/logo.png',
      },
      session_id: null,
      order_id: null,
    });
  });

  it('computes omitted totals, tax from the rate included, and echoes given ones', async () => {
    const computed = await stanRequest({ ...VALID_BODY, discount_amount: 500, tax_rate: 10 });
    expect(computed.json).toMatchObject({
      subtotal_amount: 3000,
      discount_amount: 500,
      tax_rate: 10,
      total_amount: 2750,
      total_amount_before_discount: 3250,
    });
    const given = await stanRequest({
      ...VALID_BODY,
      subtotal_amount: 3000,
      discount_amount: 500,
      tax_cost: 100,
      total_amount: 2600,
      session_id: 's',
      order_id: 'o',
      discount_code: 'D',
    });
    expect(given.json).toMatchObject({
      subtotal_amount: 3000,
      total_amount: 2600,
      total_amount_before_discount: 3100,
      session_id: 's',
      order_id: 'o',
      discount_code: 'D',
    });
  });

  it('ignores a query string on the documented path', async () => {
    expect((await stanRequest(VALID_BODY, {}, '/v1/checkouts?utm=1')).status).toBe(200);
  });
});

describe('Stan sandbox: invalid requests', () => {
  it.each([
    ['no return_url', { line_items: VALID_BODY.line_items }, 'return_url'],
    ['a numeric return_url', { ...VALID_BODY, return_url: 5 }, 'return_url'],
    ['no line_items', { return_url: 'https://r' }, 'line_items'],
    ['empty line_items', { ...VALID_BODY, line_items: [] }, 'line_items'],
    ['line_items not an array', { ...VALID_BODY, line_items: { product_id: 'p' } }, 'line_items'],
    [
      'a line without product_id',
      { ...VALID_BODY, line_items: [{ quantity: 1, unit_price: 1 }] },
      'line_items.0.product_id',
    ],
    [
      'quantity 0',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 0, unit_price: 1 }] },
      'line_items.0.quantity',
    ],
    [
      'a fractional quantity',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1.5, unit_price: 1 }] },
      'line_items.0.quantity',
    ],
    [
      'a negative unit_price',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1, unit_price: -1 }] },
      'line_items.0.unit_price',
    ],
    [
      'a decimal unit_price',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1, unit_price: 9.99 }] },
      'line_items.0.unit_price',
    ],
    [
      'a string unit_price',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1, unit_price: '100' }] },
      'line_items.0.unit_price',
    ],
    [
      'a negative line discount',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1, unit_price: 1, discount_amount: -1 }] },
      'line_items.0.discount_amount',
    ],
    [
      'a null optional line string',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1, unit_price: 1, sku: null }] },
      'line_items.0.sku',
    ],
    ['a null optional top-level field', { ...VALID_BODY, session_id: null }, 'session_id'],
    ['a fractional total_amount', { ...VALID_BODY, total_amount: 30.5 }, 'total_amount'],
    ['a negative discount_amount', { ...VALID_BODY, discount_amount: -1 }, 'discount_amount'],
    ['a fractional tax_rate', { ...VALID_BODY, tax_rate: 5.5 }, 'tax_rate'],
    ['a negative tax_cost', { ...VALID_BODY, tax_cost: -3 }, 'tax_cost'],
    ['an unsafe integer subtotal_amount', { ...VALID_BODY, subtotal_amount: 2 ** 60 }, 'subtotal_amount'],
    ['a subtotal that does not match the lines', { ...VALID_BODY, subtotal_amount: 2999 }, 'subtotal_amount'],
    ['a total that does not add up', { ...VALID_BODY, total_amount: 1 }, 'total_amount'],
    ['a discount above the subtotal', { ...VALID_BODY, discount_amount: 3001 }, 'discount_amount'],
    [
      'a line discount above the line amount',
      { ...VALID_BODY, line_items: [{ product_id: 'p', quantity: 1, unit_price: 1, discount_amount: 2 }] },
      'line_items.0.discount_amount',
    ],
    ['an array body', [VALID_BODY], 'body'],
  ])('answers 400 naming the field for %s', async (_name, body, field) => {
    const response = await stanRequest(body);
    expect(response.status).toBe(400);
    expect(response.json.message).toEqual(expect.stringContaining(`${field}:`));
  });

  it('answers 400 for a body that is not JSON', async () => {
    const response = await stanRequest('{"return_url": ');
    expect(response.status).toBe(400);
    expect(response.json.message).toMatch(/JSON/);
  });

  it('answers 415 for a body that is not declared as JSON', async () => {
    const response = await stanRequest(VALID_BODY, { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(typeof response.json.message).toBe('string');
  });

  it('answers 404 on other paths and 405 on other methods', async () => {
    expect((await stanRequest(VALID_BODY, {}, '/v1/checkout')).status).toBe(404);
    expect((await stanRequest(VALID_BODY, {}, '/v2/checkouts')).status).toBe(404);
    const get = await stanRequest(undefined, {}, '/v1/checkouts', 'GET');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('surfaces a 400 through the client as a non-retryable ProviderError carrying Stan message', async () => {
    const error = await adapter
      .create({
        returnUrl: 'https://r',
        lineItems: [{ productId: 'p', quantity: 1, unitPrice: 100 }],
        subtotalAmount: 100,
        totalAmount: 99,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      retryable: false,
      httpStatus: 400,
      providerMessage: expect.stringContaining('total_amount:'),
    });
  });
});
