import { builder } from '../builder.js';
import { EmptyCartError } from '../domain/errors.js';
import { payerVaultDetailsSchema } from '../providers/payervault/details.js';
import { createPayerVaultCheckoutSchema, type CreatePayerVaultCheckoutArgs } from '../providers/payervault/input.js';
import { CheckoutInterface, defineCheckoutNode, detailsReader, isCheckoutOf } from './checkout.js';
import { createCheckoutResult, ErrorInterface, IDEMPOTENCY_KEY_DESCRIPTION } from './errors.js';

const details = detailsReader(payerVaultDetailsSchema);

const PayerVaultCheckoutNode = defineCheckoutNode('PAYERVAULT').implement({
  description:
    "A hosted PayerVault checkout page for a customer's cart kept at PayerVault. OPEN with a `checkoutUrl` to send the shopper to.",
  interfaces: [CheckoutInterface],
  isTypeOf: isCheckoutOf('PAYERVAULT'),
  fields: (t) => ({
    customerId: t.string({
      description: 'The PayerVault customer whose cart is checked out.',
      resolve: (row) => details(row).customerId,
    }),
  }),
});

builder.objectType(EmptyCartError, {
  name: 'EmptyCartError',
  description: "PayerVault has no products in this customer's cart.",
  interfaces: [ErrorInterface],
  fields: (t) => ({
    customerId: t.exposeString('customerId', { description: 'The customer whose cart is empty.' }),
    providerMessage: t.exposeString('providerMessage', {
      nullable: true,
      description: 'PayerVault\'s message, e.g. "No products in cart".',
    }),
  }),
});

const CreatePayerVaultCheckoutInput = builder.inputType('CreatePayerVaultCheckoutInput', {
  description: 'The PayerVault customer whose cart to check out.',
  fields: (t) => ({
    idempotencyKey: t.string({ description: IDEMPOTENCY_KEY_DESCRIPTION }),
    customerId: t.string({ required: true, description: 'The customer id at PayerVault.' }),
  }),
});

builder.mutationFields((t) => ({
  createPayerVaultCheckout: t.field({
    type: PayerVaultCheckoutNode,
    description: "Gets the hosted checkout link for a PayerVault customer's cart.",
    args: { input: t.arg({ type: CreatePayerVaultCheckoutInput, required: true }) },
    validate: { schema: createPayerVaultCheckoutSchema },
    errors: createCheckoutResult('CreatePayerVaultCheckout', [EmptyCartError]),
    resolve: (_root, args, ctx) =>
      ctx.checkouts.create(ctx.tenant, 'PAYERVAULT', (args as unknown as CreatePayerVaultCheckoutArgs).input, {
        requestId: ctx.requestId,
      }),
  }),
}));
