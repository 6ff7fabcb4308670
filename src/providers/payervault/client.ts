import type { CallOptions } from '../../domain/ports.js';
import { EmptyCartError, ProviderError, ValidationError } from '../../domain/errors.js';
import { ProviderHttp, providerMessageOf, type ProviderResponse } from '../http.js';
import type { ProviderResilience } from '../resilience.js';
import type { ProviderClientOptions } from '../types.js';
import {
  PAYERVAULT_ACCESS_KEY_HEADER,
  PAYERVAULT_ACCESS_SECRET_HEADER,
  PAYERVAULT_CHECKOUT_LINK_PATH,
  PAYERVAULT_LABEL,
  payerVaultCheckoutLinkResponseSchema,
  payerVaultCustomerIdSchema,
  type PayerVaultCheckoutLink,
} from './contract.js';

/** Settings of a PayerVault client. The credentials are sent as headers and never logged. */
export interface PayerVaultClientOptions extends ProviderClientOptions {
  /** Sent as the `accessKey` header. */
  accessKey: string;
  /** Sent as the `accessSecret` header. */
  accessSecret: string;
}

/** HTTP client of PayerVault's one documented endpoint. */
export class PayerVaultClient {
  readonly #http: ProviderHttp;

  constructor(options: PayerVaultClientOptions) {
    this.#http = new ProviderHttp({
      ...options,
      provider: 'PAYERVAULT',
      label: PAYERVAULT_LABEL,
      headers: {
        [PAYERVAULT_ACCESS_KEY_HEADER]: options.accessKey,
        [PAYERVAULT_ACCESS_SECRET_HEADER]: options.accessSecret,
      },
    });
  }

  /** Shared with whoever else calls PayerVault in this process. */
  get resilience(): ProviderResilience {
    return this.#http.resilience;
  }

  /**
   * `GET /api/v1/checkout-link/{customer_id}`. Resolves with the hosted checkout link; rejects
   * with `EmptyCartError` on the documented 404, `ProviderError` on any other failure, and
   * `ValidationError` for an id that cannot be sent as a path segment.
   */
  async getCheckoutLink(customerId: string, options: CallOptions = {}): Promise<PayerVaultCheckoutLink> {
    const checked = payerVaultCustomerIdSchema.safeParse(customerId);
    if (!checked.success) {
      throw new ValidationError([{ path: ['customerId'], message: checked.error.issues[0]?.message ?? 'is invalid' }]);
    }
    const link = this.#http.expect(payerVaultCheckoutLinkResponseSchema);
    // A GET: safe to retry, and an empty cart (EmptyCartError) is an answer, not a failure.
    return this.#http.call(
      { method: 'GET', path: `${PAYERVAULT_CHECKOUT_LINK_PATH}${encodeURIComponent(customerId)}`, ...options },
      (response) => (response.status === 404 ? refuseNotFound(customerId, response) : link(response)),
    );
  }
}

/**
 * The documented 404 carries a JSON message: an empty cart. A 404 without JSON is some other
 * server (a proxy, a wrong base URL) and must not be reported to the shopper as an empty cart.
 */
function refuseNotFound(customerId: string, response: ProviderResponse): never {
  if (response.json !== null && typeof response.json === 'object')
    throw new EmptyCartError(customerId, providerMessageOf(response));
  throw new ProviderError('PayerVault answered HTTP 404 without its documented JSON error body', {
    provider: 'PAYERVAULT',
    retryable: false,
    httpStatus: 404,
  });
}
