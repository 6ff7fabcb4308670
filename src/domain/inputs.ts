import { z } from 'zod';
import { CHECKOUT_STATUSES } from './checkout.js';
import { MERCHANT_OUTCOMES } from './lifecycle.js';
import { MAX_MINOR_AMOUNT } from './money.js';
import { computeStanTotals } from './stan-totals.js';

/**
 * zod schemas of the mutation inputs. They run through @pothos/plugin-zod before any resolver,
 * so a rejected input never reaches the database or a provider. Paths start at the argument
 * name (`input`), which is what `ValidationError.fieldErrors[].path` shows.
 */

// Control characters (NUL, escapes, line breaks) are never meaningful in these fields.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
// A lone UTF-16 surrogate is not text: databases refuse it in JSON and providers would get garbage.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for text that is well-formed Unicode without NUL. */
function isCleanText(value: string): boolean {
  return !LONE_SURROGATE.test(value) && !value.includes('\u0000');
}

const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters')
    .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (no lone surrogates)');

const optionalText = (max: number) => text(max).nullish();

const httpUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(2048, 'must be at most 2048 characters')
  .refine((value) => !CONTROL_CHARACTERS.test(value) && isCleanText(value), 'must not contain control characters or lone surrogates')
  .refine((value) => {
    // The host must follow `//` as written: WHATWG URL parsing would turn `http:///path` into host `path`.
    if (!/^https?:\/\/[^/\\\s?#@]/i.test(value)) return false;
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

const MAX_USER_DATA_DEPTH = 32;

/**
 * Extra `user_data` keys: a plain JSON object, checked on the raw value (a zod record would copy it,
 * and a `__proto__` key would vanish into the copy's prototype instead of being refused). The walk
 * is iterative, so no nesting can overflow the stack; size is measured only once depth is known sane.
 */
const userDataSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const fail = (message: string, path: (string | number)[] = []) => ctx.addIssue({ code: 'custom', path, message });
    if (!isPlainObject(value)) return fail('must be a JSON object');
    for (const key of Object.keys(value)) {
      if (RESERVED_USER_DATA_KEYS.includes(key)) fail(`is set by the ${key === 'shipping_address' ? 'shippingAddress' : key} field, not userData`, [key]);
    }
    const stack: { node: unknown; path: (string | number)[] }[] = [{ node: value, path: [] }];
    while (stack.length) {
      const { node, path } = stack.pop()!;
      if (path.length > MAX_USER_DATA_DEPTH) return fail(`must not nest deeper than ${MAX_USER_DATA_DEPTH} levels`, path.slice(0, MAX_USER_DATA_DEPTH));
      if (typeof node === 'string') {
        if (!isCleanText(node)) return fail('must not contain NUL or lone surrogates', path);
      } else if (Array.isArray(node)) {
        node.forEach((item, index) => stack.push({ node: item, path: [...path, index] }));
      } else if (node !== null && typeof node === 'object') {
        if (!isPlainObject(node)) return fail('must contain only JSON values', path);
        for (const key of Object.keys(node)) {
          if (FORBIDDEN_KEYS.has(key) || !isCleanText(key)) return fail('is not an allowed key', [...path, key]);
          stack.push({ node: (node as Record<string, unknown>)[key], path: [...path, key] });
        }
      }
    }
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_USER_DATA_BYTES) fail(`must serialise to at most ${MAX_USER_DATA_BYTES} bytes of JSON`);
  })
  .transform((value) => value as Record<string, unknown>)
  .nullish();

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

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

export const recordCheckoutOutcomeSchema = z.object({
  input: z.object({
    id: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
    status: z
      .enum(CHECKOUT_STATUSES)
      .refine((status) => MERCHANT_OUTCOMES.includes(status), `must be one of ${MERCHANT_OUTCOMES.join(', ')}: how the checkout ended`),
    note: optionalText(2000),
  }),
});
export type RecordCheckoutOutcomeArgs = z.infer<typeof recordCheckoutOutcomeSchema>;
