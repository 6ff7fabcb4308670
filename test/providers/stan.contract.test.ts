import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ProviderError } from '../../src/domain/errors.js';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { StanAdapter, type StanCreateInput } from '../../src/providers/stan/adapter.js';
import { ProviderResilience } from '../../src/providers/resilience.js';
import { StanClient } from '../../src/providers/stan/client.js';
import { providerErrorOf } from '../support/errors.js';
import { closedOrigin } from '../support/net.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from '../support/recording-server.js';

const CLIENT_ID = 'stan_client_42';
const CLIENT_SECRET = 's3cr3t-Shh';
/** base64("stan_client_42:s3cr3t-Shh"), worked out by hand once so a wrong encoding shows. */
const EXPECTED_AUTHORIZATION = 'Basic c3Rhbl9jbGllbnRfNDI6czNjcjN0LVNoaA==';

/** The request example of Stan's API documentation, verbatim. */
const DOC_REQUEST_EXAMPLE = {
  return_url: '<string>',
  total_amount: 123,
  session_id: '<string>',
  order_id: '<string>',
  subtotal_amount: 123,
  discount_amount: 123,
  tax_rate: 123,
  tax_cost: 123,
  discount_code: '<string>',
  line_items: [
    {
      product_id: '<string>',
      quantity: 123,
      unit_price: 123,
      discount_amount: 123,
      description: '<string>',
      sku: '<string>',
      image_url: '<string>',
      product_url: '<string>',
    },
  ],
};

/** The 200 response example of Stan's API documentation, verbatim. */
const DOC_RESPONSE_EXAMPLE = {
  id: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
  total_amount: 123,
  total_amount_before_discount: 123,
  subtotal_amount: 123,
  discount_amount: 123,
  tax_rate: 123,
  discount_code: '<string>',
  is_testmode: true,
  line_items: [
    {
      product_id: '<string>',
      quantity: 123,
      unit_price: 123,
      discount_amount: 123,
      description: '<string>',
      sku: '<string>',
      image_url: '<string>',
      product_url: '<string>',
    },
  ],
  merchant: {
    name: '<string>',
    website: '<string>',
    privacy_policy_url: '<string>',
    general_terms_url: '<string>',
    logo_url: '<string>',
  },
  session_id: '<string>',
  order_id: '<string>',
};

const FULL_INPUT: StanCreateInput = {
  returnUrl: 'https://shop.example/return?cart=1&x=é',
  lineItems: [
    {
      productId: 'sku-shoe',
      quantity: 2,
      unitPrice: 4999,
      discountAmount: 500,
      description: 'Running shoe',
      sku: 'SHOE-42',
      imageUrl: 'https://shop.example/shoe.png',
      productUrl: 'https://shop.example/shoe',
    },
    { productId: 'sku-sock', quantity: 1, unitPrice: 799 },
  ],
  discountAmount: 1000,
  discountCode: 'WELCOME10',
  taxRate: 20,
  taxCost: 1719,
  subtotalAmount: 10297,
  totalAmount: 11016,
  sessionId: 'cart-123',
  orderId: 'order-9',
};

const EXPECTED_FULL_BODY = {
  return_url: 'https://shop.example/return?cart=1&x=é',
  total_amount: 11016,
  session_id: 'cart-123',
  order_id: 'order-9',
  subtotal_amount: 10297,
  discount_amount: 1000,
  tax_rate: 20,
  tax_cost: 1719,
  discount_code: 'WELCOME10',
  line_items: [
    {
      product_id: 'sku-shoe',
      quantity: 2,
      unit_price: 4999,
      discount_amount: 500,
      description: 'Running shoe',
      sku: 'SHOE-42',
      image_url: 'https://shop.example/shoe.png',
      product_url: 'https://shop.example/shoe',
    },
    { product_id: 'sku-sock', quantity: 1, unit_price: 799 },
  ],
};

const MINIMAL_INPUT: StanCreateInput = {
  returnUrl: 'https://shop.example/return',
  lineItems: [
    {
      productId: 'p1',
      quantity: 1,
      unitPrice: 100,
      discountAmount: null,
      description: null,
      sku: null,
      imageUrl: null,
      productUrl: null,
    },
  ],
  discountAmount: null,
  discountCode: null,
  taxRate: null,
  taxCost: null,
  subtotalAmount: 100,
  totalAmount: 100,
  sessionId: null,
  orderId: null,
};

