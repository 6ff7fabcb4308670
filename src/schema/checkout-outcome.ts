import { builder } from '../builder.js';
import { CheckoutFinalError, NotFoundError, ValidationError } from '../domain/errors.js';
import { recordCheckoutOutcomeSchema, type RecordCheckoutOutcomeArgs } from '../domain/inputs.js';
import { CheckoutInterface, CheckoutStatusEnum, loadCheckoutByRowId, loadCheckoutFresh } from './checkout.js';
import { ErrorInterface } from './errors.js';

builder.objectType(CheckoutFinalError, {
  name: 'CheckoutFinalError',
  description: 'The checkout already ended with another status; a final status never changes.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    status: t.field({
      type: CheckoutStatusEnum,
      description: 'The final status the checkout already has.',
      resolve: (error) => error.status,
    }),
    checkout: t.field({
      type: CheckoutInterface,
      nullable: true,
      description: 'The checkout as it stands.',
      resolve: (error, _args, ctx) => loadCheckoutByRowId(error.provider, error.checkoutId, ctx),
    }),
  }),
});

const RecordCheckoutOutcomeInput = builder.inputType('RecordCheckoutOutcomeInput', {
  description: "An outcome the merchant learnt outside the provider's API (its return URL, its dashboard).",
  fields: (t) => ({
    id: t.id({ required: true, description: 'Global id of the checkout.' }),
    status: t.field({
      type: CheckoutStatusEnum,
      required: true,
      description: 'How it ended: COMPLETED, FAILED or EXPIRED.',
    }),
    note: t.string({
      description: "Why, in words (at most 2000 characters); becomes the checkout's notes and its event's.",
    }),
  }),
});

builder.mutationFields((t) => ({
  recordCheckoutOutcome: t.field({
    type: CheckoutInterface,
    description:
      'Records how a checkout ended when its provider cannot say (a provider without a status endpoint). Allowed from OPEN or PENDING at those providers, and from UNKNOWN at any provider; the change is an event with source `merchant`, published to subscribers. Recording the outcome it already has is a success without a second event.',
    args: { input: t.arg({ type: RecordCheckoutOutcomeInput, required: true }) },
    validate: { schema: recordCheckoutOutcomeSchema },
    errors: {
      types: [NotFoundError, ValidationError, CheckoutFinalError],
      result: { name: 'RecordCheckoutOutcomeSuccess', description: 'The checkout with the outcome recorded.' },
      union: {
        name: 'RecordCheckoutOutcomeResult',
        description: 'The checkout with its outcome, or why it could not be recorded.',
      },
      dataField: { name: 'checkout', description: 'The checkout with the outcome recorded.' },
    },
    resolve: async (_root, args, ctx) => {
      const { input } = args as unknown as RecordCheckoutOutcomeArgs;
      const row = await loadCheckoutFresh(input.id, ctx);
      if (!row) throw new NotFoundError(input.id);
      return ctx.lifecycle.recordOutcome(row, { status: input.status, note: input.note }, 'merchant');
    },
  }),
}));
