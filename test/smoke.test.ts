import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateSmartCheckoutDocument, CheckoutsDocument } from './generated/graphql.js';
import { expectType, startTestApp, type TestApp } from './support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

describe('smoke', () => {
  it('creates and lists', async () => {
    const created = await t.request(CreateSmartCheckoutDocument, { input: { productUrl: 'https://shop.example/x', email: 'a@b.co' } });
    const success = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess');
    expect(success.checkout.status).toBe('PROCESSING');
    const list = await t.request(CheckoutsDocument, { first: 5 });
    expect(list.data?.checkouts.edges.map((e) => e.node.id)).toEqual([success.checkout.id]);
  });
});
