import type { CheckoutProviderAdapter, ProviderSnapshot } from '../types.js';
import type { PayerVaultClient } from './client.js';

/**
 * PayerVault checkouts are hosted links to a cart kept at PayerVault. There is no documented
 * status endpoint, so a checkout stays OPEN and no `fetchStatus` is offered.
 */
export class PayerVaultAdapter implements CheckoutProviderAdapter {
  readonly provider = 'PAYERVAULT' as const;

  constructor(
    private readonly client: PayerVaultClient,
    private readonly options: { testMode: boolean },
  ) {}

  /** Asks PayerVault for the customer's checkout link; errors from the client pass through. */
  async create(input: { customerId: string }): Promise<ProviderSnapshot> {
    const link = await this.client.getCheckoutLink(input.customerId);
    return {
      // PayerVault returns only a URL: no id of its own to refer to the checkout by.
      providerCheckoutId: null,
      status: 'OPEN',
      checkoutUrl: link.url,
      testMode: this.options.testMode,
      details: { customerId: input.customerId },
    };
  }
}
