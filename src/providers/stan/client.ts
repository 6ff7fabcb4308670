import { parseProviderBody, providerErrorFromStatus, providerUrl, sendProviderRequest } from '../http.js';
import { ProviderResilience } from '../resilience.js';
import type { ProviderClientOptions } from '../types.js';
import {
  STAN_CHECKOUTS_PATH,
  stanCheckoutResponseSchema,
  type StanCheckoutResponse,
  type StanCreateCheckoutRequest,
} from './contract.js';

/** Settings of a Stan client. The credentials only ever travel in the Basic auth header. */
export interface StanClientOptions extends ProviderClientOptions {
  /** Basic auth user name. Must not contain ':' (RFC 7617). */
  clientId: string;
  /** Basic auth password. */
  clientSecret: string;
}

/** HTTP client of Stan's one documented endpoint. */
export class StanClient {
  readonly #baseUrl: string;
  readonly #timeoutMs: number;
  readonly #authorization: string;
  readonly #connectTimeoutMs: number | undefined;
  /** Shared with whoever else calls Stan in this process. */
  readonly resilience: ProviderResilience;

  constructor(options: StanClientOptions) {
    // A colon in the user name would shift the split point on Stan's side and send the wrong
    // credentials; refuse it here, without echoing the value.
    if (options.clientId.includes(':')) throw new Error('The Stan client id must not contain ":"');
    this.#baseUrl = options.baseUrl;
    this.#timeoutMs = options.timeoutMs;
    this.#authorization = `Basic ${Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64')}`;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.resilience = options.resilience ?? new ProviderResilience('STAN');
  }

  /**
   * `POST /v1/checkouts`. Sends the body as given (optional fields must be left out, not null).
   * Rejects with a `ProviderError`: retryable for network failures, timeouts, 408, 429 and 5xx;
   * not retryable for other statuses, a body that is not JSON or one without an `id`.
   */
  async createCheckout(body: StanCreateCheckoutRequest): Promise<StanCheckoutResponse> {
    return this.resilience.execute('POST', async () => {
      const response = await sendProviderRequest('STAN', {
        method: 'POST',
        url: providerUrl(this.#baseUrl, STAN_CHECKOUTS_PATH),
        headers: { authorization: this.#authorization, 'content-type': 'application/json' },
        body,
        timeoutMs: this.#timeoutMs,
        connectTimeoutMs: this.#connectTimeoutMs,
      });
      if (response.status < 200 || response.status > 299) throw providerErrorFromStatus('STAN', response);
      return parseProviderBody('STAN', response, stanCheckoutResponseSchema);
    });
  }
}
