import { ProviderError } from '../../domain/errors.js';
import { parseProviderBody, providerErrorFromStatus, providerUrl, sendProviderRequest } from '../http.js';
import { ProviderResilience } from '../resilience.js';
import type { ProviderClientOptions } from '../types.js';
import {
  SMARTCHECKOUT_CREATE_PATH,
  SmartcheckoutCheckoutDetailsSchema,
  SmartcheckoutCreateResponseSchema,
  smartcheckoutCheckoutPath,
  type SmartcheckoutCheckoutDetails,
  type SmartcheckoutCreateRequest,
  type SmartcheckoutCreateResponse,
} from './contract.js';

/** Settings of the Smartcheckout client. */
export interface SmartcheckoutClientOptions extends ProviderClientOptions {
  /** Sent as `Authorization: Bearer <apiKey>`. Never logged or echoed in errors. */
  apiKey: string;
}

// Visible ASCII only: fetch rejects other header values with a message that quotes the value,
// and that message would end up in a ProviderError, leaking the key.
const API_KEY = /^[\x21-\x7e]+$/;

/** HTTP client of the two documented Smartcheckout endpoints. */
export class SmartcheckoutClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly authorization: string;
  private readonly connectTimeoutMs: number | undefined;
  /** Shared with whoever else calls Smartcheckout in this process (the poller and the mutations). */
  readonly resilience: ProviderResilience;

  constructor(options: SmartcheckoutClientOptions) {
    if (!API_KEY.test(options.apiKey)) {
      throw new Error('The Smartcheckout API key must be non-empty and contain only visible ASCII characters');
    }
    this.baseUrl = options.baseUrl;
    this.timeoutMs = options.timeoutMs;
    this.authorization = `Bearer ${options.apiKey}`;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.resilience = options.resilience ?? new ProviderResilience('SMARTCHECKOUT');
  }

  /** `POST /v0/checkout`: starts an asynchronous purchase of the product at `body.url`. */
  async createCheckout(body: SmartcheckoutCreateRequest): Promise<SmartcheckoutCreateResponse> {
    return this.resilience.execute('POST', async () => {
      const response = await sendProviderRequest('SMARTCHECKOUT', {
        method: 'POST',
        url: providerUrl(this.baseUrl, SMARTCHECKOUT_CREATE_PATH),
        headers: { authorization: this.authorization },
        body,
        timeoutMs: this.timeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
      });
      if (response.status < 200 || response.status >= 300) throw providerErrorFromStatus('SMARTCHECKOUT', response);
      return parseProviderBody('SMARTCHECKOUT', response, SmartcheckoutCreateResponseSchema);
    });
  }

  /**
   * `GET /v0/checkout/{id}`: the current status, and the amount once completed.
   * A 404 (unknown checkout) is a non-retryable ProviderError with `httpStatus` 404.
   */
  async getCheckout(checkoutId: string, options: { signal?: AbortSignal } = {}): Promise<SmartcheckoutCheckoutDetails> {
    if (checkoutId.trim() === '') {
      // `/v0/checkout/` is not the status endpoint; asking it would return something unrelated.
      throw new ProviderError('Smartcheckout checkout id is empty', { provider: 'SMARTCHECKOUT', retryable: false, delivery: 'no' });
    }
    const { response, details } = await this.resilience.execute('GET', async () => {
      const response = await sendProviderRequest('SMARTCHECKOUT', {
        method: 'GET',
        url: providerUrl(this.baseUrl, smartcheckoutCheckoutPath(checkoutId)),
        headers: { authorization: this.authorization },
        timeoutMs: this.timeoutMs,
        connectTimeoutMs: this.connectTimeoutMs,
        signal: options.signal,
      });
      if (response.status < 200 || response.status >= 300) throw providerErrorFromStatus('SMARTCHECKOUT', response);
      return { response, details: parseProviderBody('SMARTCHECKOUT', response, SmartcheckoutCheckoutDetailsSchema) };
    });
    // Applying another checkout's status and amount to ours would be worse than failing the poll.
    if (details.id != null && details.id !== '' && details.id.toLowerCase() !== checkoutId.toLowerCase()) {
      throw new ProviderError(`Smartcheckout answered checkout ${details.id} when asked for ${checkoutId}`, {
        provider: 'SMARTCHECKOUT',
        retryable: false,
        httpStatus: response.status,
      });
    }
    return details;
  }
}
