import { z } from 'zod';
import { amount, httpUrl, idempotencyKeySchema, optionalText, text } from '../../domain/inputs.js';
import { computeStanTotals } from './totals.js';

/** Stan accepts at most this many line items per checkout through this API. */
const MAX_STAN_LINE_ITEMS = 100;

/** The fields the totals are computed from: an error in one of them leaves nothing to cross-check. */
const AMOUNT_FIELDS: ReadonlySet<string> = new Set([
  'lineItems',
  'discountAmount',
  'taxRate',
  'taxCost',
  'subtotalAmount',
  'totalAmount',
]);

/** One line of a Stan checkout input. */
const stanLineItemSchema = z.object({
  productId: text(255),
  quantity: z.number().int('must be an integer').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000'),
  unitPrice: amount,
  discountAmount: amount.nullish(),
  description: optionalText(1000),
  sku: optionalText(255),
  imageUrl: httpUrl.nullish(),
  productUrl: httpUrl.nullish(),
});

/** The zod schema of `createStanCheckout`'s input: shapes first, then the totals cross-checked exactly. */
export const createStanCheckoutSchema = z.object({
  input: z
    .object({
      idempotencyKey: idempotencyKeySchema,
      returnUrl: httpUrl,
      lineItems: z
        .array(stanLineItemSchema)
        .min(1, 'must contain at least one line item')
        .max(MAX_STAN_LINE_ITEMS, `must contain at most ${MAX_STAN_LINE_ITEMS} line items`),
      discountAmount: amount.nullish(),
      discountCode: optionalText(100),
      taxRate: z
        .number()
        .int('must be an integer percentage')
        .min(0, 'must not be negative')
        .max(100, 'must be at most 100')
        .nullish(),
      taxCost: amount.nullish(),
      subtotalAmount: amount.nullish(),
      totalAmount: amount.nullish(),
      sessionId: optionalText(255),
      orderId: optionalText(255),
    })
    .superRefine(
      (input, ctx) => {
        const totals = computeStanTotals(input);
        if (totals.ok) return;
        // computeStanTotals reports paths from the argument root; zod wants them relative to `input`.
        for (const error of totals.fieldErrors) {
          ctx.addIssue({
            code: 'custom',
            path: error.path[0] === 'input' ? error.path.slice(1) : error.path,
            message: error.message,
          });
        }
      },
      // Totals are cross-checked only from well-formed amounts: a field refused above (quantity 0)
      // would otherwise get a second error at the same path from computeStanTotals' own shape checks.
      // Errors of other fields (returnUrl) do not stop it, so every invalid field is still reported.
      {
        when: ({ issues }) =>
          !issues.some((issue) => issue.path?.[0] === undefined || AMOUNT_FIELDS.has(String(issue.path[0]))),
      },
    ),
});
export type CreateStanCheckoutArgs = z.infer<typeof createStanCheckoutSchema>;
