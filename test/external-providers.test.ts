/**
 * The API pointed at independent provider servers that follow only the providers' API
 * documentation (Smartcheckout, PayerVault, Stan), never our sandboxes' code or conventions.
 * They check the documented auth and bodies strictly, vary what the documentation leaves open,
 * and record every request so the exact wire traffic can be compared with it. The whole flow a
 * frontend runs (a purchase polled to completion, a link, an empty cart, a Stan session, the list)
 * must work against them as it does against the sandboxes.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  CheckoutsDocument,
  CreatePayerVaultCheckoutDocument,
  CreateSmartCheckoutDocument,
  CreateStanCheckoutDocument,
  RefreshCheckoutDocument,
  type CreateStanCheckoutInput,
} from './generated/graphql.js';
import { expectType, type TestApp, useTestApp } from './support/app.js';

// ---------------------------------------------------------------------------------------------
// Real-looking credentials (no "sandbox" in them), and what the documentation says goes on the wire.

const SMARTCHECKOUT_API_KEY = 'sc_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const PAYERVAULT_ACCESS_KEY = 'pv_ak_3JX9QwL2mZr8TnV5';
const PAYERVAULT_ACCESS_SECRET = 'pv_as_Yt7Kc1Hp0sQe4Ww6Uz2Bn9Md';
const STAN_CLIENT_ID = 'stan_live_cl_7Q2mX9';
const STAN_CLIENT_SECRET = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc';
/** base64("stan_live_cl_7Q2mX9:sk_live_4eC39HqLyjWDarjtT1zdp7dc"), computed once outside the code under test. */
const STAN_BASIC = 'Basic c3Rhbl9saXZlX2NsXzdRMm1YOTpza19saXZlXzRlQzM5SHFMeWpXRGFyanRUMXpkcDdkYw==';
const SECRETS = [
  SMARTCHECKOUT_API_KEY,
  PAYERVAULT_ACCESS_KEY,
  PAYERVAULT_ACCESS_SECRET,
  STAN_CLIENT_ID,
  STAN_CLIENT_SECRET,
  STAN_BASIC.slice(6),
];

// ---------------------------------------------------------------------------------------------
// A bare node:http server: records each request as received, answers what `respond` says.

interface Received {
  method: string;
  /** Request target exactly as sent (percent-encoding preserved). */
  path: string;
  /** Header names lower-cased by node, as HTTP makes them case-insensitive. */
  headers: IncomingHttpHeaders;
  body: string;
}

interface Answer {
  status: number;
  /** Names are written with the casing given here. */
  headers?: Record<string, string>;
  json?: unknown;
}

async function serve(respond: (request: Received) => Answer) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      let answer: Answer;
      try {
        answer = respond(request);
      } catch (error) {
        answer = { status: 500, json: { message: String(error) } };
      }
      const payload = answer.json === undefined ? '' : JSON.stringify(answer.json);
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const isJsonContentType = (value: string | undefined) => /^application\/json\s*(;|$)/i.test(value ?? '');

