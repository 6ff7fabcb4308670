/**
 * Smartcheckout's documented wire contract, as its API documentation gives it.
 *
 *   POST /v0/checkout        {"url", "user_data": {...}}  -> {"checkout_id", "status": "processing"}
 *   GET  /v0/checkout/{id}                                -> {"id", "status", "amount_str", "currency", "notes"}
 *
 * Both authenticated with `Authorization: Bearer <api key>`.
 */
import { z } from 'zod';

/** The provider's name for people, in messages. */
export const SMARTCHECKOUT_LABEL = 'Smartcheckout';

/** Documented paths, appended to the configured origin. */
export const SMARTCHECKOUT_CREATE_PATH = '/v0/checkout';
export function smartcheckoutCheckoutPath(checkoutId: string): string {
  return `${SMARTCHECKOUT_CREATE_PATH}/${encodeURIComponent(checkoutId)}`;
}

/** The three documented statuses. Anything else a server sends is kept as a string and mapped to UNKNOWN. */
export const SMARTCHECKOUT_STATUSES = ['processing', 'completed', 'failed'] as const;
export type SmartcheckoutStatus = (typeof SMARTCHECKOUT_STATUSES)[number];

/** True for an absolute http(s) URL, written without surrounding whitespace. */
export function isAbsoluteHttpUrl(value: string): boolean {
  if (value !== value.trim()) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * The shipping address as we send it inside `user_data`. The document leaves `user_data`
 * free-form ("email, shipping details, etc"), so this snake_case shape is our convention,
 * not a documented one; keys with no value are omitted rather than sent as null.
 */
export const SmartcheckoutShippingAddressSchema = z.object({
  name: z.string().optional(),
  line1: z.string(),
  line2: z.string().optional(),
  city: z.string(),
  postal_code: z.string(),
  state: z.string().optional(),
  country: z.string(),
  phone: z.string().optional(),
});
export type SmartcheckoutShippingAddress = z.infer<typeof SmartcheckoutShippingAddressSchema>;

/**
 * `user_data` is a flexible object; the only key the document names in every example is `email`.
 * Unknown keys are kept, because callers pass extra purchase hints through it.
 */
const SmartcheckoutUserDataSchema = z.looseObject({
  email: z.string().trim().min(1, 'email must be a non-empty string'),
});

/** What we send in `user_data`: the documented keys plus any extra ones. */
export interface SmartcheckoutUserData {
  email: string;
  /** Free-text purchase instructions, e.g. "Size Large, Color Blue". */
  prompt?: string;
  shipping_address?: SmartcheckoutShippingAddress;
  [key: string]: unknown;
}

/** Body of `POST /v0/checkout`. Also what the sandbox validates incoming requests against. */
export const SmartcheckoutCreateRequestSchema = z.object({
  url: z.string().refine(isAbsoluteHttpUrl, 'url must be an absolute http(s) URL'),
  user_data: SmartcheckoutUserDataSchema,
});

/** Body of `POST /v0/checkout`. */
export interface SmartcheckoutCreateRequest {
  /** The product page to buy from. */
  url: string;
  user_data: SmartcheckoutUserData;
}

/**
 * Answer of `POST /v0/checkout`. The document promises `status: "processing"`; any string is
 * accepted so that a new status reaches the adapter (which maps it to UNKNOWN) instead of
 * losing a checkout the provider did create.
 */
export const SmartcheckoutCreateResponseSchema = z.object({
  checkout_id: z.string().trim().min(1),
  status: z.string(),
});
export type SmartcheckoutCreateResponse = z.infer<typeof SmartcheckoutCreateResponseSchema>;

/**
 * Answer of `GET /v0/checkout/{id}`. The document shows every key only for a completed checkout,
 * so `id`, `amount_str`, `currency` and `notes` may be absent, null or "" (e.g. while processing).
 * `amount_str` must be a string: it is parsed as an exact decimal, never as a float.
 */
export const SmartcheckoutCheckoutDetailsSchema = z.object({
  id: z.string().nullish(),
  status: z.string(),
  amount_str: z.string().nullish(),
  currency: z.string().nullish(),
  notes: z.string().nullish(),
});
export type SmartcheckoutCheckoutDetails = z.infer<typeof SmartcheckoutCheckoutDetailsSchema>;
