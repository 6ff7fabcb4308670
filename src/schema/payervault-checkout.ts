import { builder } from '../builder.js';
import type { CheckoutRow } from '../db/schema.js';
import { EmptyCartError } from '../domain/errors.js';
import { createPayerVaultCheckoutSchema, type CreatePayerVaultCheckoutArgs } from '../domain/inputs.js';
import { CheckoutInterface, defineCheckoutNode, isCheckoutOf } from './checkout.js';
import { createCheckoutResult, IDEMPOTENCY_KEY_DESCRIPTION } from './errors.js';

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
    idempotencyKey: t.string({ description: IDEMPOTENCY_KEY_DESCRIPTION }),
    customerId: t.string({ required: true, description: 'The customer id at PayerVault.' }),
  }),
});

builder.mutationFields((t) => ({
  createPayerVaultCheckout: t.field({
    type: PayerVaultCheckoutNode,
    description: 'Gets the hosted checkout link for a PayerVault customer\'s cart.',
    args: { input: t.arg({ type: CreatePayerVaultCheckoutInput, required: true }) },
    validate: { schema: createPayerVaultCheckoutSchema },
    errors: createCheckoutResult('CreatePayerVaultCheckout', [EmptyCartError]),
    resolve: (_root, args, ctx) => ctx.checkouts.createPayerVaultCheckout(ctx.tenant, (args as unknown as CreatePayerVaultCheckoutArgs).input),
  }),
}));