let respond: (request: RecordedRequest) => CannedResponse = () => ({ status: 200, body: DOC_RESPONSE_EXAMPLE });
let server: Awaited<ReturnType<typeof startRecordingServer>>;
let client: StanClient;
let adapter: StanAdapter;

beforeAll(async () => {
  server = await startRecordingServer((request) => respond(request));
  // Each test checks one call's mapping; one breaker over the whole file would open after the
  // deliberate failures (the breaker has tests of its own).
  client = new StanClient({
    baseUrl: `${server.url}/`,
    timeoutMs: 2000,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    resilience: new ProviderResilience('STAN', { breakerThreshold: 1_000_000 }),
  });
  adapter = new StanAdapter(client, { currency: 'eur' });
});

afterAll(async () => {
  await server.close();
});

function lastRequest(): RecordedRequest {
  const request = server.requests.at(-1);
  if (!request) throw new Error('no request recorded');
  return request;
}

/** The ProviderError of a Stan call, which must carry nothing of the credentials. */
async function stanErrorOf(promise: Promise<unknown>): Promise<ProviderError> {
  const providerError = await providerErrorOf(promise);
  expect(providerError.provider).toBe('STAN');
  // Nothing of the credentials may leak into what we report.
  for (const secret of [CLIENT_SECRET, EXPECTED_AUTHORIZATION.slice(6)]) {
    expect(providerError.message).not.toContain(secret);
    expect(providerError.providerMessage ?? '').not.toContain(secret);
  }
  return providerError;
}

describe('Stan client: the request on the wire', () => {
  it('POSTs the documented snake_case body to /v1/checkouts with Basic auth and JSON content type', async () => {
    respond = () => ({ status: 200, body: DOC_RESPONSE_EXAMPLE });
    await adapter.create(FULL_INPUT);
    const request = lastRequest();
    expect(request.method).toBe('POST');
    // The trailing slash of the base URL must not double up.
    expect(request.path).toBe('/v1/checkouts');
    expect(request.headers.authorization).toBe(EXPECTED_AUTHORIZATION);
    expect(request.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request.body)).toEqual(EXPECTED_FULL_BODY);
  });

  it('uses exactly the field names of the document example, at the top level and in line items', async () => {
    respond = () => ({ status: 200, body: DOC_RESPONSE_EXAMPLE });
    await adapter.create(FULL_INPUT);
    const sent = JSON.parse(lastRequest().body) as typeof DOC_REQUEST_EXAMPLE;
    expect(Object.keys(sent).sort()).toEqual(Object.keys(DOC_REQUEST_EXAMPLE).sort());
    expect(Object.keys(sent.line_items[0]!).sort()).toEqual(Object.keys(DOC_REQUEST_EXAMPLE.line_items[0]!).sort());
    // Every amount is an integer, as the document types them.
    for (const key of ['total_amount', 'subtotal_amount', 'discount_amount', 'tax_rate', 'tax_cost'] as const) {
      expect(Number.isInteger(sent[key])).toBe(true);
    }
  });

  it('leaves absent optional fields out instead of sending null', async () => {
    respond = () => ({ status: 200, body: { id: 'co_1' } });
    await adapter.create(MINIMAL_INPUT);
    const request = lastRequest();
    expect(request.body).not.toContain('null');
    expect(JSON.parse(request.body)).toEqual({
      return_url: 'https://shop.example/return',
      total_amount: 100,
      subtotal_amount: 100,
      line_items: [{ product_id: 'p1', quantity: 1, unit_price: 100 }],
    });
  });

  it('keeps zero amounts (0 is a value, not an absence)', async () => {
    respond = () => ({ status: 200, body: { id: 'co_0' } });
    await adapter.create({ ...MINIMAL_INPUT, discountAmount: 0, taxRate: 0, taxCost: 0 });
    expect(JSON.parse(lastRequest().body)).toMatchObject({ discount_amount: 0, tax_rate: 0, tax_cost: 0 });
  });

  it('refuses, at configuration, a client id containing ":" without echoing it', () => {
    const env = { STAN_BASE_URL: server.url, STAN_CLIENT_ID: 'acme:client-77', STAN_CLIENT_SECRET: 'x' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow('STAN_CLIENT_ID must contain only visible ASCII characters and no ":"');
    expect(() => loadConfig(env)).not.toThrow(/acme|client-77/);
  });
});

