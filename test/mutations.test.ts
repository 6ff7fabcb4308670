import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckoutDocument,
  CheckoutsDocument,
  CreatePayerVaultCheckoutDocument,
  CreateSmartCheckoutDocument,
  CreateStanCheckoutDocument,
  RefreshCheckoutDocument,
  type CheckoutProvider,
  type CreatePayerVaultCheckoutInput,
  type CreateSmartCheckoutInput,
  type CreateStanCheckoutInput,
} from './generated/graphql.js';
import { expectType, startScopedTestApp, useTestApp, type TestApp } from './support/app.js';
import { providersAt } from './support/env.js';
import { closedOrigin } from './support/net.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from './support/recording-server.js';
import { clean, createSmart, smartInput, stanInput } from './support/seed.js';

/*
 * The three create mutations and refreshCheckout, end to end over HTTP: the built-in sandboxes for
 * the happy paths, an independent recording server for provider faults, idempotency and secrets.
 */

const SMART_CHECKOUT_ID = 'a8043a0d-bb94-4d26-aa9f-8ca02ad146fd';

/** Credentials configured for the recording-server apps; none may ever surface. */
const SECRETS = {
  SMARTCHECKOUT_API_KEY: `sk-secret-${randomUUID()}`,
  PAYERVAULT_ACCESS_KEY: `pv-access-secret-${randomUUID()}`,
  PAYERVAULT_ACCESS_SECRET: `pv-secret-secret-${randomUUID()}`,
  STAN_CLIENT_ID: `stan-client-secret-${randomUUID()}`,
  STAN_CLIENT_SECRET: `stan-secret-secret-${randomUUID()}`,
};

/** The tenant's checkouts, newest first (ids and statuses). */
async function listCheckouts(t: TestApp, options: { apiKey?: string; provider?: CheckoutProvider } = {}) {
  const response = await t.request(
    CheckoutsDocument,
    { first: 100, filter: options.provider ? { provider: options.provider } : undefined },
    { apiKey: options.apiKey },
  );
  clean(response);
  return response.data!.checkouts.edges.map((edge) => edge.node);
}

async function getCheckout(t: TestApp, id: string) {
  const response = await t.request(CheckoutDocument, { id });
  clean(response);
  expect(response.data?.checkout).toBeTruthy();
  return response.data!.checkout!;
}

/** The one checkout the last failed create left behind, read back through the API. */
async function onlyNewCheckout(t: TestApp, before: { id: string }[]) {
  const after = await listCheckouts(t);
  const known = new Set(before.map((c) => c.id));
  const added = after.filter((c) => !known.has(c.id));
  expect(added).toHaveLength(1);
  return getCheckout(t, added[0]!.id);
}

// ---------------------------------------------------------------------------------------------
// Happy paths against the built-in sandboxes
// ---------------------------------------------------------------------------------------------