function parseJsonObject(body: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(body);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Smartcheckout: Bearer auth; POST /v0/checkout {url, user_data} -> {checkout_id,
// status: "processing"}; GET /v0/checkout/:id -> {id, status, amount_str, currency, notes}.
// The documentation shows amount_str/currency/notes only for a completed checkout, so how a
// processing answer spells them is open: left out, null, or empty strings.

type ProcessingStyle = 'omitted' | 'null' | 'empty';

async function startSmartcheckout() {
  const checkouts = new Map<string, { polls: number; style: ProcessingStyle }>();
  const options = { processingStyle: 'omitted' as ProcessingStyle, createStatus: 200 };
  const issued: string[] = [];
  const server = await serve((request) => {
    if (request.headers.authorization !== `Bearer ${SMARTCHECKOUT_API_KEY}`)
      return { status: 401, json: { message: 'Invalid API key' } };
    if (request.method === 'POST' && request.path === '/v0/checkout') {
      if (!isJsonContentType(request.headers['content-type']))
        return { status: 415, json: { message: 'Content-Type must be application/json' } };
      const body = parseJsonObject(request.body);
      const userData = body?.user_data;
      if (
        !body ||
        typeof body.url !== 'string' ||
        userData === null ||
        typeof userData !== 'object' ||
        Array.isArray(userData)
      ) {
        return { status: 400, json: { message: 'url and user_data are required' } };
      }
      const id = randomUUID();
      checkouts.set(id, { polls: 0, style: options.processingStyle });
      issued.push(id);
      return { status: options.createStatus, json: { checkout_id: id, status: 'processing' } };
    }
    const match = /^\/v0\/checkout\/([^/?#]+)$/.exec(request.path);
    if (request.method === 'GET' && match) {
      const id = decodeURIComponent(match[1]!);
      const checkout = checkouts.get(id);
      if (!checkout) return { status: 404, json: { message: 'Checkout not found' } };
      checkout.polls += 1;
      if (checkout.polls === 1) {
        const extra =
          checkout.style === 'null'
            ? { amount_str: null, currency: null, notes: null }
            : checkout.style === 'empty'
              ? { amount_str: '', currency: '', notes: '' }
              : {};
        return { status: 200, json: { id, status: 'processing', ...extra } };
      }
      return { status: 200, json: { id, status: 'completed', amount_str: '49.99', currency: 'USD', notes: '' } };
    }
    return { status: 404, json: { message: 'Not found' } };
  });
  return Object.assign(server, { options, issued });
}

// ---------------------------------------------------------------------------------------------
// PayerVault: GET /api/v1/checkout-link/:customer_id with headers accessKey and
// accessSecret -> 200 {"url"}; 404 {"message": "No products in cart"}. Header names are matched
// case-insensitively, as HTTP requires; the answer's own header names use another casing.

const CUSTOMER_WITH_CART = 'cust/1 é';
const CUSTOMER_ANGLE_SAMPLE = 'cust-2';
const CUSTOMER_WITHOUT_CART = 'cust-no-cart-7';

async function startPayerVault() {
  const carts = new Set([CUSTOMER_WITH_CART, CUSTOMER_ANGLE_SAMPLE]);
  return serve((request) => {
    const headers = { 'CONTENT-TYPE': 'application/json; charset=utf-8', 'X-PayerVault-Request': randomUUID() };
    if (
      request.headers.accesskey !== PAYERVAULT_ACCESS_KEY ||
      request.headers.accesssecret !== PAYERVAULT_ACCESS_SECRET
    ) {
      return { status: 401, headers, json: { message: 'Invalid accessKey or accessSecret' } };
    }
    const match = /^\/api\/v1\/checkout-link\/([^/?#]+)$/.exec(request.path);
    if (request.method !== 'GET' || !match) return { status: 404, headers, json: { message: 'Not found' } };
    const raw = match[1]!;
    const customerId = decodeURIComponent(raw);
    if (!carts.has(customerId)) return { status: 404, headers, json: { message: 'No products in cart' } };
    const url = `https://merchant.payervault.com/checkout/${raw}`;
    // The documentation's own sample writes the URL as "<https://...>"; one customer gets it that way.
    return { status: 200, headers, json: { url: customerId === CUSTOMER_ANGLE_SAMPLE ? `<${url}>` : url } };
  });
}

// ---------------------------------------------------------------------------------------------
// Stan: POST /v1/checkouts, Basic auth, snake_case body; answers the documented
// response shape. No field is marked required either way; "sparse" mode leaves out every
// optional response field, "full" mode sends them all (null where the request gave nothing).

const STAN_MERCHANT = {
  name: 'Maison Lumière',
  website: 'https://maison-lumiere.example',
  privacy_policy_url: 'https://maison-lumiere.example/privacy',
  general_terms_url: 'https://maison-lumiere.example/terms',
  logo_url: 'https://cdn.maison-lumiere.example/logo.png',
};

async function startStan() {
  const options = { style: 'full' as 'full' | 'sparse' };
  const issued: string[] = [];
  const server = await serve((request) => {
    const auth = /^basic\s+([A-Za-z0-9+/=]+)$/i.exec(request.headers.authorization ?? '');
    const decoded = auth ? Buffer.from(auth[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0 || decoded.slice(0, colon) !== STAN_CLIENT_ID || decoded.slice(colon + 1) !== STAN_CLIENT_SECRET) {
      return { status: 401, json: { message: 'Unauthorized' } };
    }
    if (request.method !== 'POST' || request.path !== '/v1/checkouts')
      return { status: 404, json: { message: 'Not found' } };
    if (!isJsonContentType(request.headers['content-type']))
      return { status: 415, json: { message: 'Unsupported media type' } };
    const body = parseJsonObject(request.body);
    if (!body || !Array.isArray(body.line_items)) return { status: 400, json: { message: 'Invalid body' } };
    const id = randomUUID();
    issued.push(id);
    if (options.style === 'sparse') {
      return {
        status: 200,
        json: {
          id,
          total_amount: body.total_amount,
          subtotal_amount: body.subtotal_amount,
          is_testmode: false,
          line_items: body.line_items,
          merchant: { name: STAN_MERCHANT.name, website: STAN_MERCHANT.website },
        },
      };
    }
    const total = body.total_amount as number;
    const discount = (body.discount_amount as number | undefined) ?? 0;
    return {
      status: 200,
      json: {
        id,
        total_amount: total,
        total_amount_before_discount: total + discount,
        subtotal_amount: body.subtotal_amount,
        discount_amount: discount,
        tax_rate: body.tax_rate ?? null,
        discount_code: body.discount_code ?? null,
        is_testmode: false,
        line_items: body.line_items,
        merchant: STAN_MERCHANT,
        session_id: body.session_id ?? null,
        order_id: body.order_id ?? null,
      },
    };
  });
  return Object.assign(server, { options, issued });
}

// ---------------------------------------------------------------------------------------------
// The whole flow a frontend runs, parameterised by what differs between the sandboxes and the
// independent servers (the sandbox's empty-cart customers start with "empty").

const PRODUCT_URL = 'https://trail-store.example/products/trail-shoe?size=42';
const SHIPPING = { name: 'Ada Lovelace', line1: '12 Rue de Rivoli', city: 'Paris', postalCode: '75001', country: 'fr' };
const STAN_INPUT: CreateStanCheckoutInput = {
  returnUrl: 'https://shop.example/stan/return?cart=77',
  lineItems: [
    {
      productId: 'shoe-42',
      quantity: 2,
      unitPrice: 2500,
      discountAmount: 500,
      description: 'Trail shoe',
      sku: 'TRAIL-42',
      imageUrl: 'https://shop.example/img/shoe.png',
      productUrl: 'https://shop.example/p/shoe-42',
    },
    { productId: 'socks', quantity: 1, unitPrice: 1000 },
  ],
  discountAmount: 300,
  discountCode: 'WELCOME10',
  taxRate: 20,
  sessionId: 'cart-77',
};
// subtotal = 2*2500-500 + 1000 = 5500; tax = round((5500-300)*20%) = 1040; total = 5500-300+1040 = 6240.

async function doneWhenFlow(t: TestApp, customers: { withCart: string; withoutCart: string }) {
  const created = await t.request(CreateSmartCheckoutDocument, {
    input: {
      productUrl: PRODUCT_URL,
      email: 'ada@example.com',
      prompt: 'Size 42, colour blue',
      shippingAddress: SHIPPING,
    },
  });
  const smart = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
  const firstRefresh = expectType(
    (await t.request(RefreshCheckoutDocument, { id: smart.id })).data?.refreshCheckout,
    'RefreshCheckoutSuccess',
  ).checkout;
  const secondRefresh = expectType(
    (await t.request(RefreshCheckoutDocument, { id: smart.id })).data?.refreshCheckout,
    'RefreshCheckoutSuccess',
  ).checkout;
  const link = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: customers.withCart } });
  const payervault = expectType(link.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;
  const empty = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: customers.withoutCart } });
  const emptyCart = expectType(empty.data?.createPayerVaultCheckout, 'EmptyCartError');
  const stanResult = await t.request(CreateStanCheckoutDocument, { input: STAN_INPUT });
  const stan = expectType(stanResult.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout;
  const list = await t.request(CheckoutsDocument, { first: 10 });
  return { smart, firstRefresh, secondRefresh, payervault, emptyCart, stan, list: list.data!.checkouts };
}

const money = (amount: number, currency: string, decimal: string) => ({ amount, currency, decimal });

// ---------------------------------------------------------------------------------------------

let smartcheckout: Awaited<ReturnType<typeof startSmartcheckout>>;
let payervault: Awaited<ReturnType<typeof startPayerVault>>;
let stan: Awaited<ReturnType<typeof startStan>>;

beforeAll(async () => {
  [smartcheckout, payervault, stan] = await Promise.all([startSmartcheckout(), startPayerVault(), startStan()]);
});
// Registered before the app's: run after the app stopped.
afterAll(async () => {
  await Promise.all([smartcheckout?.close(), payervault?.close(), stan?.close()]);
});

const t = useTestApp(() => ({
  SMARTCHECKOUT_BASE_URL: smartcheckout.url,
  SMARTCHECKOUT_API_KEY,
  PAYERVAULT_BASE_URL: payervault.url,
  PAYERVAULT_ACCESS_KEY,
  PAYERVAULT_ACCESS_SECRET,
  STAN_BASE_URL: stan.url,
  STAN_CLIENT_ID,
  STAN_CLIENT_SECRET,
}));

describe('configured providers: independent servers that follow the seed documents', () => {
  it('starts no built-in sandbox for a provider whose base URL is configured', () => {
    expect(t.app.sandboxUrls).toEqual({});
    expect(t.logs.some((line) => line.includes('provider sandbox started'))).toBe(false);
  });

  it('runs the issue\'s "Done when" flow the same as against the sandboxes, not in test mode', async () => {
    smartcheckout.options.processingStyle = 'omitted';
    stan.options.style = 'full';
    const sc = smartcheckout.received.length;
    const pv = payervault.received.length;
    const st = stan.received.length;

    const flow = await doneWhenFlow(t, { withCart: CUSTOMER_WITH_CART, withoutCart: CUSTOMER_WITHOUT_CART });

    // Smartcheckout: PROCESSING on create, still PROCESSING on the first poll, then COMPLETED 49.99 USD.
    expect(flow.smart).toMatchObject({
      provider: 'SMARTCHECKOUT',
      status: 'PROCESSING',
      total: null,
      testMode: false,
      productUrl: PRODUCT_URL,
      merchant: { name: 'trail-store.example', website: 'https://trail-store.example' },
      lineItems: [{ productUrl: PRODUCT_URL, quantity: 1, unitPrice: null }],
    });
    expect(flow.smart.providerCheckoutId).toBe(smartcheckout.issued.at(-1));
    expect(flow.firstRefresh).toMatchObject({ status: 'PROCESSING', total: null, notes: null, testMode: false });
    expect(flow.secondRefresh).toMatchObject({
      id: flow.smart.id,
      status: 'COMPLETED',
      total: money(4999, 'USD', '49.99'),
      notes: null,
      testMode: false,
    });
    expect(flow.secondRefresh.events.at(-1)).toMatchObject({ status: 'COMPLETED', source: 'smartcheckout' });

    // PayerVault: OPEN with the link as the server gave it; the cart-less customer is an EmptyCartError.
    expect(flow.payervault).toMatchObject({
      provider: 'PAYERVAULT',
      status: 'OPEN',
      customerId: CUSTOMER_WITH_CART,
      checkoutUrl: 'https://merchant.payervault.com/checkout/cust%2F1%20%C3%A9',
      testMode: false,
    });
    expect(flow.emptyCart).toMatchObject({ customerId: CUSTOMER_WITHOUT_CART, providerMessage: 'No products in cart' });

    // Stan: computed totals, the merchant Stan returned, not test mode (is_testmode: false).
    expect(flow.stan).toMatchObject({
      provider: 'STAN',
      status: 'OPEN',
      testMode: false,
      subtotal: money(5500, 'EUR', '55.00'),
      discount: money(300, 'EUR', '3.00'),
      tax: money(1040, 'EUR', '10.40'),
      taxRate: 20,
      total: money(6240, 'EUR', '62.40'),
      totalBeforeDiscount: money(6540, 'EUR', '65.40'),
      discountCode: 'WELCOME10',
      sessionId: 'cart-77',
      orderId: null,
      returnUrl: STAN_INPUT.returnUrl,
      merchant: {
        name: STAN_MERCHANT.name,
        website: STAN_MERCHANT.website,
        privacyPolicyUrl: STAN_MERCHANT.privacy_policy_url,
        generalTermsUrl: STAN_MERCHANT.general_terms_url,
        logoUrl: STAN_MERCHANT.logo_url,
      },
    });
    expect(flow.stan.providerCheckoutId).toBe(stan.issued.at(-1));
    expect(flow.stan.lineItems).toEqual([
      {
        productId: 'shoe-42',
        description: 'Trail shoe',
        sku: 'TRAIL-42',
        quantity: 2,
        imageUrl: 'https://shop.example/img/shoe.png',
        productUrl: 'https://shop.example/p/shoe-42',
        unitPrice: money(2500, 'EUR', '25.00'),
        discount: money(500, 'EUR', '5.00'),
        total: money(4500, 'EUR', '45.00'),
      },
      {
        productId: 'socks',
        description: null,
        sku: null,
        quantity: 1,
        imageUrl: null,
        productUrl: null,
        unitPrice: money(1000, 'EUR', '10.00'),
        discount: null,
        total: money(1000, 'EUR', '10.00'),
      },
    ]);

    // Newest first: Stan, the empty-cart attempt (kept as a FAILED record), the link, the purchase.
    const nodes = flow.list.edges.map((edge) => edge.node);
    expect(nodes.map((node) => [node.provider, node.status])).toEqual([
      ['STAN', 'OPEN'],
      ['PAYERVAULT', 'FAILED'],
      ['PAYERVAULT', 'OPEN'],
      ['SMARTCHECKOUT', 'COMPLETED'],
    ]);
    expect([nodes[0]!.id, nodes[2]!.id, nodes[3]!.id]).toEqual([flow.stan.id, flow.payervault.id, flow.smart.id]);

    // Each independent server saw exactly the calls of this flow.
    expect(smartcheckout.received.length - sc).toBe(3);
    expect(payervault.received.length - pv).toBe(2);
    expect(stan.received.length - st).toBe(1);
  });

  it('sends Smartcheckout exactly the documented requests: Bearer key, JSON {url, user_data}, GET by checkout_id', async () => {
    smartcheckout.options.processingStyle = 'null';
    const from = smartcheckout.received.length;
    const created = await t.request(
      CreateSmartCheckoutDocument,
      {
        input: {
          productUrl: PRODUCT_URL,
          email: 'grace@example.com',
          prompt: 'Size Large, Color Blue',
          shippingAddress: { ...SHIPPING, line2: 'Bâtiment B', phone: '+33 1 23 45 67 89' },
          userData: { gift_wrap: true },
        },
      },
      { apiKey: t.keys.b },
    );
    const checkout = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    await t.request(RefreshCheckoutDocument, { id: checkout.id }, { apiKey: t.keys.b });
    await t.request(RefreshCheckoutDocument, { id: checkout.id }, { apiKey: t.keys.b });

    const [post, poll1, poll2, ...rest] = smartcheckout.received.slice(from);
    expect(rest).toEqual([]);
    expect(post).toMatchObject({ method: 'POST', path: '/v0/checkout' });
    expect(post!.headers.authorization).toBe(`Bearer ${SMARTCHECKOUT_API_KEY}`);
    expect(isJsonContentType(post!.headers['content-type'])).toBe(true);
    expect(JSON.parse(post!.body)).toEqual({
      url: PRODUCT_URL,
      user_data: {
        gift_wrap: true,
        email: 'grace@example.com',
        prompt: 'Size Large, Color Blue',
        shipping_address: {
          name: 'Ada Lovelace',
          line1: '12 Rue de Rivoli',
          line2: 'Bâtiment B',
          city: 'Paris',
          postal_code: '75001',
          country: 'FR',
          phone: '+33 1 23 45 67 89',
        },
      },
    });
    for (const poll of [poll1!, poll2!]) {
      expect(poll.method).toBe('GET');
      expect(poll.path).toBe(`/v0/checkout/${checkout.providerCheckoutId}`);
      expect(poll.headers.authorization).toBe(`Bearer ${SMARTCHECKOUT_API_KEY}`);
      expect(poll.body).toBe('');
    }
  });

  it.each<ProcessingStyle>(['omitted', 'null', 'empty'])(
    'accepts a processing answer whose amount_str, currency and notes are %s, then the completed one',
    async (style) => {
      smartcheckout.options.processingStyle = style;
      const created = await t.request(
        CreateSmartCheckoutDocument,
        { input: { productUrl: PRODUCT_URL, email: 'ada@example.com' } },
        { apiKey: t.keys.b },
      );
      const { id } = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
      const first = await t.request(RefreshCheckoutDocument, { id }, { apiKey: t.keys.b });
      expect(expectType(first.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout).toMatchObject({
        status: 'PROCESSING',
        total: null,
        notes: null,
      });
      const second = await t.request(RefreshCheckoutDocument, { id }, { apiKey: t.keys.b });
      expect(expectType(second.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout).toMatchObject({
        status: 'COMPLETED',
        total: money(4999, 'USD', '49.99'),
        notes: null,
        testMode: false,
      });
    },
  );

  it('accepts a 201 Created answer to the Smartcheckout create (the document gives no status code)', async () => {
    smartcheckout.options.createStatus = 201;
    onTestFinished(() => {
      smartcheckout.options.createStatus = 200;
    });
    const created = await t.request(
      CreateSmartCheckoutDocument,
      { input: { productUrl: PRODUCT_URL, email: 'ada@example.com' } },
      { apiKey: t.keys.b },
    );
    expect(expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout).toMatchObject({
      status: 'PROCESSING',
      testMode: false,
    });
  });

  it('asks PayerVault with GET, the id URL-encoded as one path segment, and the accessKey/accessSecret headers', async () => {
    const from = payervault.received.length;
    const ok = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: CUSTOMER_WITH_CART } },
      { apiKey: t.keys.b },
    );
    expectType(ok.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess');
    const empty = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: CUSTOMER_WITHOUT_CART } },
      { apiKey: t.keys.b },
    );
    expectType(empty.data?.createPayerVaultCheckout, 'EmptyCartError');

    const requests = payervault.received.slice(from);
    expect(requests.map((r) => [r.method, r.path])).toEqual([
      ['GET', '/api/v1/checkout-link/cust%2F1%20%C3%A9'],
      ['GET', `/api/v1/checkout-link/${CUSTOMER_WITHOUT_CART}`],
    ]);
    for (const request of requests) {
      expect(request.headers.accesskey).toBe(PAYERVAULT_ACCESS_KEY);
      expect(request.headers.accesssecret).toBe(PAYERVAULT_ACCESS_SECRET);
      // The documented credentials travel in their own headers only.
      expect(request.headers.authorization).toBeUndefined();
      expect(request.body).toBe('');
    }
  });

  it('takes PayerVault\'s link written as in the document\'s sample, "<https://...>"', async () => {
    const result = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: CUSTOMER_ANGLE_SAMPLE } },
      { apiKey: t.keys.b },
    );
    expect(expectType(result.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout).toMatchObject(
      {
        status: 'OPEN',
        checkoutUrl: 'https://merchant.payervault.com/checkout/cust-2',
        testMode: false,
      },
    );
  });

  it('posts Stan the documented snake_case body with Basic auth, leaving out (not nulling) what was not given', async () => {
    stan.options.style = 'full';
    const from = stan.received.length;
    const result = await t.request(CreateStanCheckoutDocument, { input: STAN_INPUT }, { apiKey: t.keys.b });
    expectType(result.data?.createStanCheckout, 'CreateStanCheckoutSuccess');

    const [request, ...rest] = stan.received.slice(from);
    expect(rest).toEqual([]);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/checkouts' });
    expect(request!.headers.authorization).toBe(STAN_BASIC);
    expect(isJsonContentType(request!.headers['content-type'])).toBe(true);
    const body = JSON.parse(request!.body) as Record<string, unknown>;
    expect(body).toStrictEqual({
      return_url: 'https://shop.example/stan/return?cart=77',
      total_amount: 6240,
      session_id: 'cart-77',
      subtotal_amount: 5500,
      discount_amount: 300,
      tax_rate: 20,
      tax_cost: 1040,
      discount_code: 'WELCOME10',
      line_items: [
        {
          product_id: 'shoe-42',
          quantity: 2,
          unit_price: 2500,
          discount_amount: 500,
          description: 'Trail shoe',
          sku: 'TRAIL-42',
          image_url: 'https://shop.example/img/shoe.png',
          product_url: 'https://shop.example/p/shoe-42',
        },
        { product_id: 'socks', quantity: 1, unit_price: 1000 },
      ],
    });
    expect(request!.body).not.toContain('null');
  });

  it('works with a Stan that leaves out every optional response field', async () => {
    stan.options.style = 'sparse';
    onTestFinished(() => {
      stan.options.style = 'full';
    });
    const from = stan.received.length;
    const result = await t.request(
      CreateStanCheckoutDocument,
      {
        input: {
          returnUrl: 'https://shop.example/back',
          lineItems: [{ productId: 'mug', quantity: 3, unitPrice: 1250 }],
        },
      },
      { apiKey: t.keys.b },
    );
    const checkout = expectType(result.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout;
    expect(checkout).toMatchObject({
      status: 'OPEN',
      testMode: false,
      subtotal: money(3750, 'EUR', '37.50'),
      total: money(3750, 'EUR', '37.50'),
      discount: null,
      tax: null,
      taxRate: null,
      discountCode: null,
      sessionId: null,
      orderId: null,
      merchant: { name: STAN_MERCHANT.name, website: STAN_MERCHANT.website },
      lineItems: [
        { productId: 'mug', quantity: 3, unitPrice: money(1250, 'EUR', '12.50'), total: money(3750, 'EUR', '37.50') },
      ],
    });
    const [request] = stan.received.slice(from);
    expect(JSON.parse(request!.body)).toStrictEqual({
      return_url: 'https://shop.example/back',
      total_amount: 3750,
      subtotal_amount: 3750,
      line_items: [{ product_id: 'mug', quantity: 3, unit_price: 1250 }],
    });
  });

  it('never puts a provider credential in a GraphQL response or a log line', async () => {
    const result = await t.request(CheckoutsDocument, { first: 50 }, { apiKey: t.keys.b });
    const text = JSON.stringify(result) + t.logs.join('\n');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});

describe('the same flow against the built-in sandboxes', () => {
  const sandboxed = useTestApp();

  it('gives the same results, apart from test mode and provider-specific links and merchants', async () => {
    const own = await doneWhenFlow(sandboxed, { withCart: CUSTOMER_WITH_CART, withoutCart: 'empty-1' });
    expect(Object.keys(sandboxed.app.sandboxUrls).sort()).toEqual(['PAYERVAULT', 'SMARTCHECKOUT', 'STAN']);

    // What a frontend sees, from the sandboxes and from the independent servers.
    const shape = (flow: Awaited<ReturnType<typeof doneWhenFlow>>) => ({
      smart: [flow.smart.status, flow.smart.total, flow.smart.merchant?.name],
      refreshes: [flow.firstRefresh.status, flow.secondRefresh.status, flow.secondRefresh.total],
      payervault: [flow.payervault.status, flow.payervault.customerId, typeof flow.payervault.checkoutUrl],
      emptyCart: flow.emptyCart.__typename,
      stan: [
        flow.stan.status,
        flow.stan.subtotal,
        flow.stan.discount,
        flow.stan.tax,
        flow.stan.total,
        flow.stan.totalBeforeDiscount,
        flow.stan.lineItems,
      ],
      list: flow.list.edges.map((edge) => [edge.node.provider, edge.node.status]),
    });
    const external = await doneWhenFlow(t, { withCart: CUSTOMER_WITH_CART, withoutCart: CUSTOMER_WITHOUT_CART });
    const sandboxShape = shape(own);
    const externalShape = shape(external);
    // The external tenant `a` already holds the first flow's checkouts; compare the newest four.
    externalShape.list = externalShape.list.slice(0, 4);
    expect(externalShape).toEqual(sandboxShape);
    expect([own.smart, own.payervault, own.stan].map((c) => c.testMode)).toEqual([true, true, true]);
    expect([external.smart, external.payervault, external.stan].map((c) => c.testMode)).toEqual([false, false, false]);
  });
});
