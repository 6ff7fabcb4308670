import type { ProviderError } from '../../domain/errors.js';
import type { CallOptions, CheckoutProvider, PreparedCreate } from '../../domain/ports.js';
import type { ProviderSnapshot } from '../../domain/snapshot.js';
import type { PayerVaultClient } from './client.js';
import type { PayerVaultDetails } from './details.js';

/** What a PayerVault checkout is made from. */
export interface PayerVaultCreateInput {
  customerId: string;
}

/**
 * PayerVault checkouts are hosted links to a cart kept at PayerVault. There is no documented
 * status endpoint, so a checkout stays OPEN and no `fetchStatus` is offered.
 */
export class PayerVaultAdapter implements CheckoutProvider<PayerVaultCreateInput> {
  readonly name = 'PAYERVAULT' as const;
  /** A GET of a link: asking twice creates nothing twice. */
  readonly idempotentCreate = true;
  readonly testMode: boolean;

  constructor(
    private readonly client: PayerVaultClient,
    options: { testMode: boolean },
  ) {
    this.testMode = options.testMode;
  }

  /** Refused before anything is recorded while the shared breaker lets no call out. */
  unavailable(options: CallOptions = {}): ProviderError | undefined {
    return this.client.resilience.unavailable('GET', options.requestId);
  }

  prepare(input: PayerVaultCreateInput): PreparedCreate {
    const details: PayerVaultDetails = { customerId: input.customerId };
    return { details, send: (options) => this.create(input, options) };
  }

  /** Asks PayerVault for the customer's checkout link; errors from the client pass through. */
  async create(input: PayerVaultCreateInput, options: CallOptions = {}): Promise<ProviderSnapshot> {
    const link = await this.client.getCheckoutLink(input.customerId, options);
    return {
      // PayerVault returns only a URL: no id of its own to refer to the checkout by.
      providerCheckoutId: null,
      status: 'OPEN',
      checkoutUrl: link.url,
      testMode: this.testMode,
      details: { customerId: input.customerId } satisfies PayerVaultDetails,
    };
  }
}