describe('against the built-in sandboxes', () => {
  const t = useTestApp();

  /** The checkout as refreshCheckout answers it (failing the test on any other answer). */
  async function refreshedCheckout(id: string) {
    const response = await t.request(RefreshCheckoutDocument, { id });
    clean(response);
    return expectType(response.data?.refreshCheckout, 'RefreshCheckoutSuccess').checkout;
  }

  describe('createSmartCheckout', () => {
    it('returns a PROCESSING test-mode checkout with its merchant, line item, events and user data', async () => {
      const productUrl = 'https://shop-one.example:8443/products/blue-shirt?sandbox_after_polls=3&ref=abc';
      const checkout = await createSmart(t, {
        productUrl,
        email: 'shopper@example.com',
        prompt: 'Size Large, Color Blue',
        shippingAddress: {
          name: 'Ada Lovelace',
          line1: '1 Rue de la Paix',
          city: 'Paris',
          postalCode: '75002',
          country: 'fr',
        },
        userData: { loyalty_id: 'L-42', gift: true, preferences: { wrap: 'red' } },
      });

      expect(checkout.provider).toBe('SMARTCHECKOUT');
      expect(checkout.status).toBe('PROCESSING');
      expect(checkout.testMode).toBe(true);
      expect(checkout.providerCheckoutId).toMatch(/\S/);
      expect(checkout.total).toBeNull();
      expect(checkout.merchant).toMatchObject({ name: 'shop-one.example', website: 'https://shop-one.example:8443' });
      expect(checkout.merchant!.id).toMatch(/\S/);
      expect(checkout.lineItems).toHaveLength(1);
      expect(checkout.lineItems[0]).toMatchObject({ productUrl, quantity: 1, unitPrice: null, total: null });
      expect(checkout.events.map((e) => [e.status, e.source])).toEqual([
        ['PENDING', 'api'],
        ['PROCESSING', 'smartcheckout'],
      ]);
      expect(checkout.productUrl).toBe(productUrl);
      expect(checkout.userData).toEqual({
        email: 'shopper@example.com',
        prompt: 'Size Large, Color Blue',
        shipping_address: {
          name: 'Ada Lovelace',
          line1: '1 Rue de la Paix',
          city: 'Paris',
          postal_code: '75002',
          country: 'FR',
        },
        loyalty_id: 'L-42',
        gift: true,
        preferences: { wrap: 'red' },
      });

      // Read back through the query: what was returned is what was stored.
      const stored = await getCheckout(t, checkout.id);
      expect(stored).toEqual({ __typename: 'SmartCheckout', ...checkout });
    });

    it('completes after the sandbox polls with an exact total, appending each event once', async () => {
      const checkout = await createSmart(t, {
        productUrl: 'https://shop.example/p?sandbox_after_polls=3&sandbox_amount=49.99&sandbox_currency=USD',
      });

      for (const poll of [1, 2]) {
        const still = await refreshedCheckout(checkout.id);
        expect(still.status, `poll ${poll}`).toBe('PROCESSING');
        expect(still.total).toBeNull();
        expect(still.events).toHaveLength(2);
      }
      const completed = await refreshedCheckout(checkout.id);
      expect(completed.status).toBe('COMPLETED');
      expect(completed.total).toEqual({ amount: 4999, currency: 'USD', decimal: '49.99' });
      expect(completed.events.map((e) => [e.status, e.source])).toEqual([
        ['PENDING', 'api'],
        ['PROCESSING', 'smartcheckout'],
        ['COMPLETED', 'smartcheckout'],
      ]);

      const again = await refreshedCheckout(checkout.id);
      expect(again.status).toBe('COMPLETED');
      expect(again.events).toEqual(completed.events);
      expect(again.updatedAt).toBe(completed.updatedAt);
      expect(again.total).toEqual(completed.total);
    });

    it.each([
      ['1000', 'JPY', { amount: 1000, currency: 'JPY', decimal: '1000' }],
      ['1.005', 'KWD', { amount: 1005, currency: 'KWD', decimal: '1.005' }],
      ['0.10', 'EUR', { amount: 10, currency: 'EUR', decimal: '0.10' }],
    ])('parses amount_str %s %s exactly', async (amount, currency, expected) => {
      const checkout = await createSmart(t, {
        productUrl: `https://shop.example/p?sandbox_after_polls=1&sandbox_amount=${amount}&sandbox_currency=${currency}`,
      });
      const completed = await refreshedCheckout(checkout.id);
      expect(completed.status).toBe('COMPLETED');
      expect(completed.total).toEqual(expected);
    });

    it('reports a failed purchase as FAILED with the provider notes', async () => {
      const checkout = await createSmart(t, {
        productUrl: 'https://shop.example/p?sandbox_outcome=failed&sandbox_after_polls=1',
      });
      const failed = await refreshedCheckout(checkout.id);
      expect(failed.status).toBe('FAILED');
      expect(failed.total).toBeNull();
      expect(failed.notes).toMatch(/could not be completed/);
      expect(failed.events.map((e) => e.status)).toEqual(['PENDING', 'PROCESSING', 'FAILED']);
      expect(failed.events[2]).toMatchObject({ source: 'smartcheckout', notes: failed.notes });

      const again = await refreshedCheckout(checkout.id);
      expect(again.events).toHaveLength(3);
    });

    it('shares one merchant between checkouts at the same store, and not with other stores or tenants', async () => {
      const first = await createSmart(t, { productUrl: 'https://same-store.example/a' });
      const second = await createSmart(t, { productUrl: 'https://same-store.example/b?x=1' });
      const other = await createSmart(t, { productUrl: 'https://other-store.example/a' });
      const otherTenant = await createSmart(t, { productUrl: 'https://same-store.example/a' }, { apiKey: t.keys.b });
      expect(first.merchant!.id).toBe(second.merchant!.id);
      expect(second.merchant).toEqual(first.merchant);
      expect(other.merchant!.id).not.toBe(first.merchant!.id);
      expect(other.merchant!.name).toBe('other-store.example');
      expect(otherTenant.merchant!.id).not.toBe(first.merchant!.id);
    });
  });

  describe('createPayerVaultCheckout', () => {
    it('returns an OPEN checkout with the hosted checkout URL for cust-1', async () => {
      const response = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-1' } });
      clean(response);
      const checkout = expectType(response.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;
      expect(checkout.provider).toBe('PAYERVAULT');
      expect(checkout.status).toBe('OPEN');
      expect(checkout.testMode).toBe(true);
      expect(() => new URL(checkout.checkoutUrl!)).not.toThrow();
      expect(checkout.customerId).toBe('cust-1');
      expect(checkout.events.map((e) => e.status)).toEqual(['PENDING', 'OPEN']);

      expect(await getCheckout(t, checkout.id)).toEqual({ __typename: 'PayerVaultCheckout', ...checkout });
      // No status endpoint: refresh returns it as stored.
      const refreshed = await refreshedCheckout(checkout.id);
      expect(refreshed).toEqual(checkout);
    });

    it('answers EmptyCartError for empty-1 and records the checkout as FAILED', async () => {
      const before = await listCheckouts(t, { provider: 'PAYERVAULT' });
      const response = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'empty-1' } });
      clean(response);
      const error = expectType(response.data?.createPayerVaultCheckout, 'EmptyCartError');
      expect(error).toMatchObject({
        code: 'EMPTY_CART',
        customerId: 'empty-1',
        providerMessage: 'No products in cart',
      });
      expect(error.message).toContain('empty-1');

      const after = await listCheckouts(t, { provider: 'PAYERVAULT' });
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]!.status).toBe('FAILED');
      const failedList = await t.request(CheckoutsDocument, {
        first: 100,
        filter: { provider: 'PAYERVAULT', status: ['FAILED'] },
      });
      expect(failedList.data!.checkouts.edges.map((e) => e.node.id)).toContain(after[0]!.id);
      const stored = await getCheckout(t, after[0]!.id);
      expect(stored.events.map((e) => e.status)).toEqual(['PENDING', 'FAILED']);
      expect(stored.notes).toMatch(/No products in cart/);
      expect(stored.checkoutUrl).toBeNull();
    });

    it('answers a retryable ProviderError with httpStatus 500 for error-1', async () => {
      const before = await listCheckouts(t);
      const response = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'error-1' } });
      clean(response);
      const error = expectType(response.data?.createPayerVaultCheckout, 'ProviderError');
      expect(error).toMatchObject({ code: 'PROVIDER_ERROR', provider: 'PAYERVAULT', retryable: true, httpStatus: 500 });
      const stored = await onlyNewCheckout(t, before);
      // A GET of a link creates nothing at PayerVault: certainly failed.
      expect(stored.status).toBe('FAILED');
    });
  });

  describe('createStanCheckout', () => {
    it('computes subtotal, tax and total and returns the merchant and line items', async () => {
      const response = await t.request(CreateStanCheckoutDocument, {
        input: stanInput({
          lineItems: [
            {
              productId: 'sku-1',
              quantity: 2,
              unitPrice: 1250,
              description: 'Mug',
              sku: 'MUG-1',
              imageUrl: 'https://store.example/mug.png',
              productUrl: 'https://store.example/mug',
            },
          ],
          discountAmount: 100,
          discountCode: 'WELCOME',
          taxRate: 20,
          sessionId: 'cart-77',
          orderId: 'order-9',
        }),
      });
      clean(response);
      const checkout = expectType(response.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout;
      expect(checkout.provider).toBe('STAN');
      expect(checkout.status).toBe('OPEN');
      expect(checkout.testMode).toBe(true);
      expect(checkout.providerCheckoutId).toMatch(/\S/);
      expect(checkout.subtotal).toEqual({ amount: 2500, currency: 'EUR', decimal: '25.00' });
      expect(checkout.discount).toEqual({ amount: 100, currency: 'EUR', decimal: '1.00' });
      expect(checkout.tax).toEqual({ amount: 480, currency: 'EUR', decimal: '4.80' });
      expect(checkout.total).toEqual({ amount: 2880, currency: 'EUR', decimal: '28.80' });
      expect(checkout.totalBeforeDiscount?.amount).toBe(2980);
      expect(checkout).toMatchObject({
        taxRate: 20,
        discountCode: 'WELCOME',
        sessionId: 'cart-77',
        orderId: 'order-9',
        returnUrl: 'https://store.example/return',
      });
      expect(checkout.merchant).toMatchObject({ name: 'Stan Sandbox Shop' });
      expect(checkout.lineItems).toEqual([
        {
          productId: 'sku-1',
          description: 'Mug',
          sku: 'MUG-1',
          quantity: 2,
          imageUrl: 'https://store.example/mug.png',
          productUrl: 'https://store.example/mug',
          unitPrice: { amount: 1250, currency: 'EUR', decimal: '12.50' },
          discount: null,
          total: { amount: 2500, currency: 'EUR', decimal: '25.00' },
        },
      ]);
      expect(checkout.events.map((e) => [e.status, e.source])).toEqual([
        ['PENDING', 'api'],
        ['OPEN', 'stan'],
      ]);

      expect(await getCheckout(t, checkout.id)).toEqual({ __typename: 'StanCheckout', ...checkout });
      const refreshed = await refreshedCheckout(checkout.id);
      expect(refreshed).toEqual(checkout);
    });

    it('computes line totals with line discounts, and accepts given totals that agree', async () => {
      const response = await t.request(CreateStanCheckoutDocument, {
        input: stanInput({
          lineItems: [
            { productId: 'a', quantity: 3, unitPrice: 999, discountAmount: 97 },
            { productId: 'b', quantity: 1, unitPrice: 5 },
          ],
          taxCost: 50,
          subtotalAmount: 2905,
          totalAmount: 2955,
        }),
      });
      clean(response);
      const checkout = expectType(response.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout;
      expect(
        checkout.lineItems.map((item) => [item.productId, item.discount?.amount ?? null, item.total?.amount]),
      ).toEqual([
        ['a', 97, 2900],
        ['b', null, 5],
      ]);
      expect(checkout.subtotal.amount).toBe(2905);
      expect(checkout.tax?.amount).toBe(50);
      expect(checkout.total?.amount).toBe(2955);
    });

    it('shares one merchant between Stan checkouts', async () => {
      const ids = [];
      for (const orderId of ['o-1', 'o-2']) {
        const response = await t.request(CreateStanCheckoutDocument, { input: stanInput({ orderId }) });
        ids.push(expectType(response.data?.createStanCheckout, 'CreateStanCheckoutSuccess').checkout.merchant!.id);
      }
      expect(ids[0]).toMatch(/\S/);
      expect(ids[1]).toBe(ids[0]);
    });

    it.each([
      ['subtotalAmount', { subtotalAmount: 2499 }],
      ['totalAmount', { totalAmount: 2501 }],
    ] as const)('rejects a given %s that disagrees with the lines', async (field, overrides) => {
      const before = await listCheckouts(t, { provider: 'STAN' });
      const response = await t.request(CreateStanCheckoutDocument, { input: stanInput(overrides) });
      clean(response);
      const error = expectType(response.data?.createStanCheckout, 'ValidationError');
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.fieldErrors.map((e) => e.path)).toContainEqual(['input', field]);
      expect(await listCheckouts(t, { provider: 'STAN' })).toEqual(before);
    });
  });

  describe('refreshCheckout', () => {
    it.each([
      ['an unknown well-formed id', () => Buffer.from(`SmartCheckout:${randomUUID()}`).toString('base64')],
      ['a malformed id', () => 'not-a-global-id!!'],
      ['an id of another type', () => Buffer.from(`Merchant:${randomUUID()}`).toString('base64')],
      ['an empty id', () => ''],
    ])('answers NotFoundError for %s', async (_label, makeId) => {
      const id = makeId();
      const response = await t.request(RefreshCheckoutDocument, { id });
      clean(response);
      const error = expectType(response.data?.refreshCheckout, 'NotFoundError');
      expect(error).toMatchObject({ code: 'NOT_FOUND', id });
    });

    it("answers NotFoundError for another tenant's checkout", async () => {
      const checkout = await createSmart(
        t,
        { productUrl: 'https://shop.example/tenant-b?sandbox_after_polls=1' },
        { apiKey: t.keys.b },
      );
      const response = await t.request(RefreshCheckoutDocument, { id: checkout.id });
      expectType(response.data?.refreshCheckout, 'NotFoundError');
      // And the refresh did not touch it: tenant b still sees it PROCESSING.
      const asB = await t.request(CheckoutDocument, { id: checkout.id }, { apiKey: t.keys.b });
      expect(asB.data?.checkout?.status).toBe('PROCESSING');
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Validation: nothing stored, nothing sent
// ---------------------------------------------------------------------------------------------

describe('ValidationError for bad input', () => {
  let recorder: Awaited<ReturnType<typeof startRecordingServer>>;
  beforeAll(async () => {
    // Every provider points at a recorder: any provider call at all would show up here.
    recorder = await startRecordingServer(() => ({ status: 500, body: { message: 'must not be called' } }));
  });
  afterAll(async () => {
    await recorder?.close();
  });
  const t = useTestApp(() => providersAt(recorder.url, {}, SECRETS));

  /** After each rejected input: no provider request, no row for either tenant. */
  async function expectNothingHappened() {
    expect(recorder.requests).toEqual([]);
    expect(await listCheckouts(t)).toEqual([]);
    expect(await listCheckouts(t, { apiKey: t.keys.b })).toEqual([]);
  }

  function pathsOf(fieldErrors: { path: string[]; message: string }[]) {
    for (const error of fieldErrors) expect(error.message).toMatch(/\S/);
    return fieldErrors.map((error) => error.path);
  }

  const long = (n: number) => 'x'.repeat(n);

  const smartCases: [string, Partial<CreateSmartCheckoutInput>, string[][]][] = [
    ['a product URL that is not a URL', { productUrl: 'not a url' }, [['input', 'productUrl']]],
    ['a relative product URL', { productUrl: '/products/1' }, [['input', 'productUrl']]],
    ['a non-http product URL', { productUrl: 'ftp://shop.example/p' }, [['input', 'productUrl']]],
    ['an empty product URL', { productUrl: '' }, [['input', 'productUrl']]],
    ['an over-long product URL', { productUrl: `https://shop.example/${long(2100)}` }, [['input', 'productUrl']]],
    ['a bad email', { email: 'not-an-email' }, [['input', 'email']]],
    ['an empty email', { email: '' }, [['input', 'email']]],
    ['an empty prompt', { prompt: '' }, [['input', 'prompt']]],
    ['a blank prompt', { prompt: '   ' }, [['input', 'prompt']]],
    ['a prompt of 2001 characters', { prompt: long(2001) }, [['input', 'prompt']]],
    [
      'userData with the reserved key email',
      { userData: { email: 'other@example.com' } },
      [['input', 'userData', 'email']],
    ],
    [
      'userData with the reserved key shipping_address',
      { userData: { shipping_address: {} } },
      [['input', 'userData', 'shipping_address']],
    ],
    ['userData that is a string', { userData: 'hello' }, [['input', 'userData']]],
    ['userData that is an array', { userData: [1, 2] }, [['input', 'userData']]],
    ['userData that is a number', { userData: 42 }, [['input', 'userData']]],
    [
      'a bad country code',
      { shippingAddress: { line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FRA' } },
      [['input', 'shippingAddress', 'country']],
    ],
    [
      'an empty address line',
      { shippingAddress: { line1: '', city: 'Paris', postalCode: '75001', country: 'FR' } },
      [['input', 'shippingAddress', 'line1']],
    ],
    ['an empty idempotency key', { idempotencyKey: '' }, [['input', 'idempotencyKey']]],
    ['an idempotency key of 256 characters', { idempotencyKey: long(256) }, [['input', 'idempotencyKey']]],
    ['an idempotency key with a control character', { idempotencyKey: 'key\u0001' }, [['input', 'idempotencyKey']]],
    ['an idempotency key with a line break', { idempotencyKey: 'key\nnext' }, [['input', 'idempotencyKey']]],
    ['an idempotency key with non-ASCII', { idempotencyKey: 'clé' }, [['input', 'idempotencyKey']]],
    [
      'several bad fields at once',
      { productUrl: 'nope', email: 'nope', prompt: long(2001), idempotencyKey: '' },
      [
        ['input', 'idempotencyKey'],
        ['input', 'productUrl'],
        ['input', 'email'],
        ['input', 'prompt'],
      ],
    ],
  ];

  it.each(smartCases)('createSmartCheckout: %s', async (_label, overrides, paths) => {
    const response = await t.request(CreateSmartCheckoutDocument, { input: smartInput(overrides) });
    clean(response);
    const error = expectType(response.data?.createSmartCheckout, 'ValidationError');
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(new Set(pathsOf(error.fieldErrors).map((p) => JSON.stringify(p)))).toEqual(
      new Set(paths.map((p) => JSON.stringify(p))),
    );
    await expectNothingHappened();
  });

  const payerVaultCases: [string, Partial<CreatePayerVaultCheckoutInput>, string[][]][] = [
    ['an empty customer id', { customerId: '' }, [['input', 'customerId']]],
    ['a blank customer id', { customerId: '  ' }, [['input', 'customerId']]],
    ['a customer id of 256 characters', { customerId: long(256) }, [['input', 'customerId']]],
    ['a customer id with a control character', { customerId: 'cust\u0000' }, [['input', 'customerId']]],
    [
      'a bad idempotency key and customer id',
      { customerId: '', idempotencyKey: long(256) },
      [
        ['input', 'customerId'],
        ['input', 'idempotencyKey'],
      ],
    ],
  ];

  it.each(payerVaultCases)('createPayerVaultCheckout: %s', async (_label, overrides, paths) => {
    const response = await t.request(CreatePayerVaultCheckoutDocument, {
      input: { customerId: 'cust-1', ...overrides },
    });
    clean(response);
    const error = expectType(response.data?.createPayerVaultCheckout, 'ValidationError');
    expect(new Set(pathsOf(error.fieldErrors).map((p) => JSON.stringify(p)))).toEqual(
      new Set(paths.map((p) => JSON.stringify(p))),
    );
    await expectNothingHappened();
  });

  const line = { productId: 'p', quantity: 1, unitPrice: 100 };
  const stanCases: [string, Partial<CreateStanCheckoutInput>, string[][]][] = [
    ['a bad return URL', { returnUrl: 'javascript:alert(1)' }, [['input', 'returnUrl']]],
    ['zero line items', { lineItems: [] }, [['input', 'lineItems']]],
    ['101 line items', { lineItems: Array.from({ length: 101 }, () => line) }, [['input', 'lineItems']]],
    ['quantity 0', { lineItems: [{ ...line, quantity: 0 }] }, [['input', 'lineItems', '0', 'quantity']]],
    [
      'a negative quantity',
      { lineItems: [line, { ...line, quantity: -3 }] },
      [['input', 'lineItems', '1', 'quantity']],
    ],
    ['a negative unit price', { lineItems: [{ ...line, unitPrice: -1 }] }, [['input', 'lineItems', '0', 'unitPrice']]],
    [
      'a negative line discount',
      { lineItems: [{ ...line, discountAmount: -1 }] },
      [['input', 'lineItems', '0', 'discountAmount']],
    ],
    [
      'a line discount above the line',
      { lineItems: [{ ...line, discountAmount: 101 }] },
      [['input', 'lineItems', '0', 'discountAmount']],
    ],
    ['a negative checkout discount', { discountAmount: -5 }, [['input', 'discountAmount']]],
    ['a negative tax cost', { taxCost: -1 }, [['input', 'taxCost']]],
    ['a negative tax rate', { taxRate: -1 }, [['input', 'taxRate']]],
    ['a negative total', { totalAmount: -1 }, [['input', 'totalAmount']]],
    ['an empty product id', { lineItems: [{ ...line, productId: '' }] }, [['input', 'lineItems', '0', 'productId']]],
    [
      'an over-long product id',
      { lineItems: [{ ...line, productId: long(256) }] },
      [['input', 'lineItems', '0', 'productId']],
    ],
    ['a bad image URL', { lineItems: [{ ...line, imageUrl: 'image.png' }] }, [['input', 'lineItems', '0', 'imageUrl']]],
    ['an empty session id', { sessionId: '' }, [['input', 'sessionId']]],
    ['an over-long order id', { orderId: long(256) }, [['input', 'orderId']]],
    ['a bad idempotency key', { idempotencyKey: '\u0007' }, [['input', 'idempotencyKey']]],
    [
      'several bad fields at once',
      {
        returnUrl: 'nope',
        discountAmount: -1,
        lineItems: [
          { ...line, quantity: 0 },
          { ...line, unitPrice: -2 },
        ],
      },
      [
        ['input', 'returnUrl'],
        ['input', 'discountAmount'],
        ['input', 'lineItems', '0', 'quantity'],
        ['input', 'lineItems', '1', 'unitPrice'],
      ],
    ],
  ];

  it.each(stanCases)('createStanCheckout: %s', async (_label, overrides, paths) => {
    const response = await t.request(CreateStanCheckoutDocument, { input: stanInput(overrides) });
    clean(response);
    const error = expectType(response.data?.createStanCheckout, 'ValidationError');
    const got = pathsOf(error.fieldErrors).map((p) => JSON.stringify(p));
    // Every expected path is reported (follow-up errors on derived totals are allowed), each once:
    // a field refused for its shape is not refused again by the totals' cross-check.
    for (const path of paths) expect(got).toContain(JSON.stringify(path));
    expect(got.length, got.join(' ')).toBe(new Set(got).size);
    await expectNothingHappened();
  });

  it('createStanCheckout: quantity 0 is one error, in the words of a quantity', async () => {
    const response = await t.request(CreateStanCheckoutDocument, {
      input: stanInput({ lineItems: [{ ...line, quantity: 0 }] }),
    });
    const error = expectType(clean(response).createStanCheckout, 'ValidationError');
    expect(error.fieldErrors).toEqual([
      { path: ['input', 'lineItems', '0', 'quantity'], message: 'must be at least 1' },
    ]);
  });

  it.each([
    [
      'a fractional unit price',
      { lineItems: [{ productId: 'p', quantity: 1, unitPrice: 1.5 }] },
      'input.lineItems[0].unitPrice',
      'SafeInt',
    ],
    [
      'a fractional quantity',
      { lineItems: [{ productId: 'p', quantity: 1.5, unitPrice: 100 }] },
      'input.lineItems[0].quantity',
      'Int',
    ],
    [
      'a quantity beyond 32-bit Int',
      { lineItems: [{ productId: 'p', quantity: 2 ** 31, unitPrice: 100 }] },
      'input.lineItems[0].quantity',
      'Int',
    ],
    ['a fractional discount', { discountAmount: 0.5 }, 'input.discountAmount', 'SafeInt'],
    [
      'a unit price beyond 2^53 - 1',
      { lineItems: [{ productId: 'p', quantity: 1, unitPrice: 2 ** 53 }] },
      'input.lineItems[0].unitPrice',
      'SafeInt',
    ],
    ['a total beyond 2^53 - 1', { totalAmount: 1e16 }, 'input.totalAmount', 'SafeInt'],
  ] as const)(
    'refuses %s at GraphQL scalar coercion, before any resolver',
    async (_label, overrides, field, scalar) => {
      const response = await t.request(CreateStanCheckoutDocument, {
        input: stanInput(overrides as Partial<CreateStanCheckoutInput>),
      });
      expect(response.data ?? null).toBeNull();
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.message).toContain(`at "${field}"`);
      expect(response.errors![0]!.message).toMatch(new RegExp(`(^|[^a-zA-Z])${scalar} cannot represent`));
      // A request error (GraphQL over HTTP with application/graphql-response+json), never a 500.
      expect(response.status).toBe(400);
      await expectNothingHappened();
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Provider faults, idempotency and secrets against an independent recording server
// ---------------------------------------------------------------------------------------------

describe('against a recording server', () => {
  let recorder: Awaited<ReturnType<typeof startRecordingServer>>;
  let respond: (request: RecordedRequest) => CannedResponse;
  /** Every raw response body this block received, for the secrets check. */
  const bodies: string[] = [];
  const TIMEOUT_MS = 300;

  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
  });
  afterAll(async () => {
    await recorder?.close();
  });
  const t = useTestApp(() => providersAt(recorder.url, { PROVIDER_TIMEOUT_MS: String(TIMEOUT_MS) }, SECRETS));
  beforeEach(() => {
    recorder.requests.length = 0;
    respond = smartcheckoutDoc();
  });

  /** Follows the Smartcheckout document: POST answers processing, GET answers `getStatus`. */
  function smartcheckoutDoc(
    getStatus: () => CannedResponse = () => ({ status: 200, body: { id: SMART_CHECKOUT_ID, status: 'processing' } }),
  ) {
    return (request: RecordedRequest): CannedResponse => {
      if (request.method === 'POST' && request.path === '/v0/checkout') {
        return { status: 200, body: { checkout_id: SMART_CHECKOUT_ID, status: 'processing' } };
      }
      if (request.method === 'GET' && request.path === `/v0/checkout/${SMART_CHECKOUT_ID}`) return getStatus();
      return { status: 404, body: { message: 'not found' } };
    };
  }

  /** Sends one operation, keeping its response body for the secrets check. */
  async function sendRecorded<R, V>(document: TypedDocumentNode<R, V>, variables: V, apiKey?: string): Promise<R> {
    const response = await t.request(document, variables, { apiKey });
    bodies.push(JSON.stringify(response.data ?? null), JSON.stringify(response.errors ?? null));
    clean(response);
    return response.data!;
  }

  const createSmartRecorded = (input: CreateSmartCheckoutInput, apiKey?: string) =>
    sendRecorded(CreateSmartCheckoutDocument, { input }, apiKey).then((d) => d.createSmartCheckout);
  const createPayerVaultRecorded = (input: CreatePayerVaultCheckoutInput) =>
    sendRecorded(CreatePayerVaultCheckoutDocument, { input }).then((d) => d.createPayerVaultCheckout);
  const createStanRecorded = (input: CreateStanCheckoutInput) =>
    sendRecorded(CreateStanCheckoutDocument, { input }).then((d) => d.createStanCheckout);
  const refreshRecorded = (id: string) => sendRecorded(RefreshCheckoutDocument, { id }).then((d) => d.refreshCheckout);

  describe('Smartcheckout create failures become ProviderError', () => {
    it.each([
      [
        '500',
        { status: 500, body: { message: 'Internal error' } },
        { retryable: false, httpStatus: 500, providerMessage: 'Internal error' },
        'UNKNOWN',
      ],
      ['502 without a body', { status: 502 }, { retryable: false, httpStatus: 502, providerMessage: null }, 'UNKNOWN'],
      [
        '400 with a message',
        { status: 400, body: { message: 'url is not a product page' } },
        { retryable: false, httpStatus: 400, providerMessage: 'url is not a product page' },
        'FAILED',
      ],
      [
        '401',
        { status: 401, body: { message: 'Invalid API key' } },
        { retryable: false, httpStatus: 401, providerMessage: 'Invalid API key' },
        'FAILED',
      ],
      [
        '429',
        { status: 429, body: { message: 'Too many requests' } },
        { retryable: true, httpStatus: 429, providerMessage: 'Too many requests' },
        'FAILED',
      ],
      [
        'malformed JSON on 200',
        { status: 200, rawBody: '{"checkout_id": "abc", "status": ' },
        { retryable: false, httpStatus: 200 },
        'UNKNOWN',
      ],
      [
        'a 200 without checkout_id',
        { status: 200, body: { status: 'processing' } },
        { retryable: false, httpStatus: 200 },
        'UNKNOWN',
      ],
      [
        'a timeout',
        { status: 200, body: { checkout_id: SMART_CHECKOUT_ID, status: 'processing' }, delayMs: TIMEOUT_MS + 700 },
        { retryable: false, httpStatus: null },
        'UNKNOWN',
      ],
    ] as [string, CannedResponse, Record<string, unknown>, 'UNKNOWN' | 'FAILED'][])(
      '%s',
      // An ambiguous create (UNKNOWN) is not retryable: a retry under a new key could buy twice.
      async (_label, canned, expected, rowStatus) => {
        respond = () => canned;
        const before = await listCheckouts(t);
        const result = await createSmartRecorded(smartInput());
        const error = expectType(result, 'ProviderError');
        expect(error).toMatchObject({ code: 'PROVIDER_ERROR', provider: 'SMARTCHECKOUT', ...expected });
        expect(error.message).toMatch(/Smartcheckout/);
        // Exactly one POST, never retried blindly.
        expect(recorder.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v0/checkout']);

        const stored = await onlyNewCheckout(t, before);
        expect(stored.status).toBe(rowStatus);
        expect(stored.notes).toMatch(/\S/);
        if (rowStatus === 'UNKNOWN') expect(stored.notes).toMatch(/may have created/);
        // The error points at the checkout it left behind, so a client can watch or report it.
        expect(error.leftBehind).toEqual({ id: stored.id, status: rowStatus });
        expect(stored.events.map((e) => e.status)).toEqual(['PENDING', rowStatus]);
        expect(stored.providerCheckoutId).toBeNull();
      },
    );

    it('a refused connection is retryable and FAILED, since nothing was delivered', async () => {
      const app = await startScopedTestApp({
        SMARTCHECKOUT_BASE_URL: await closedOrigin(),
        SMARTCHECKOUT_API_KEY: SECRETS.SMARTCHECKOUT_API_KEY,
      });
      const response = await app.request(CreateSmartCheckoutDocument, { input: smartInput() });
      clean(response);
      bodies.push(JSON.stringify(response.data));
      const error = expectType(response.data?.createSmartCheckout, 'ProviderError');
      expect(error).toMatchObject({ provider: 'SMARTCHECKOUT', retryable: true, httpStatus: null });
      const [row] = await listCheckouts(app);
      const stored = await getCheckout(app, row!.id);
      expect(stored.status).toBe('FAILED');
      expect(stored.notes).toMatch(/ECONNREFUSED|reached/);
      for (const line of app.logs) expect(line).not.toContain(SECRETS.SMARTCHECKOUT_API_KEY);
    });
  });

  describe('PayerVault and Stan failures become ProviderError', () => {
    it.each([
      [
        '500',
        { status: 500, body: { message: 'boom' } },
        { retryable: true, httpStatus: 500, providerMessage: 'boom' },
      ],
      ['503 without a body', { status: 503 }, { retryable: true, httpStatus: 503 }],
      ['401', { status: 401, body: { message: 'bad credentials' } }, { retryable: false, httpStatus: 401 }],
      [
        'a timeout',
        { status: 200, body: { url: 'https://pay.example/c/1' }, delayMs: TIMEOUT_MS + 700 },
        { retryable: true, httpStatus: null },
      ],
      ['malformed JSON on 200', { status: 200, rawBody: '<html>' }, { retryable: false, httpStatus: 200 }],
    ] as [string, CannedResponse, Record<string, unknown>][])(
      'PayerVault %s (checkout FAILED)',
      async (_label, canned, expected) => {
        respond = () => canned;
        const before = await listCheckouts(t);
        const error = expectType(await createPayerVaultRecorded({ customerId: 'cust-1' }), 'ProviderError');
        expect(error).toMatchObject({ provider: 'PAYERVAULT', ...expected });
        expect(recorder.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/checkout-link/cust-1']);
        const stored = await onlyNewCheckout(t, before);
        // A link GET creates nothing at PayerVault, so even an unanswered one certainly failed.
        expect(stored.status).toBe('FAILED');
        expect(stored.notes).toMatch(/PayerVault/);
      },
    );

    it('PayerVault 404 with its documented message is an EmptyCartError', async () => {
      respond = () => ({ status: 404, body: { message: 'No products in cart' } });
      const error = expectType(await createPayerVaultRecorded({ customerId: 'cust/with space' }), 'EmptyCartError');
      expect(error).toMatchObject({ customerId: 'cust/with space', providerMessage: 'No products in cart' });
      expect(recorder.requests[0]!.path).toBe('/api/v1/checkout-link/cust%2Fwith%20space');
    });

    it.each([
      [
        '500',
        { status: 500, body: { message: 'Stan is down' } },
        { retryable: false, httpStatus: 500, providerMessage: 'Stan is down' },
        'UNKNOWN',
      ],
      [
        '400',
        { status: 400, body: { message: 'line_items.0.unit_price: invalid' } },
        { retryable: false, httpStatus: 400, providerMessage: 'line_items.0.unit_price: invalid' },
        'FAILED',
      ],
      [
        'a timeout',
        { status: 200, body: { id: 'stan-1' }, delayMs: TIMEOUT_MS + 700 },
        { retryable: false, httpStatus: null },
        'UNKNOWN',
      ],
    ] as [string, CannedResponse, Record<string, unknown>, string][])(
      'Stan %s',
      async (_label, canned, expected, rowStatus) => {
        respond = () => canned;
        const before = await listCheckouts(t);
        const error = expectType(await createStanRecorded(stanInput()), 'ProviderError');
        expect(error).toMatchObject({ provider: 'STAN', ...expected });
        expect(recorder.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v1/checkouts']);
        const stored = await onlyNewCheckout(t, before);
        expect(stored.status).toBe(rowStatus);
        expect(stored.notes).toMatch(/\S/);
      },
    );
  });

  describe('idempotency', () => {
    it('replays the same key and input without a second provider POST', async () => {
      const key = `order-${randomUUID()}`;
      const input = smartInput({ idempotencyKey: key, prompt: 'Size M', userData: { a: 1, b: { c: 2 } } });
      const first = expectType(await createSmartRecorded(input), 'CreateSmartCheckoutSuccess').checkout;
      expect(first.providerCheckoutId).toBe(SMART_CHECKOUT_ID);
      expect(first.testMode).toBe(false);
      // Same input with keys in another order is the same request.
      const second = expectType(
        await createSmartRecorded({
          userData: { b: { c: 2 }, a: 1 },
          prompt: 'Size M',
          email: input.email,
          productUrl: input.productUrl,
          idempotencyKey: key,
        }),
        'CreateSmartCheckoutSuccess',
      ).checkout;
      expect(second.id).toBe(first.id);
      expect(second.status).toBe('PROCESSING');
      expect(recorder.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      expect((await listCheckouts(t)).filter((c) => c.id === first.id)).toHaveLength(1);
    });

    it('answers IdempotencyKeyReuseError for the same key with another input', async () => {
      const key = `order-${randomUUID()}`;
      expectType(await createSmartRecorded(smartInput({ idempotencyKey: key })), 'CreateSmartCheckoutSuccess');
      const before = await listCheckouts(t);
      const reuse = expectType(
        await createSmartRecorded(smartInput({ idempotencyKey: key, prompt: 'different' })),
        'IdempotencyKeyReuseError',
      );
      expect(reuse).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSE', idempotencyKey: key });
      // Another provider under the same key is another input too.
      const other = expectType(
        await createStanRecorded(stanInput({ idempotencyKey: key })),
        'IdempotencyKeyReuseError',
      );
      expect(other.idempotencyKey).toBe(key);
      expect(recorder.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
      expect(await listCheckouts(t)).toEqual(before);
    });

    it('keeps keys per tenant', async () => {
      const key = `order-${randomUUID()}`;
      const asA = expectType(
        await createSmartRecorded(smartInput({ idempotencyKey: key })),
        'CreateSmartCheckoutSuccess',
      ).checkout;
      const asB = expectType(
        await createSmartRecorded(smartInput({ idempotencyKey: key, prompt: 'b' }), t.keys.b),
        'CreateSmartCheckoutSuccess',
      ).checkout;
      expect(asB.id).not.toBe(asA.id);
      expect(recorder.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
      // Each tenant's replay finds its own checkout.
      const replayB = expectType(
        await createSmartRecorded(smartInput({ idempotencyKey: key, prompt: 'b' }), t.keys.b),
        'CreateSmartCheckoutSuccess',
      ).checkout;
      expect(replayB.id).toBe(asB.id);
      expect(recorder.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    });

    it('replays a failed create as the same typed error, without calling the provider again', async () => {
      const key = `order-${randomUUID()}`;
      respond = () => ({ status: 400, body: { message: 'rejected' } });
      const first = expectType(await createSmartRecorded(smartInput({ idempotencyKey: key })), 'ProviderError');
      respond = smartcheckoutDoc();
      const replay = expectType(await createSmartRecorded(smartInput({ idempotencyKey: key })), 'ProviderError');
      expect(replay).toEqual(first);
      expect(recorder.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });
  });

  describe('refreshCheckout against the provider', () => {
    it('keeps the status when the status GET fails, and reports a retryable ProviderError', async () => {
      const created = expectType(await createSmartRecorded(smartInput()), 'CreateSmartCheckoutSuccess').checkout;
      respond = smartcheckoutDoc(() => ({ status: 503, body: { message: 'maintenance' } }));
      const error = expectType(await refreshRecorded(created.id), 'ProviderError');
      expect(error).toMatchObject({
        provider: 'SMARTCHECKOUT',
        retryable: true,
        httpStatus: 503,
        providerMessage: 'maintenance',
      });
      const stored = await getCheckout(t, created.id);
      expect(stored.status).toBe('PROCESSING');
      expect(stored.events).toEqual(created.events);

      respond = smartcheckoutDoc(() => ({
        status: 200,
        body: { id: SMART_CHECKOUT_ID, status: 'processing' },
        delayMs: TIMEOUT_MS + 700,
      }));
      const timeout = expectType(await refreshRecorded(created.id), 'ProviderError');
      expect(timeout).toMatchObject({ retryable: true, httpStatus: null });
      expect((await getCheckout(t, created.id)).status).toBe('PROCESSING');
    });

    it('does not ask the provider again once the checkout is COMPLETED', async () => {
      const created = expectType(await createSmartRecorded(smartInput()), 'CreateSmartCheckoutSuccess').checkout;
      respond = smartcheckoutDoc(() => ({
        status: 200,
        body: { id: SMART_CHECKOUT_ID, status: 'completed', amount_str: '49.99', currency: 'USD', notes: '' },
      }));
      const completed = expectType(await refreshRecorded(created.id), 'RefreshCheckoutSuccess').checkout;
      expect(completed.status).toBe('COMPLETED');
      expect(completed.total).toEqual({ amount: 4999, currency: 'USD', decimal: '49.99' });
      expect(completed.events.map((e) => e.status)).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
      const gets = () => recorder.requests.filter((r) => r.method === 'GET').length;
      expect(gets()).toBe(1);

      const again = expectType(await refreshRecorded(created.id), 'RefreshCheckoutSuccess').checkout;
      expect(again.events).toEqual(completed.events);
      expect(gets()).toBe(1);
    });

    it('a malformed status answer is a non-retryable ProviderError and changes nothing', async () => {
      const created = expectType(await createSmartRecorded(smartInput()), 'CreateSmartCheckoutSuccess').checkout;
      respond = smartcheckoutDoc(() => ({ status: 200, rawBody: 'not json' }));
      const error = expectType(await refreshRecorded(created.id), 'ProviderError');
      expect(error).toMatchObject({ retryable: false, httpStatus: 200 });
      expect((await getCheckout(t, created.id)).status).toBe('PROCESSING');
    });
  });

  describe('secrets', () => {
    it('sends the configured credentials to the provider only', async () => {
      respond = () => ({ status: 401, body: { message: 'Unauthorized' } });
      await createSmartRecorded(smartInput());
      await createPayerVaultRecorded({ customerId: 'cust-1' });
      await createStanRecorded(stanInput());
      const [smart, payerVault, stan] = recorder.requests;
      expect(smart!.headers.authorization).toBe(`Bearer ${SECRETS.SMARTCHECKOUT_API_KEY}`);
      expect(payerVault!.headers.accesskey).toBe(SECRETS.PAYERVAULT_ACCESS_KEY);
      expect(payerVault!.headers.accesssecret).toBe(SECRETS.PAYERVAULT_ACCESS_SECRET);
      expect(stan!.headers.authorization).toBe(
        `Basic ${Buffer.from(`${SECRETS.STAN_CLIENT_ID}:${SECRETS.STAN_CLIENT_SECRET}`).toString('base64')}`,
      );
    });

    it('never puts a credential or API key in a response body or a log line', async () => {
      // This block's app has answered every kind of error above; add ones that echo the request.
      respond = (request) => ({ status: 500, body: { message: 'upstream failed', error: request.path } });
      await createSmartRecorded(smartInput());
      await createPayerVaultRecorded({ customerId: 'cust-1' });
      await createStanRecorded(stanInput());

      const forbidden = [
        ...Object.values(SECRETS),
        Buffer.from(`${SECRETS.STAN_CLIENT_ID}:${SECRETS.STAN_CLIENT_SECRET}`).toString('base64'),
        t.keys.a,
        t.keys.b,
      ];
      expect(bodies.length).toBeGreaterThan(20);
      expect(t.logs.length).toBeGreaterThan(0);
      for (const secret of forbidden) {
        for (const body of bodies) expect(body).not.toContain(secret);
        for (const line of t.logs) expect(line).not.toContain(secret);
      }
    });

    // Runs last: when it fails, the leak must not also fail the general check above.
    it('does not pass on a provider error message that echoes our credential', async () => {
      // A misbehaving provider (or proxy) quoting our credential back in its error message.
      const logsBefore = t.logs.length;
      respond = (request) => ({
        status: 401,
        body: { message: `invalid key in header: ${request.headers.authorization ?? ''}` },
      });
      const error = expectType(await createSmartRecorded(smartInput()), 'ProviderError');
      expect(error.httpStatus).toBe(401);
      expect(JSON.stringify(error)).not.toContain(SECRETS.SMARTCHECKOUT_API_KEY);
      respond = (request) => ({ status: 500, body: { message: `bad secret ${String(request.headers.accesssecret)}` } });
      const payerVault = expectType(await createPayerVaultRecorded({ customerId: 'cust-1' }), 'ProviderError');
      expect(JSON.stringify(payerVault)).not.toContain(SECRETS.PAYERVAULT_ACCESS_SECRET);
      for (const line of t.logs.slice(logsBefore)) {
        expect(line).not.toContain(SECRETS.SMARTCHECKOUT_API_KEY);
        expect(line).not.toContain(SECRETS.PAYERVAULT_ACCESS_SECRET);
      }
    });
  });
});
