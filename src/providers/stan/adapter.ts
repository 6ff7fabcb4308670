import { MAX_MINOR_AMOUNT, normalizeCurrency } from '../../domain/money.js';
import type { CheckoutProviderAdapter, LineItemInfo, MerchantInfo, ProviderSnapshot } from '../types.js';
import type { StanClient } from './client.js';
import type { StanCheckoutResponse, StanCreateCheckoutRequest, StanMerchant, StanRequestLineItem, StanResponseLineItem } from './contract.js';

/** One line item of a Stan checkout; amounts in integer minor units. */
export interface StanLineItemInput {
  productId: string;
  quantity: number;
  unitPrice: number;
  discountAmount?: number | null;
  description?: string | null;
  sku?: string | null;
  imageUrl?: string | null;
  productUrl?: string | null;
}

/**
 * A Stan checkout to create. The amounts are sent as they are: the caller has already checked
 * and completed them with `computeStanTotals`.
 */
export interface StanCreateInput {
  returnUrl: string;
  lineItems: StanLineItemInput[];
  discountAmount?: number | null;
  discountCode?: string | null;
  taxRate?: number | null;
  taxCost?: number | null;
  subtotalAmount: number;
  totalAmount: number;
  sessionId?: string | null;
  orderId?: string | null;
}

/** Stan checkouts: one POST creates an open session; Stan documents no status endpoint. */
export class StanAdapter implements CheckoutProviderAdapter {
  readonly provider = 'STAN' as const;
  readonly #client: StanClient;
  readonly #currency: string;

  /** `currency` is the one currency of every Stan amount (`STAN_CURRENCY`). */
  constructor(client: StanClient, options: { currency: string }) {
    this.#client = client;
    this.#currency = normalizeCurrency(options.currency);
  }

  /** Creates the checkout at Stan and maps its answer; rejects with the client's `ProviderError`. */
  async create(input: StanCreateInput): Promise<ProviderSnapshot> {
    const response = await this.#client.createCheckout(toRequestBody(input));
    return {
      providerCheckoutId: response.id,
      status: 'OPEN',
      currency: this.#currency,
      total: response.total_amount ?? input.totalAmount,
      testMode: response.is_testmode ?? false,
      merchant: toMerchant(response.merchant),
      lineItems: toLineItems(response.line_items, input.lineItems),
      details: {
        subtotal: response.subtotal_amount ?? input.subtotalAmount,
        discount: response.discount_amount ?? input.discountAmount ?? null,
        taxRate: response.tax_rate ?? input.taxRate ?? null,
        // Stan does not echo tax_cost, so the amount we sent is the only one there is.
        tax: input.taxCost ?? null,
        discountCode: response.discount_code ?? input.discountCode ?? null,
        totalBeforeDiscount: response.total_amount_before_discount ?? totalBeforeDiscountOf(response, input),
        sessionId: response.session_id ?? input.sessionId ?? null,
        orderId: response.order_id ?? input.orderId ?? null,
        returnUrl: input.returnUrl,
      },
    };
  }
}

/** Builds the documented snake_case body; absent optional fields are left out, never null. */
export function toRequestBody(input: StanCreateInput): StanCreateCheckoutRequest {
  const body: StanCreateCheckoutRequest = {
    return_url: input.returnUrl,
    total_amount: input.totalAmount,
    ...present('session_id', input.sessionId),
    ...present('order_id', input.orderId),
    subtotal_amount: input.subtotalAmount,
    ...present('discount_amount', input.discountAmount),
    ...present('tax_rate', input.taxRate),
    ...present('tax_cost', input.taxCost),
    ...present('discount_code', input.discountCode),
    line_items: input.lineItems.map(
      (item): StanRequestLineItem => ({
        product_id: item.productId,
        quantity: item.quantity,
        unit_price: item.unitPrice,
        ...present('discount_amount', item.discountAmount),
        ...present('description', item.description),
        ...present('sku', item.sku),
        ...present('image_url', item.imageUrl),
        ...present('product_url', item.productUrl),
      }),
    ),
  };
  return body;
}

function present<K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } {
  return value === null || value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function nonBlank(value: string | null | undefined): string | null {
  return value !== null && value !== undefined && value.trim() !== '' ? value : null;
}

/** The merchant is keyed by its website (stable across renames), else by its name. */
function toMerchant(merchant: StanMerchant | null | undefined): MerchantInfo | null {
  if (!merchant) return null;
  const name = nonBlank(merchant.name);
  const website = nonBlank(merchant.website);
  const key = website ?? name;
  if (key === null) return null;
  return {
    key,
    name: name ?? key,
    website,
    privacyPolicyUrl: merchant.privacy_policy_url ?? null,
    generalTermsUrl: merchant.general_terms_url ?? null,
    logoUrl: merchant.logo_url ?? null,
  };
}

/**
 * Stan echoes the line items; where it leaves a field out, the line we sent at the same
 * position fills it (only when both lists have the same length, else positions mean nothing).
 * A response without line items, or with an item lacking its quantity and nothing to fill
 * it from, falls back to what we sent.
 */
function toLineItems(response: StanResponseLineItem[] | null | undefined, sent: StanLineItemInput[]): LineItemInfo[] {
  if (response && response.length > 0) {
    const aligned = response.length === sent.length;
    const mapped = response.map((item, i) => {
      const own = aligned ? sent[i] : undefined;
      const quantity = item.quantity ?? own?.quantity;
      if (quantity === undefined) return null;
      return lineItem({
        productId: item.product_id ?? own?.productId ?? null,
        quantity,
        unitPrice: item.unit_price ?? own?.unitPrice ?? null,
        discountAmount: item.discount_amount ?? own?.discountAmount ?? null,
        description: item.description ?? own?.description ?? null,
        sku: item.sku ?? own?.sku ?? null,
        imageUrl: item.image_url ?? own?.imageUrl ?? null,
        productUrl: item.product_url ?? own?.productUrl ?? null,
      });
    });
    if (mapped.every((item): item is LineItemInfo => item !== null)) return mapped;
  }
  return sent.map((item) => lineItem(item));
}

function lineItem(item: Omit<StanLineItemInput, 'productId' | 'unitPrice'> & { productId: string | null; unitPrice: number | null }): LineItemInfo {
  const discount = item.discountAmount ?? null;
  return {
    productId: item.productId,
    description: item.description ?? null,
    sku: item.sku ?? null,
    quantity: item.quantity,
    unitPrice: item.unitPrice,
    discount,
    total: item.unitPrice === null ? null : fitting(BigInt(item.quantity) * BigInt(item.unitPrice) - BigInt(discount ?? 0)),
    imageUrl: item.imageUrl ?? null,
    productUrl: item.productUrl ?? null,
  };
}

/** Total before discount when Stan does not say: what the customer pays plus what was taken off. */
function totalBeforeDiscountOf(response: StanCheckoutResponse, input: StanCreateInput): number | null {
  const total = response.total_amount ?? input.totalAmount;
  const discount = response.discount_amount ?? input.discountAmount ?? 0;
  return fitting(BigInt(total) + BigInt(discount));
}

/** A computed amount, or null when it would not fit the GraphQL Int of `Money.amount`. */
function fitting(value: bigint): number | null {
  return value <= BigInt(MAX_MINOR_AMOUNT) && value >= -BigInt(MAX_MINOR_AMOUNT) ? Number(value) : null;
}
