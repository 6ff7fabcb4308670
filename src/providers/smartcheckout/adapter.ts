import type { CheckoutStatus } from '../../domain/checkout.js';
import { type ProviderError, ValidationError } from '../../domain/errors.js';
import { MoneyFormatError, normalizeCurrency, parseDecimalToMinor } from '../../domain/money.js';
import type { CallOptions, CheckoutProvider, PreparedCreate } from '../../domain/ports.js';
import type { ProviderSnapshot } from '../../domain/snapshot.js';
import type { SmartcheckoutClient } from './client.js';
import type { SmartcheckoutDetails } from './details.js';
import {
  isAbsoluteHttpUrl,
  type SmartcheckoutCheckoutDetails,
  type SmartcheckoutShippingAddress,
  type SmartcheckoutUserData,
} from './contract.js';

/** A postal address for the purchase; sent in `user_data.shipping_address` with snake_case keys. */
export interface ShippingAddress {
  name?: string | null;
  line1: string;
  line2?: string | null;
  city: string;
  postalCode: string;
  state?: string | null;
  country: string;
  phone?: string | null;
}

/** What the graph asks Smartcheckout to buy. */
export interface SmartcheckoutCreateInput {
  /** Absolute http(s) URL of the product page. */
  productUrl: string;
  email: string;
  /** Free-text instructions such as size or colour. */
  prompt?: string | null;
  shippingAddress?: ShippingAddress | null;
  /** Extra `user_data` keys; `email`, `prompt` and `shipping_address` given above take precedence. */
  userData?: Record<string, unknown> | null;
}

const STATUS_MAP: Readonly<Record<string, CheckoutStatus>> = {
  processing: 'PROCESSING',
  completed: 'COMPLETED',
  failed: 'FAILED',
};

/** Wire form of a shipping address: snake_case, keys without a value left out. */
function toSmartcheckoutShippingAddress(address: ShippingAddress): SmartcheckoutShippingAddress {
  const wire: SmartcheckoutShippingAddress = {
    line1: address.line1,
    city: address.city,
    postal_code: address.postalCode,
    country: address.country,
  };
  if (address.name != null) wire.name = address.name;
  if (address.line2 != null) wire.line2 = address.line2;
  if (address.state != null) wire.state = address.state;
  if (address.phone != null) wire.phone = address.phone;
  return wire;
}

/**
 * The exact `user_data` object sent for an input: extra keys first, then the explicit fields,
 * so that `email`, `prompt` and `shipping_address` cannot be overridden by `userData`.
 * The stored details and the request body are both built with it: what is stored is what was sent.
 */
function buildSmartcheckoutUserData(input: SmartcheckoutCreateInput): SmartcheckoutUserData {
  const userData: SmartcheckoutUserData = { ...(input.userData ?? {}), email: input.email };
  if (input.prompt != null) userData.prompt = input.prompt;
  if (input.shippingAddress != null) userData.shipping_address = toSmartcheckoutShippingAddress(input.shippingAddress);
  return userData;
}

/** Maps a Smartcheckout status; an undocumented one becomes UNKNOWN with a note naming it. */
function mapSmartcheckoutStatus(status: string): { status: CheckoutStatus; unknownNote: string | null } {
  const mapped = Object.hasOwn(STATUS_MAP, status) ? STATUS_MAP[status] : undefined;
  if (mapped) return { status: mapped, unknownNote: null };
  return { status: 'UNKNOWN', unknownNote: `Smartcheckout reported an undocumented status ${JSON.stringify(status)}` };
}

/** Smartcheckout as a checkout provider: an asynchronous purchase, polled by id. */
export class SmartcheckoutAdapter implements CheckoutProvider<SmartcheckoutCreateInput> {
  readonly name = 'SMARTCHECKOUT' as const;
  /** A purchase: a POST that may buy without answering is never sent twice. */
  readonly idempotentCreate = false;
  readonly testMode: boolean;

  constructor(
    private readonly client: SmartcheckoutClient,
    options: { testMode: boolean },
  ) {
    this.testMode = options.testMode;
  }

