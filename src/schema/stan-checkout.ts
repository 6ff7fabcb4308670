import { builder } from '../builder.js';
import type { CheckoutRow } from '../db/schema.js';
import { stanDetailsSchema } from '../providers/stan/details.js';
import { createStanCheckoutSchema, type CreateStanCheckoutArgs } from '../providers/stan/input.js';
import { CheckoutInterface, defineCheckoutNode, detailsReader, isCheckoutOf } from './checkout.js';
import { createCheckoutResult, IDEMPOTENCY_KEY_DESCRIPTION } from './errors.js';
import { money, MoneyRef } from './money.js';

const details = detailsReader(stanDetailsSchema);
const moneyOf = (row: CheckoutRow, key: 'subtotal' | 'discount' | 'tax' | 'totalBeforeDiscount') =>
  money(details(row)[key], row.currency);

const StanCheckoutNode = defineCheckoutNode('STAN').implement({
  description: 'A Stan checkout session built from line items, totals, tax and discount. OPEN once Stan accepted it.',
  interfaces: [CheckoutInterface],
  isTypeOf: isCheckoutOf('STAN'),
  fields: (t) => ({
    subtotal: t.field({
      type: MoneyRef,
      description: 'Sum of the lines (quantity x unit price - line discount).',
      resolve: (row) => moneyOf(row, 'subtotal')!,
    }),
    discount: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Discount on the whole checkout.',
      resolve: (row) => moneyOf(row, 'discount'),
    }),
    taxRate: t.int({ nullable: true, description: 'Tax rate in percent.', resolve: (row) => details(row).taxRate }),
    tax: t.field({ type: MoneyRef, nullable: true, description: 'Tax amount.', resolve: (row) => moneyOf(row, 'tax') }),
    discountCode: t.string({
      nullable: true,
      description: 'Discount code applied.',
      resolve: (row) => details(row).discountCode,
    }),
    totalBeforeDiscount: t.field({
      type: MoneyRef,
      nullable: true,
      description: 'Total before any discount.',
      resolve: (row) => moneyOf(row, 'totalBeforeDiscount'),
    }),
    sessionId: t.string({
      nullable: true,
      description: 'Your session id (a cart id or anything else).',
      resolve: (row) => details(row).sessionId,
    }),
    orderId: t.string({
      nullable: true,
      description: 'Your order id, if created.',
      resolve: (row) => details(row).orderId,
    }),
    returnUrl: t.string({
      nullable: true,
      description: 'Where Stan sends the shopper at the end (success, cancel or failure).',
      resolve: (row) => details(row).returnUrl,
    }),
  }),
});

const StanLineItemInput = builder.inputType('StanLineItemInput', {
  description: 'One line of a Stan checkout. Amounts are integers in minor units (cents).',
  fields: (t) => ({
    productId: t.string({ required: true, description: 'Your product id.' }),
    quantity: t.int({ required: true, description: 'Units, at least 1.' }),
    unitPrice: t.field({
      type: 'SafeInt',
      required: true,
      description: 'Price of one unit in minor units (up to 2^53 − 1).',
    }),
    discountAmount: t.field({ type: 'SafeInt', description: 'Discount on this line in minor units.' }),
    description: t.string({ description: 'What is bought.' }),
    sku: t.string({ description: 'Stock keeping unit.' }),
    imageUrl: t.string({ description: 'Product image URL.' }),
    productUrl: t.string({ description: 'Product page URL.' }),
  }),
});

const CreateStanCheckoutInput = builder.inputType('CreateStanCheckoutInput', {
  description:
    'A Stan checkout session. Amounts are integers (SafeInt, up to 2^53 − 1) in minor units of STAN_CURRENCY, computed exactly; a result beyond 2^53 − 1 is a ValidationError. subtotalAmount and totalAmount are computed when omitted and must match the lines when given; tax is taxCost, or taxRate percent of (subtotal - discount) rounded half up.',
  fields: (t) => ({
    idempotencyKey: t.string({ description: IDEMPOTENCY_KEY_DESCRIPTION }),
    returnUrl: t.string({ required: true, description: 'Where Stan sends the shopper at the end of the checkout.' }),
    lineItems: t.field({ type: [StanLineItemInput], required: true, description: '1 to 100 lines.' }),
    discountAmount: t.field({ type: 'SafeInt', description: 'Absolute discount on the checkout.' }),
    discountCode: t.string({ description: 'The discount code used.' }),
    taxRate: t.int({ description: 'Tax rate in percent (0 to 100).' }),
    taxCost: t.field({ type: 'SafeInt', description: 'Tax amount; computed from taxRate when omitted.' }),
    subtotalAmount: t.field({
      type: 'SafeInt',
      description: 'Sum of the lines before checkout discount and tax; computed when omitted.',
    }),
    totalAmount: t.field({ type: 'SafeInt', description: 'subtotal - discount + tax; computed when omitted.' }),
    sessionId: t.string({ description: 'Your session id (a cart id or anything else).' }),
    orderId: t.string({ description: 'Your order id, if created.' }),
  }),
});

builder.mutationFields((t) => ({
  createStanCheckout: t.field({
    type: StanCheckoutNode,
    description: 'Creates a Stan checkout session with computed and checked totals.',
    args: { input: t.arg({ type: CreateStanCheckoutInput, required: true }) },
    validate: { schema: createStanCheckoutSchema },
    errors: createCheckoutResult('CreateStanCheckout'),
    resolve: (_root, args, ctx) =>
      ctx.checkouts.create(ctx.tenant, 'STAN', (args as unknown as CreateStanCheckoutArgs).input, {
        requestId: ctx.requestId,
      }),
  }),
}));
