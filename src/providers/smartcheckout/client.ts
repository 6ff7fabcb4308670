import type { CallOptions } from '../../domain/ports.js';
import { ProviderError } from '../../domain/errors.js';
import { ProviderHttp } from '../http.js';
import type { ProviderResilience } from '../resilience.js';
import type { ProviderClientOptions } from '../types.js';
import {
  SMARTCHECKOUT_CREATE_PATH,
  SMARTCHECKOUT_LABEL,
  SmartcheckoutCheckoutDetailsSchema,
  SmartcheckoutCreateResponseSchema,
  smartcheckoutCheckoutPath,
  type SmartcheckoutCheckoutDetails,
  type SmartcheckoutCreateRequest,
  type SmartcheckoutCreateResponse,
} from './contract.js';

/** Settings of the Smartcheckout client. */
export interface SmartcheckoutClientOptions extends ProviderClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>` (visible ASCII, checked by the configuration). Never logged or echoed. */
  apiKey: string;
}

/** HTTP client of the two documented Smartcheckout endpoints. */
export class SmartcheckoutClient {
  private readonly http: ProviderHttp;

  constructor(options: SmartcheckoutClientOptions) {
    this.http = new ProviderHttp({
      ...options,
      provider: 'SMARTCHECKOUT',
      label: SMARTCHECKOUT_LABEL,
      headers: { authorization: `Bearer ${options.apiKey}` },
    });
  }

  /** Shared with whoever else calls Smartcheckout in this process (the poller and the mutations). */
  get resilience(): ProviderResilience {
    return this.http.resilience;
  }

  /** `POST /v0/checkout`: starts an asynchronous purchase of the product at `body.url`. */
  createCheckout(body: SmartcheckoutCreateRequest, options: CallOptions = {}): Promise<SmartcheckoutCreateResponse> {
    return this.http.call(
      { method: 'POST', path: SMARTCHECKOUT_CREATE_PATH, body, requestId: options.requestId },
      this.http.expect(SmartcheckoutCreateResponseSchema),
    );
  }

  /**
   * `GET /v0/checkout/{id}`: the current status, and the amount once completed.
   * A 404 (unknown checkout) is a non-retryable ProviderError with `httpStatus` 404.
   */
  async getCheckout(checkoutId: string, options: CallOptions = {}): Promise<SmartcheckoutCheckoutDetails> {
    if (checkoutId.trim() === '') {
      // `/v0/checkout/` is not the status endpoint; asking it would return something unrelated.
      throw new ProviderError('Smartcheckout checkout id is empty', {
        provider: 'SMARTCHECKOUT',
        retryable: false,
        delivery: 'no',
      });
    }
    const read = this.http.expect(SmartcheckoutCheckoutDetailsSchema);
    const { status, details } = await this.http.call(
      { method: 'GET', path: smartcheckoutCheckoutPath(checkoutId), ...options },
      (response) => ({ status: response.status, details: read(response) }),
    );
    // Applying another checkout's status and amount to ours would be worse than failing the poll.
    if (details.id != null && details.id !== '' && details.id.toLowerCase() !== checkoutId.toLowerCase()) {
      throw new ProviderError(`Smartcheckout answered checkout ${details.id} when asked for ${checkoutId}`, {
        provider: 'SMARTCHECKOUT',
        retryable: false,
        httpStatus: status,
      });
    }
    return details;
  }
}
