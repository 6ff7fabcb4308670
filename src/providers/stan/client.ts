import type { CallOptions } from '../../domain/ports.js';
import { ProviderHttp } from '../http.js';
import type { ProviderResilience } from '../resilience.js';
import type { ProviderClientOptions } from '../types.js';
import {
  STAN_CHECKOUTS_PATH,
  STAN_LABEL,
  stanCheckoutResponseSchema,
  type StanCheckoutResponse,
  type StanCreateCheckoutRequest,
} from './contract.js';

/** Settings of a Stan client. The credentials only ever travel in the Basic auth header. */
export interface StanClientOptions extends ProviderClientOptions {
  /** Basic auth user name; no ':' (RFC 7617), which the configuration checks. */
  clientId: string;
  /** Basic auth password. */
  clientSecret: string;
}

/** HTTP client of Stan's one documented endpoint. */
export class StanClient {
  readonly #http: ProviderHttp;

  constructor(options: StanClientOptions) {
    const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`, 'utf8').toString('base64');
    this.#http = new ProviderHttp({
      ...options,
      provider: 'STAN',
      label: STAN_LABEL,
      headers: { authorization: `Basic ${basic}` },
    });
  }

  /** Shared with whoever else calls Stan in this process. */
  get resilience(): ProviderResilience {
    return this.#http.resilience;
  }

  /**
   * `POST /v1/checkouts`. Sends the body as given (optional fields must be left out, not null).
   * Rejects with a `ProviderError`: retryable for network failures, timeouts, 408, 429 and 5xx;
   * not retryable for other statuses, a body that is not JSON or one without an `id`.
   */
  createCheckout(body: StanCreateCheckoutRequest, options: CallOptions = {}): Promise<StanCheckoutResponse> {
    return this.#http.call(
      { method: 'POST', path: STAN_CHECKOUTS_PATH, body, requestId: options.requestId },
      this.#http.expect(stanCheckoutResponseSchema),
    );
  }
}
