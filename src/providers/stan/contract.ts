import { z } from 'zod';

/*
 * Stan `POST /v1/checkouts`, as its API documentation gives it. The document marks no request field as required and
 * promises no response field; the request schema below is what we always send and what the
 * sandbox insists on (a return URL and at least one line item), and the response schema keeps
 * only `id` mandatory because nothing else is usable without it.
 */

/** The provider's name for people, in messages. */
export const STAN_LABEL = 'Stan';

/** The one documented endpoint, appended to the base URL. */
export const STAN_CHECKOUTS_PATH = '/v1/checkouts';

/** Non-negative integer minor units, as the document's `integer` amounts, exact up to 2^53 − 1. */
const requestAmount = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** One line of the request body (`line_items[]`). Optional fields are omitted, never null. */
export const stanRequestLineItemSchema = z.object({
  product_id: z.string(),
  quantity: z.int().min(1),
  unit_price: requestAmount,
  discount_amount: requestAmount.optional(),
  description: z.string().optional(),
  sku: z.string().optional(),
  image_url: z.string().optional(),
  product_url: z.string().optional(),
});
export type StanRequestLineItem = z.infer<typeof stanRequestLineItemSchema>;

/** Body of `POST /v1/checkouts`, snake_case exactly as documented. */
export const stanCreateCheckoutRequestSchema = z.object({
  return_url: z.string(),
  total_amount: requestAmount.optional(),
  session_id: z.string().optional(),
  order_id: z.string().optional(),
  subtotal_amount: requestAmount.optional(),
  discount_amount: requestAmount.optional(),
  tax_rate: z.int().min(0).optional(),
  tax_cost: requestAmount.optional(),
  discount_code: z.string().optional(),
  line_items: z.array(stanRequestLineItemSchema).min(1),
});
export type StanCreateCheckoutRequest = z.infer<typeof stanCreateCheckoutRequestSchema>;

/**
 * An amount in a response: the document says `integer`. It is not checked here, because one
 * unreadable amount (a fraction, a string, a number beyond 2^53 − 1) must not throw away a
 * checkout Stan did create: the adapter reads each with its `stanAmountReader`, falls back to the amount
 * we sent, and explains it in the checkout's notes.
 */
const responseNumber = z.unknown().optional();
const responseString = z.string().nullish();

/** One line of the response's `line_items[]`; any field may be missing or null. */
export const stanResponseLineItemSchema = z.object({
  product_id: responseString,
  quantity: responseNumber,
  unit_price: responseNumber,
  discount_amount: responseNumber,
  description: responseString,
  sku: responseString,
  image_url: responseString,
  product_url: responseString,
});
export type StanResponseLineItem = z.infer<typeof stanResponseLineItemSchema>;

/** The response's `merchant` object. */
export const stanMerchantSchema = z.object({
  name: responseString,
  website: responseString,
  privacy_policy_url: responseString,
  general_terms_url: responseString,
  logo_url: responseString,
});
export type StanMerchant = z.infer<typeof stanMerchantSchema>;

/** 200 body of `POST /v1/checkouts`. */
export const stanCheckoutResponseSchema = z.object({
  id: z.string().min(1),
  total_amount: responseNumber,
  total_amount_before_discount: responseNumber,
  subtotal_amount: responseNumber,
  discount_amount: responseNumber,
  tax_rate: responseNumber,
  discount_code: responseString,
  is_testmode: z.boolean().nullish(),
  line_items: z.array(stanResponseLineItemSchema).nullish(),
  merchant: stanMerchantSchema.nullish(),
  session_id: responseString,
  order_id: responseString,
});
export type StanCheckoutResponse = z.infer<typeof stanCheckoutResponseSchema>;
