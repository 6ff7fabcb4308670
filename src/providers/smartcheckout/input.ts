import { z } from 'zod';
import { httpUrl, idempotencyKeySchema, isCleanText, optionalText, text } from '../../domain/inputs.js';

/** The shipping address of a purchase. */
const addressSchema = z.object({
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
      if (RESERVED_USER_DATA_KEYS.includes(key))
        fail(`is set by the ${key === 'shipping_address' ? 'shippingAddress' : key} field, not userData`, [key]);
    }
    const stack: { node: unknown; path: (string | number)[] }[] = [{ node: value, path: [] }];
    while (stack.length) {
      const { node, path } = stack.pop()!;
      if (path.length > MAX_USER_DATA_DEPTH)
        return fail(`must not nest deeper than ${MAX_USER_DATA_DEPTH} levels`, path.slice(0, MAX_USER_DATA_DEPTH));
      if (typeof node === 'string') {
        if (!isCleanText(node)) return fail('must not contain NUL or lone surrogates', path);
      } else if (Array.isArray(node)) {
        for (const [index, item] of node.entries()) stack.push({ node: item, path: [...path, index] });
      } else if (node !== null && typeof node === 'object') {
        if (!isPlainObject(node)) return fail('must contain only JSON values', path);
        for (const key of Object.keys(node)) {
          if (FORBIDDEN_KEYS.has(key) || !isCleanText(key)) return fail('is not an allowed key', [...path, key]);
          stack.push({ node: (node as Record<string, unknown>)[key], path: [...path, key] });
        }
      }
    }
    if (Buffer.byteLength(JSON.stringify(value)) > MAX_USER_DATA_BYTES)
      fail(`must serialise to at most ${MAX_USER_DATA_BYTES} bytes of JSON`);
  })
  .transform((value) => value as Record<string, unknown>)
  .nullish();

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** The zod schema of `createSmartCheckout`'s input (run by @pothos/plugin-zod before the resolver). */
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