describe('Stan client and adapter: the response', () => {
  it('maps the document example response onto a snapshot', async () => {
    respond = () => ({ status: 200, body: DOC_RESPONSE_EXAMPLE });
    const snapshot = await adapter.create(FULL_INPUT);
    expect(snapshot).toEqual({
      providerCheckoutId: '3c90c3cc-0d44-4b50-8888-8dd25736052a',
      status: 'OPEN',
      currency: 'EUR',
      total: 123,
      testMode: true,
      merchant: {
        key: '<string>',
        name: '<string>',
        website: '<string>',
        privacyPolicyUrl: '<string>',
        generalTermsUrl: '<string>',
        logoUrl: '<string>',
      },
      // The response has one line item, the input two: positions do not line up, so no filling in.
      lineItems: [
        {
          productId: '<string>',
          description: '<string>',
          sku: '<string>',
          quantity: 123,
          unitPrice: 123,
          discount: 123,
          total: 123 * 123 - 123,
          imageUrl: '<string>',
          productUrl: '<string>',
        },
      ],
      details: {
        subtotal: 123,
        discount: 123,
        taxRate: 123,
        tax: 1719,
        discountCode: '<string>',
        totalBeforeDiscount: 123,
        sessionId: '<string>',
        orderId: '<string>',
        returnUrl: 'https://shop.example/return?cart=1&x=é',
      },
    });
  });

  it('accepts a body with only an id and fills everything else from the input', async () => {
    respond = () => ({ status: 200, body: { id: 'co_only_id' } });
    const snapshot = await adapter.create(FULL_INPUT);
    expect(snapshot).toEqual({
      providerCheckoutId: 'co_only_id',
      status: 'OPEN',
      currency: 'EUR',
      total: 11016,
      testMode: false,
      merchant: null,
      lineItems: [
        {
          productId: 'sku-shoe',
          description: 'Running shoe',
          sku: 'SHOE-42',
          quantity: 2,
          unitPrice: 4999,
          discount: 500,
          total: 9498,
          imageUrl: 'https://shop.example/shoe.png',
          productUrl: 'https://shop.example/shoe',
        },
        {
          productId: 'sku-sock',
          description: null,
          sku: null,
          quantity: 1,
          unitPrice: 799,
          discount: null,
          total: 799,
          imageUrl: null,
          productUrl: null,
        },
      ],
      details: {
        subtotal: 10297,
        discount: 1000,
        taxRate: 20,
        tax: 1719,
        discountCode: 'WELCOME10',
        totalBeforeDiscount: 12016,
        sessionId: 'cart-123',
        orderId: 'order-9',
        returnUrl: 'https://shop.example/return?cart=1&x=é',
      },
    });
  });

  it('accepts null for every field but id', async () => {
    const allNull = Object.fromEntries(
      Object.keys(DOC_RESPONSE_EXAMPLE).map((key) => [key, key === 'id' ? 'co_nulls' : null]),
    );
    respond = () => ({ status: 200, body: allNull });
    const snapshot = await adapter.create(MINIMAL_INPUT);
    expect(snapshot).toMatchObject({
      providerCheckoutId: 'co_nulls',
      total: 100,
      testMode: false,
      merchant: null,
      lineItems: [{ productId: 'p1', quantity: 1, unitPrice: 100, discount: null, total: 100 }],
      details: {
        subtotal: 100,
        discount: null,
        taxRate: null,
        tax: null,
        discountCode: null,
        totalBeforeDiscount: 100,
        sessionId: null,
        orderId: null,
      },
    });
  });

  it('fills missing line item fields from the sent line at the same position', async () => {
    respond = () => ({
      status: 200,
      body: {
        id: 'co_partial_lines',
        line_items: [
          { product_id: 'sku-shoe', quantity: null, unit_price: 4999, description: 'Shoe (Stan)' },
          { product_id: null, quantity: 1, unit_price: null, discount_amount: null },
        ],
      },
    });
    const snapshot = await adapter.create(FULL_INPUT);
    expect(snapshot.lineItems).toEqual([
      expect.objectContaining({
        productId: 'sku-shoe',
        quantity: 2,
        unitPrice: 4999,
        discount: 500,
        total: 9498,
        description: 'Shoe (Stan)',
        sku: 'SHOE-42',
      }),
      expect.objectContaining({ productId: 'sku-sock', quantity: 1, unitPrice: 799, discount: null, total: 799 }),
    ]);
  });

  it('keeps amounts beyond 32 bits exactly (a 4,500,000,000 basket)', async () => {
    respond = () => ({
      status: 200,
      body: {
        id: 'co_big',
        total_amount: 4_500_000_000,
        subtotal_amount: 4_500_000_000,
        line_items: [{ quantity: 3, unit_price: 1_500_000_000 }],
      },
    });
    const big: StanCreateInput = {
      ...MINIMAL_INPUT,
      lineItems: [{ ...MINIMAL_INPUT.lineItems[0]!, quantity: 3, unitPrice: 1_500_000_000 }],
      subtotalAmount: 4_500_000_000,
      totalAmount: 4_500_000_000,
    };
    const snapshot = await adapter.create(big);
    expect(snapshot).toMatchObject({
      total: 4_500_000_000,
      details: { subtotal: 4_500_000_000, totalBeforeDiscount: 4_500_000_000 },
    });
    expect(snapshot.lineItems).toEqual([
      expect.objectContaining({ quantity: 3, unitPrice: 1_500_000_000, total: 4_500_000_000 }),
    ]);
    expect(snapshot.unreadable).toBeUndefined();
    // On the wire as plain JSON integers: no string, no exponent, no rounding.
    expect(lastRequest().body).toContain('"total_amount":4500000000');
    expect(lastRequest().body).toContain('"unit_price":1500000000');
  });

  it.each([
    ['a fractional total', { total_amount: 12.5 }, 'total_amount 12.5'],
    ['an amount as a string', { subtotal_amount: '100' }, 'subtotal_amount "100"'],
    ['an amount beyond 2^53 - 1', { total_amount: 2 ** 60 }, `total_amount ${2 ** 60}`],
    ['a negative discount', { discount_amount: -5 }, 'discount_amount -5'],
    ['a fractional line quantity', { line_items: [{ quantity: 1.5 }] }, 'line_items[0].quantity 1.5'],
    [
      'a line price as an object',
      { line_items: [{ quantity: 1, unit_price: { value: 1 } }] },
      'line_items[0].unit_price {"value":1}',
    ],
  ])(
    'keeps the checkout Stan created when it answers %s: the sent amount stands, named in unreadable and notes',
    async (_name, fields, problem) => {
      respond = () => ({ status: 200, body: { id: 'co_unreadable', ...fields } });
      const snapshot = await adapter.create(MINIMAL_INPUT);
      expect(snapshot).toMatchObject({
        providerCheckoutId: 'co_unreadable',
        status: 'OPEN',
        total: 100,
        details: { subtotal: 100 },
        lineItems: [expect.objectContaining({ productId: 'p1', quantity: 1, unitPrice: 100, total: 100 })],
      });
      expect(snapshot.unreadable).toEqual([expect.stringContaining(problem)]);
      expect(snapshot.notes).toContain(problem);
      expect(snapshot.notes).toMatch(/amounts sent to Stan are shown instead/);
    },
  );

  it('falls back to the sent lines when a returned line has no quantity and nothing lines up', async () => {
    respond = () => ({ status: 200, body: { id: 'co_unaligned', line_items: [{ product_id: 'x' }] } });
    const snapshot = await adapter.create(FULL_INPUT);
    expect(snapshot.lineItems?.map((item) => item.productId)).toEqual(['sku-shoe', 'sku-sock']);
  });

  it('keys the merchant by website, else by name, and drops one with neither', async () => {
    respond = () => ({ status: 200, body: { id: 'm1', merchant: { name: 'Shop', website: 'https://shop.example' } } });
    expect((await adapter.create(MINIMAL_INPUT)).merchant).toMatchObject({
      key: 'https://shop.example',
      name: 'Shop',
      website: 'https://shop.example',
    });
    respond = () => ({ status: 200, body: { id: 'm2', merchant: { name: 'Shop', website: null } } });
    expect((await adapter.create(MINIMAL_INPUT)).merchant).toEqual({
      key: 'Shop',
      name: 'Shop',
      website: null,
      privacyPolicyUrl: null,
      generalTermsUrl: null,
      logoUrl: null,
    });
    respond = () => ({ status: 200, body: { id: 'm3', merchant: { website: 'https://nameless.example' } } });
    expect((await adapter.create(MINIMAL_INPUT)).merchant).toMatchObject({
      key: 'https://nameless.example',
      name: 'https://nameless.example',
    });
    respond = () => ({ status: 200, body: { id: 'm4', merchant: { name: ' ', logo_url: 'https://x/logo.png' } } });
    expect((await adapter.create(MINIMAL_INPUT)).merchant).toBeNull();
  });
});

