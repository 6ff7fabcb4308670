import { z } from 'zod';
import { CHECKOUT_STATUSES } from './checkout.js';
import { MERCHANT_OUTCOMES } from './lifecycle.js';
import { MAX_MINOR_AMOUNT } from './money.js';

/**
 * The building blocks of the mutation inputs' zod schemas (each provider's input schema lives in
 * its folder). They run through @pothos/plugin-zod before any resolver, so a rejected input never
 * reaches the database or a provider. Paths start at the argument name (`input`), which is what
 * `ValidationError.fieldErrors[].path` shows.
 */

// Control characters (NUL, escapes, line breaks) are never meaningful in these fields.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
// A lone UTF-16 surrogate is not text: databases refuse it in JSON and providers would get garbage.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True for text that is well-formed Unicode without NUL. */
export function isCleanText(value: string): boolean {
  return !LONE_SURROGATE.test(value) && !value.includes('\u0000');
}

/** Trimmed, non-empty text of at most `max` characters, without control characters or lone surrogates. */
export const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters')
    .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (no lone surrogates)');

/** `text(max)`, or null or absent. */
export const optionalText = (max: number) => text(max).nullish();

/** An absolute http(s) URL written as such (at most 2048 characters). */
export const httpUrl = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(2048, 'must be at most 2048 characters')
  .refine(
    (value) => !CONTROL_CHARACTERS.test(value) && isCleanText(value),
    'must not contain control characters or lone surrogates',
  )
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

/** An integer amount in minor units, 0 to 2^53 − 1. */
export const amount = z
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

export const recordCheckoutOutcomeSchema = z.object({
  input: z.object({
    id: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
    status: z
      .enum(CHECKOUT_STATUSES)
      .refine(
        (status) => MERCHANT_OUTCOMES.includes(status),
        `must be one of ${MERCHANT_OUTCOMES.join(', ')}: how the checkout ended`,
      ),
    note: optionalText(2000),
  }),
});
export type RecordCheckoutOutcomeArgs = z.infer<typeof recordCheckoutOutcomeSchema>;
