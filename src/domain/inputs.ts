import { z } from 'zod';
import { MAX_MINOR_AMOUNT } from './money.js';
import { computeStanTotals } from './stan-totals.js';

/**
 * zod schemas of the mutation inputs. They run through @pothos/plugin-zod before any resolver,
 * so a rejected input never reaches the database or a provider. Paths start at the argument
 * name (`input`), which is what `ValidationError.fieldErrors[].path` shows.
 */

// Control characters (NUL, escapes, line breaks) are never meaningful in these fields.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');

const optionalText = (max: number) => text(max).nullish();

const httpUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(2048, 'must be at most 2048 characters')
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname.length > 0;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

const amount = z
  .number()
  .int('must be an integer amount in minor units')
  .min(0, 'must not be negative')
  .max(MAX_MINOR_AMOUNT, `must be at most ${MAX_MINOR_AMOUNT}`);

/** 1 to 255 printable ASCII characters, scoped per tenant. */
export const idempotencyKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .regex(/^[\x20-\x7e]+$/, 'must contain printable ASCII characters only')
  .nullish();

export const addressSchema = z.object({
  name: optionalText(200),
  line1: text(200),
  line2: optionalText(200),
  city: text(100),
  postalCode: text(20),
  state: optionalText(100),
  country: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as FR')
    .transform((value) => value.toUpperCase()),
  phone: optionalText(32),
});

const RESERVED_USER_DATA_KEYS = ['email', 'prompt', 'shipping_address'];
const MAX_USER_DATA_BYTES = 16_384;

const userDataSchema = z
  .record(z.string(), z.unknown())
  .superRefine((value, ctx) => {
    for (const key of Object.keys(value)) {
      if (RESERVED_USER_DATA_KEYS.includes(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `is set by the ${key === 'shipping_address' ? 'shippingAddress' : key} field, not userData` });
      } else if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        ctx.addIssue({ code: 'custom', path: [key], message: 'is not an allowed key' });
      }
    }
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_USER_DATA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `must serialise to at most ${MAX_USER_DATA_BYTES} bytes of JSON` });
    }
  })
  .nullish();

export const createSmartCheckoutSchema = z.object({
  input: z.object({
    idempotencyKey: idempotencyKeySchema,
    productUrl: httpUrl,
    email: z.string().trim().max(254, 'must be at most 254 characters').pipe(z.email('must be a valid email address')),
    prompt: optionalText(2000),
    shippingAddress: addressSchema.nullish(),
    userData: userDataSchema,
  }),
});
export type CreateSmartCheckoutArgs = z.infer<typeof createSmartCheckoutSchema>;

export const createPayerVaultCheckoutSchema = z.object({
  input: z.object({
    idempotencyKey: idempotencyKeySchema,
    customerId: text(255),
  }),
});
export type CreatePayerVaultCheckoutArgs = z.infer<typeof createPayerVaultCheckoutSchema>;

/** Stan accepts at most this many line items per checkout through this API. */
export const MAX_STAN_LINE_ITEMS = 100;

export const stanLineItemSchema = z.object({
  productId: text(255),
  quantity: z.number().int('must be an integer').min(1, 'must be at least 1').max(1_000_000, 'must be at most 1000000'),
  unitPrice: amount,
  discountAmount: amount.nullish(),
  description: optionalText(1000),
  sku: optionalText(255),
  imageUrl: httpUrl.nullish(),
  productUrl: httpUrl.nullish(),
});

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
      taxRate: z.number().int('must be an integer percentage').min(0, 'must not be negative').max(100, 'must be at most 100').nullish(),
      taxCost: amount.nullish(),
      subtotalAmount: amount.nullish(),
      totalAmount: amount.nullish(),
      sessionId: optionalText(255),
      orderId: optionalText(255),
    })
    .superRefine((input, ctx) => {
      const totals = computeStanTotals(input);
      if (totals.ok) return;
      // computeStanTotals reports paths from the argument root; zod wants them relative to `input`.
      for (const error of totals.fieldErrors) {
        ctx.addIssue({ code: 'custom', path: error.path[0] === 'input' ? error.path.slice(1) : error.path, message: error.message });
      }
    }),
});
export type CreateStanCheckoutArgs = z.infer<typeof createStanCheckoutSchema>;
