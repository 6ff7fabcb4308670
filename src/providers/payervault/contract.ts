import { z } from 'zod';

/**
 * PayerVault's documented contract: `GET /api/v1/checkout-link/{customer_id}` with the headers
 * `accessKey` and `accessSecret`, answering `200 {"url": ...}`, or `404`/`500` with `{"message": ...}`.
 */
export const PAYERVAULT_CHECKOUT_LINK_PATH = '/api/v1/checkout-link/';

/** The provider's name for people, in messages. */
export const PAYERVAULT_LABEL = 'PayerVault';

/** Header names exactly as the documentation spells them (HTTP treats them case-insensitively). */
export const PAYERVAULT_ACCESS_KEY_HEADER = 'accessKey';
export const PAYERVAULT_ACCESS_SECRET_HEADER = 'accessSecret';

/**
 * A customer id we can send as one path segment. `.` and `..` are refused because URL
 * normalisation (in fetch and every proxy) turns them, even percent-encoded, into a different path.
 */
export const payerVaultCustomerIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .refine((id) => id !== '.' && id !== '..', { message: 'cannot be "." or ".."' });

/**
 * The documentation's sample shows `"<https://...>"`: the angle brackets are a markdown autolink
 * that leaked into the example. One wrapping pair is removed so a service copying the sample works.
 */
function stripAngleBrackets(value: string): string {
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('<') && trimmed.endsWith('>')
    ? trimmed.slice(1, -1).trim()
    : trimmed;
}

/**
 * 200 body. Only `url` is documented; other keys are tolerated. The link is opened by shoppers'
 * browsers, so anything but an absolute http(s) URL (e.g. `javascript:`) is refused.
 */
export const payerVaultCheckoutLinkResponseSchema = z.object({
  url: z
    .string()
    .transform(stripAngleBrackets)
    .pipe(
      z
        .string()
        .min(1, 'must not be empty')
        .pipe(z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })),
    ),
});

/** The checkout link PayerVault returned, with the markdown brackets already removed. */
export type PayerVaultCheckoutLink = z.output<typeof payerVaultCheckoutLinkResponseSchema>;

/** Body of the documented 404 and 500 answers, e.g. `{"message": "No products in cart"}`. */
export const payerVaultErrorResponseSchema = z.object({ message: z.string() });
export type PayerVaultErrorResponse = z.infer<typeof payerVaultErrorResponseSchema>;