describe('Stan client: failures', () => {
  it.each([
    [400, { message: 'line_items is required' }, 'line_items is required'],
    [401, { message: 'Unauthorized' }, 'Unauthorized'],
    [403, { error: 'Forbidden' }, 'Forbidden'],
    [404, undefined, null],
    [409, { detail: 'Duplicate order_id' }, 'Duplicate order_id'],
    [422, { message: 'total_amount mismatch' }, 'total_amount mismatch'],
  ])('maps HTTP %i to a non-retryable ProviderError', async (status, body, providerMessage) => {
    respond = () => ({ status, body });
    const error = await stanErrorOf(client.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: false, httpStatus: status, providerMessage });
  });

  it.each([408, 429, 500, 502, 503, 504])('maps HTTP %i to a retryable ProviderError', async (status) => {
    respond = () => ({ status, body: { message: 'try later' } });
    const error = await stanErrorOf(client.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: true, httpStatus: status, providerMessage: 'try later' });
  });

  it('maps an HTML 502 from a proxy to a retryable ProviderError without a provider message', async () => {
    respond = () => ({ status: 502, rawBody: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } });
    const error = await stanErrorOf(client.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: true, httpStatus: 502, providerMessage: null });
  });

  it('maps a timeout to a retryable ProviderError without a status', async () => {
    respond = () => ({ status: 200, body: DOC_RESPONSE_EXAMPLE, delayMs: 300 });
    const slow = new StanClient({
      baseUrl: server.url,
      timeoutMs: 50,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
    });
    const error = await stanErrorOf(slow.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: true, httpStatus: null });
    expect(error.message).toContain('50 ms');
  });

  it('maps a refused connection to a retryable ProviderError', async () => {
    const offline = new StanClient({
      baseUrl: await closedOrigin(),
      timeoutMs: 1000,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
    });
    const error = await stanErrorOf(offline.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: true, httpStatus: null });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('maps a 200 with malformed JSON to a non-retryable ProviderError', async () => {
    respond = () => ({ status: 200, rawBody: '{"id": "co_1",' });
    const error = await stanErrorOf(client.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: false, httpStatus: 200 });
  });

  it('maps a 200 with an empty body to a non-retryable ProviderError', async () => {
    respond = () => ({ status: 200, rawBody: '' });
    const error = await stanErrorOf(client.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: false, httpStatus: 200 });
  });

  it.each([
    ['no id', { total_amount: 100 }, 'id'],
    ['an empty id', { id: '' }, 'id'],
    ['a numeric id', { id: 42 }, 'id'],
    ['is_testmode as a string', { id: 'co', is_testmode: 'true' }, 'is_testmode'],
    ['an array body', [{ id: 'co' }], 'body'],
  ])('maps a 200 with %s to a non-retryable ProviderError naming the field', async (_name, body, field) => {
    respond = () => ({ status: 200, body });
    const error = await stanErrorOf(client.createCheckout(EXPECTED_FULL_BODY));
    expect(error).toMatchObject({ retryable: false, httpStatus: 200 });
    expect(error.message).toContain(`(${field}:`);
  });

  it('accepts any other 2xx with a valid body (201 Created)', async () => {
    respond = () => ({ status: 201, body: { id: 'co_created' } });
    await expect(client.createCheckout(EXPECTED_FULL_BODY)).resolves.toMatchObject({ id: 'co_created' });
  });
});
