import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import {
  CheckoutDocument,
  CheckoutsDocument,
  CreatePayerVaultCheckoutDocument,
  CreateSmartCheckoutDocument,
  CreateStanCheckoutDocument,
  type CreatePayerVaultCheckoutInput,
  type CreateSmartCheckoutInput,
  type CreateStanCheckoutInput,
} from '../generated/graphql.js';
import { expectType, type GraphQLResponse, type TestApp } from './app.js';

/*
 * Seed and flow helpers shared by the test files: inputs with sensible defaults, the create
 * mutations (as their result union, or as the created checkout), and the reads tests use most.
 */

/** A 200 with data and no GraphQL `errors`: its data. */
export function clean<T>(response: GraphQLResponse<T>): T {
  expect(response.status, JSON.stringify(response.errors)).toBe(200);
  expect(response.errors).toBeUndefined();
  return response.data!;
}

/** A product page of the Smartcheckout sandbox; `query` holds its scenario controls (`sandbox_after_polls=3`). */
export const sandboxProduct = (query = '', host = 'shop.example') => `https://${host}/item${query ? `?${query}` : ''}`;

export function smartInput(overrides: Partial<CreateSmartCheckoutInput> = {}): CreateSmartCheckoutInput {
  return { productUrl: 'https://shop.example/products/item', email: 'shopper@example.com', ...overrides };
}

export function payerVaultInput(overrides: Partial<CreatePayerVaultCheckoutInput> = {}): CreatePayerVaultCheckoutInput {
  return { customerId: `cust-${randomUUID().slice(0, 8)}`, ...overrides };
}

export function stanInput(overrides: Partial<CreateStanCheckoutInput> = {}): CreateStanCheckoutInput {
  return {
    returnUrl: 'https://store.example/return',
    lineItems: [{ productId: 'sku-1', quantity: 2, unitPrice: 1250 }],
    ...overrides,
  };
}

/** Who calls: tenant `a` by default (see TestApp.request). */
interface As {
  apiKey?: string | null;
}

/** `createSmartCheckout`'s result union. */
export async function smartResult(t: TestApp, overrides: Partial<CreateSmartCheckoutInput> = {}, { apiKey }: As = {}) {
  return clean(await t.request(CreateSmartCheckoutDocument, { input: smartInput(overrides) }, { apiKey }))
    .createSmartCheckout;
}

/** `createPayerVaultCheckout`'s result union. */
export async function payerVaultResult(
  t: TestApp,
  overrides: Partial<CreatePayerVaultCheckoutInput> = {},
  { apiKey }: As = {},
) {
  return clean(await t.request(CreatePayerVaultCheckoutDocument, { input: payerVaultInput(overrides) }, { apiKey }))
    .createPayerVaultCheckout;
}

/** `createStanCheckout`'s result union. */
export async function stanResult(t: TestApp, overrides: Partial<CreateStanCheckoutInput> = {}, { apiKey }: As = {}) {
  return clean(await t.request(CreateStanCheckoutDocument, { input: stanInput(overrides) }, { apiKey }))
    .createStanCheckout;
}

/** Creates a Smartcheckout purchase and returns the checkout (failing the test on any other answer). */
export async function createSmart(t: TestApp, overrides: Partial<CreateSmartCheckoutInput> = {}, as: As = {}) {
  return expectType(await smartResult(t, overrides, as), 'CreateSmartCheckoutSuccess').checkout;
}

/** Creates a PayerVault link and returns the checkout. */
export async function createPayerVault(
  t: TestApp,
  overrides: Partial<CreatePayerVaultCheckoutInput> = {},
  as: As = {},
) {
  return expectType(await payerVaultResult(t, overrides, as), 'CreatePayerVaultCheckoutSuccess').checkout;
}

/** Creates a Stan session and returns the checkout. */
export async function createStan(t: TestApp, overrides: Partial<CreateStanCheckoutInput> = {}, as: As = {}) {
  return expectType(await stanResult(t, overrides, as), 'CreateStanCheckoutSuccess').checkout;
}

/** One checkout as `checkout(id)` answers it (null when not visible to the caller). */
export async function checkoutOf(t: TestApp, id: string, { apiKey }: As = {}) {
  return clean(await t.request(CheckoutDocument, { id }, { apiKey })).checkout;
}

/** One checkout the caller can see: `checkoutOf` for a checkout known to be visible (throws when it is not). */
export async function visibleCheckout(t: TestApp, id: string, as: As = {}) {
  const checkout = await checkoutOf(t, id, as);
  if (!checkout) throw new Error(`checkout ${id} is not visible to the caller`);
  return checkout;
}

/** The ids of the caller's 100 newest checkouts. */
export async function listedIds(t: TestApp, { apiKey }: As = {}): Promise<string[]> {
  return clean(await t.request(CheckoutsDocument, { first: 100 }, { apiKey })).checkouts.edges.map(
    (edge) => edge.node.id,
  );
}
