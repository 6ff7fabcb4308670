import { builder } from '../builder.js';
import type { CheckoutRow } from '../db/schema.js';
import { EmptyCartError } from '../domain/errors.js';
import { createPayerVaultCheckoutSchema, type CreatePayerVaultCheckoutArgs } from '../domain/inputs.js';
import { CheckoutInterface, defineCheckoutNode, isCheckoutOf } from './checkout.js';
import { CREATE_ERRORS } from './errors.js';

export const PayerVaultCheckoutNode = defineCheckoutNode('PAYERVAULT').implement({
  description: 'A hosted PayerVault checkout page for a customer\'s cart kept at PayerVault. OPEN with a `checkoutUrl` to send the shopper to.',
  interfaces: [CheckoutInterface],
  isTypeOf: isCheckoutOf('PAYERVAULT'),
  fields: (t) => ({
    customerId: t.string({ description: 'The PayerVault customer whose cart is checked out.', resolve: (row: CheckoutRow) => String(row.details.customerId) }),
  }),
});

const CreatePayerVaultCheckoutInput = builder.inputType('CreatePayerVaultCheckoutInput', {
  description: 'The PayerVault customer whose cart to check out.',
  fields: (t) => ({
    idempotencyKey: t.string({ description: 'Your key for safe retries (1 to 255 printable characters): the same key and input return the original checkout.' }),
    customerId: t.string({ required: true, description: 'The customer id at PayerVault.' }),
  }),
});

builder.mutationFields((t) => ({
  createPayerVaultCheckout: t.field({
    type: PayerVaultCheckoutNode,
    description: 'Gets the hosted checkout link for a PayerVault customer\'s cart.',
    args: { input: t.arg({ type: CreatePayerVaultCheckoutInput, required: true }) },
    validate: { schema: createPayerVaultCheckoutSchema },
    errors: {
      types: [...CREATE_ERRORS, EmptyCartError],
      result: { name: 'CreatePayerVaultCheckoutSuccess', description: 'The checkout link was created.' },
      union: { name: 'CreatePayerVaultCheckoutResult', description: 'The new checkout, or why it was not created.' },
      dataField: { name: 'checkout', description: 'The new checkout.' },
    },
    resolve: (_root, args, ctx) => ctx.checkouts.createPayerVaultCheckout(ctx.tenant, (args as unknown as CreatePayerVaultCheckoutArgs).input),
  }),
}));
