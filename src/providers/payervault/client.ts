import { EmptyCartError, ProviderError, ValidationError } from '../../domain/errors.js';
import {
  parseProviderBody,
  providerErrorFromStatus,
  providerMessageOf,
  providerUrl,
  sendProviderRequest,
} from '../http.js';
import { ProviderResilience } from '../resilience.js';
import type { ProviderClientOptions } from '../types.js';
import {
  PAYERVAULT_ACCESS_KEY_HEADER,
  PAYERVAULT_ACCESS_SECRET_HEADER,
  PAYERVAULT_CHECKOUT_LINK_PATH,
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
  readonly #options: PayerVaultClientOptions;
  /** Shared with whoever else calls PayerVault in this process. */
  readonly resilience: ProviderResilience;

  constructor(options: PayerVaultClientOptions) {
    this.#options = { ...options };
    this.resilience = options.resilience ?? new ProviderResilience('PAYERVAULT');
  }

  /**
   * `GET /api/v1/checkout-link/{customer_id}`. Resolves with the hosted checkout link; rejects
   * with `EmptyCartError` on the documented 404, `ProviderError` on any other failure, and
   * `ValidationError` for an id that cannot be sent as a path segment.
   */
  async getCheckoutLink(customerId: string): Promise<PayerVaultCheckoutLink> {
    const checked = payerVaultCustomerIdSchema.safeParse(customerId);
    if (!checked.success) {
      throw new ValidationError([{ path: ['customerId'], message: checked.error.issues[0]?.message ?? 'is invalid' }]);
    }
    // A GET: safe to retry, and an empty cart (EmptyCartError) is an answer, not a failure.
    return this.resilience.execute('GET', async () => {
      const response = await sendProviderRequest('PAYERVAULT', {
        method: 'GET',
        url: providerUrl(this.#options.baseUrl, `${PAYERVAULT_CHECKOUT_LINK_PATH}${encodeURIComponent(customerId)}`),
        headers: {
          [PAYERVAULT_ACCESS_KEY_HEADER]: this.#options.accessKey,
          [PAYERVAULT_ACCESS_SECRET_HEADER]: this.#options.accessSecret,
        },
        timeoutMs: this.#options.timeoutMs,
        connectTimeoutMs: this.#options.connectTimeoutMs,
      });
      if (response.status === 404) {
        // The documented 404 carries a JSON message; a 404 without JSON is some other server
        // (a proxy, a wrong base URL) and must not be reported to the shopper as an empty cart.
        if (response.json !== null && typeof response.json === 'object') {
          throw new EmptyCartError(customerId, providerMessageOf(response));
        }
        throw new ProviderError('PayerVault answered HTTP 404 without its documented JSON error body', {
          provider: 'PAYERVAULT',
          retryable: false,
          httpStatus: 404,
        });
      }
      if (response.status < 200 || response.status > 299) throw providerErrorFromStatus('PAYERVAULT', response);
      return parseProviderBody('PAYERVAULT', response, payerVaultCheckoutLinkResponseSchema);
    });
  }
}