  /** Refused before anything is recorded while the shared breaker lets no call out. */
  unavailable(options: CallOptions = {}): ProviderError | undefined {
    return this.client.resilience.unavailable('POST', options.requestId);
  }

  /** Stores the product URL (the one line item, price unknown until completion) and the exact `user_data` sent. */
  prepare(input: SmartcheckoutCreateInput): PreparedCreate {
    const details: SmartcheckoutDetails = { productUrl: input.productUrl, userData: buildSmartcheckoutUserData(input) };
    return {
      details,
      lineItems: [{ productUrl: input.productUrl, quantity: 1 }],
      send: (options) => this.create(input, options),
    };
  }

  /**
   * Starts the purchase. The line item is the product URL (price unknown until completion) and
   * the merchant is the store behind it, keyed by origin so checkouts at one store share it.
   */
  async create(input: SmartcheckoutCreateInput, options: CallOptions = {}): Promise<ProviderSnapshot> {
    if (!isAbsoluteHttpUrl(input.productUrl)) {
      throw new ValidationError([{ path: ['input', 'productUrl'], message: 'must be an absolute http(s) URL' }]);
    }
    const url = new URL(input.productUrl);
    const created = await this.client.createCheckout(
      { url: input.productUrl, user_data: buildSmartcheckoutUserData(input) },
      options,
    );
    const { status, unknownNote } = mapSmartcheckoutStatus(created.status);
    return {
      providerCheckoutId: created.checkout_id,
      status,
      notes: unknownNote,
      testMode: this.testMode,
      merchant: { key: url.origin, name: url.hostname, website: url.origin },
      lineItems: [{ productUrl: input.productUrl, quantity: 1 }],
    };
  }

  /** Polls `GET /v0/checkout/{id}`; the total is known once the provider reports an amount. */
  async fetchStatus(providerCheckoutId: string, options: CallOptions = {}): Promise<ProviderSnapshot> {
    const details = await this.client.getCheckout(providerCheckoutId, options);
    return snapshotOfDetails(details);
  }
}

/**
 * Maps a status answer. The status always applies; an amount or currency that cannot be read
 * exactly is left out of the total (null), named in `unreadable` and explained in the notes, so a
 * purchase the provider completed is recorded as completed even when its amount is unusable.
 */
function snapshotOfDetails(details: SmartcheckoutCheckoutDetails): ProviderSnapshot {
  const { status, unknownNote } = mapSmartcheckoutStatus(details.status);
  const providerNotes = details.notes != null && details.notes.trim() !== '' ? details.notes : null;
  const notes = [unknownNote && providerNotes ? `${unknownNote}: ${providerNotes}` : (unknownNote ?? providerNotes)];
  const snapshot: ProviderSnapshot = { status };
  const amount = details.amount_str?.trim();
  const currency = details.currency?.trim();
  if (amount || currency) {
    const problem = readTotal(amount, currency, snapshot);
    if (problem) {
      snapshot.unreadable = [problem];
      notes.push(`Smartcheckout's amount could not be read exactly (${problem}); the total is left empty`);
    }
  }
  snapshot.notes = notes.filter(Boolean).join('. ') || null;
  return snapshot;
}

/** Sets the snapshot's currency and total from the answer; returns what could not be read, if anything. */
function readTotal(
  amount: string | undefined,
  currency: string | undefined,
  snapshot: ProviderSnapshot,
): string | null {
  if (!currency) return `amount_str ${JSON.stringify(amount)} came without a currency`;
  try {
    snapshot.currency = normalizeCurrency(currency);
  } catch (error) {
    if (!(error instanceof MoneyFormatError)) throw error;
    snapshot.currency = null;
    snapshot.total = null;
    return error.message;
  }
  if (!amount) return null;
  try {
    snapshot.total = parseDecimalToMinor(amount, snapshot.currency);
    return null;
  } catch (error) {
    if (!(error instanceof MoneyFormatError)) throw error;
    snapshot.total = null;
    return error.message;
  }
}
