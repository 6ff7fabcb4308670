import { builder } from '../builder.js';
import { smartcheckoutDetailsSchema } from '../providers/smartcheckout/details.js';
import { createSmartCheckoutSchema, type CreateSmartCheckoutArgs } from '../providers/smartcheckout/input.js';
import { CheckoutInterface, defineCheckoutNode, detailsReader, isCheckoutOf } from './checkout.js';
import { createCheckoutResult, IDEMPOTENCY_KEY_DESCRIPTION } from './errors.js';

const details = detailsReader(smartcheckoutDetailsSchema);

const SmartCheckoutNode = defineCheckoutNode('SMARTCHECKOUT').implement({
  description:
    "An agentic purchase by Smartcheckout of any product URL with the shopper's data. Asynchronous: PROCESSING, then COMPLETED (with its total) or FAILED (with notes).",
  interfaces: [CheckoutInterface],
  isTypeOf: isCheckoutOf('SMARTCHECKOUT'),
  fields: (t) => ({
    productUrl: t.string({ description: 'The product being bought.', resolve: (row) => details(row).productUrl }),
    userData: t.field({
      type: 'JSON',
      description:
        'The `user_data` object sent to Smartcheckout (email, prompt, shipping_address and your extra keys).',
      resolve: (row) => details(row).userData,
    }),
  }),
});

const AddressInput = builder.inputType('AddressInput', {
  description: 'A shipping address.',
  fields: (t) => ({
    name: t.string({ description: 'Recipient name.' }),
    line1: t.string({ required: true, description: 'Street address.' }),
    line2: t.string({ description: 'Apartment, suite, building.' }),
    city: t.string({ required: true, description: 'City.' }),
    postalCode: t.string({ required: true, description: 'Postal or ZIP code.' }),
    state: t.string({ description: 'State, region or province.' }),
    country: t.string({ required: true, description: 'ISO 3166-1 alpha-2 country code, e.g. FR.' }),
    phone: t.string({ description: 'Phone number for the carrier.' }),
  }),
});

const CreateSmartCheckoutInput = builder.inputType('CreateSmartCheckoutInput', {
  description:
    'What Smartcheckout needs to buy a product for a shopper. No card data: Smartcheckout pays with its own virtual cards.',
  fields: (t) => ({
    idempotencyKey: t.string({ description: IDEMPOTENCY_KEY_DESCRIPTION }),
    productUrl: t.string({ required: true, description: 'Absolute http(s) URL of the product page.' }),
    email: t.string({ required: true, description: "The shopper's email." }),
    prompt: t.string({ description: 'Instructions for the purchase, e.g. "Size Large, Color Blue".' }),
    shippingAddress: t.field({ type: AddressInput, description: 'Where to ship.' }),
    userData: t.field({
      type: 'JSON',
      description: 'Extra `user_data` keys for Smartcheckout (a JSON object; not email, prompt or shipping_address).',
    }),
  }),
});

builder.mutationFields((t) => ({
  createSmartCheckout: t.field({
    type: SmartCheckoutNode,
    description:
      'Starts a Smartcheckout purchase. The checkout is recorded before Smartcheckout is called and comes back PROCESSING.',
    args: { input: t.arg({ type: CreateSmartCheckoutInput, required: true }) },
    validate: { schema: createSmartCheckoutSchema },
    errors: createCheckoutResult('CreateSmartCheckout'),
    // The zod plugin hands the resolver the parsed (trimmed, normalised) input.
    resolve: (_root, args, ctx) =>
      ctx.checkouts.create(ctx.tenant, 'SMARTCHECKOUT', (args as unknown as CreateSmartCheckoutArgs).input, {
        requestId: ctx.requestId,
      }),
  }),
}));
