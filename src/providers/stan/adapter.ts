import type { ProviderError } from '../../domain/errors.js';
import { isMinorAmount, minorAmountOf, normalizeCurrency } from '../../domain/money.js';
import type { CallOptions, CheckoutProvider, PreparedCreate } from '../../domain/ports.js';
import type { LineItemInfo, MerchantInfo, ProviderSnapshot } from '../../domain/snapshot.js';
import type { StanClient } from './client.js';
import type { StanCreateCheckoutRequest, StanMerchant, StanRequestLineItem, StanResponseLineItem } from './contract.js';
import type { StanDetails } from './details.js';
import { computeStanTotals } from './totals.js';

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

/** A Stan checkout as the caller asks for it: the subtotal and total may be left to compute. */
export type StanCheckoutRequest = Omit<StanCreateInput, 'subtotalAmount' | 'totalAmount'> & {
  subtotalAmount?: number | null;
  totalAmount?: number | null;
};

/** Stan checkouts: one POST creates an open session; Stan documents no status endpoint. */
export class StanAdapter implements CheckoutProvider<StanCheckoutRequest> {
  readonly name = 'STAN' as const;
  /** A POST that may open a session without answering. */
  readonly idempotentCreate = false;
  readonly #client: StanClient;
  readonly #currency: string;
  readonly #testMode: boolean;

  /**
   * `currency` is the one currency of every Stan amount (`STAN_CURRENCY`); `testMode` marks every
   * checkout as test mode whatever Stan's `is_testmode` says (a sandbox or a known test account).
   */
  constructor(client: StanClient, options: { currency: string; testMode?: boolean }) {
    this.#client = client;
    this.#currency = normalizeCurrency(options.currency);
    this.#testMode = options.testMode ?? false;
  }

  /** Test mode from the start (the answer's `is_testmode` may still turn it on). */
  get testMode(): boolean {
    return this.#testMode;
  }

  /** Refused before anything is recorded while the shared breaker lets no call out. */
  unavailable(options: CallOptions = {}): ProviderError | undefined {
    return this.#client.resilience.unavailable('POST', options.requestId);
  }

  /**
   * Completes the amounts (the input schema checked them with the same computation) and records
   * the lines and totals as they will be sent.
   */
  prepare(request: StanCheckoutRequest): PreparedCreate {
    const totals = computeStanTotals(request);
    if (!totals.ok) throw new Error('Stan totals rejected after validation accepted them');
    const taxCost = request.taxCost ?? (request.taxRate ? totals.tax : null);
    const body: StanCreateInput = { ...request, subtotalAmount: totals.subtotal, totalAmount: totals.total, taxCost };
    const details: StanDetails = {
      returnUrl: request.returnUrl,
      subtotal: totals.subtotal,
      discount: request.discountAmount ?? null,
      taxRate: request.taxRate ?? null,
      tax: taxCost,
      discountCode: request.discountCode ?? null,
      totalBeforeDiscount: totals.totalBeforeDiscount,
      sessionId: request.sessionId ?? null,
      orderId: request.orderId ?? null,
    };
    const lineItems = request.lineItems.map(({ discountAmount, ...item }) => ({
      ...item,
      discount: discountAmount ?? null,
      // Exact: quantity * unitPrice may pass 2^53 before the line discount brings it back.
      total: Number(BigInt(item.quantity) * BigInt(item.unitPrice) - BigInt(discountAmount ?? 0)),
    }));
    return { currency: this.#currency, details, lineItems, send: (options) => this.create(body, options) };
  }

  /**
   * Creates the checkout at Stan and maps its answer; rejects with the client's `ProviderError`.
   * An amount in the answer that is not an integer in minor units (0 to 2^53 − 1) is replaced by
   * the one we sent, named in `unreadable` and explained in the notes: Stan did create the session.
   */
  async create(input: StanCreateInput, options: CallOptions = {}): Promise<ProviderSnapshot> {
    const response = await this.#client.createCheckout(toRequestBody(input), options);
    const read = stanAmountReader();
    const total = read(response.total_amount, 'total_amount') ?? input.totalAmount;
    const discount = read(response.discount_amount, 'discount_amount') ?? input.discountAmount ?? null;
    const snapshot: ProviderSnapshot = {
      providerCheckoutId: response.id,
      status: 'OPEN',
      currency: this.#currency,
      total,
      testMode: this.#testMode || response.is_testmode === true,
      merchant: toMerchant(response.merchant),
      lineItems: toLineItems(response.line_items, input.lineItems, read),
      details: {
        subtotal: read(response.subtotal_amount, 'subtotal_amount') ?? input.subtotalAmount,
        discount,
        taxRate: read(response.tax_rate, 'tax_rate') ?? input.taxRate ?? null,
        // Stan does not echo tax_cost, so the amount we sent is the only one there is.
        tax: input.taxCost ?? null,
        discountCode: response.discount_code ?? input.discountCode ?? null,
        // When Stan does not say: what the customer pays plus what was taken off.
        totalBeforeDiscount:
          read(response.total_amount_before_discount, 'total_amount_before_discount') ??
          minorAmountOf(BigInt(total) + BigInt(discount ?? 0)),
        sessionId: response.session_id ?? input.sessionId ?? null,
        orderId: response.order_id ?? input.orderId ?? null,
        returnUrl: input.returnUrl,
      } satisfies StanDetails,
    };
    if (read.problems.length > 0) {
      snapshot.unreadable = read.problems;
      snapshot.notes = `Stan answered amounts that could not be read exactly (${read.problems.join('; ')}); the amounts sent to Stan are shown instead`;
    }
    return snapshot;
  }
}

/** Reads amounts of a Stan answer: a number in minor units, null when absent or unreadable (recorded in `problems`). */
interface StanAmountReader {
  (value: unknown, field: string): number | null;
  readonly problems: string[];
}

function stanAmountReader(): StanAmountReader {
  const problems: string[] = [];
  const read = (value: unknown, field: string): number | null => {
    if (value === null || value === undefined) return null;
    if (isMinorAmount(value)) return value;
    problems.push(
      `${field} ${JSON.stringify(value) ?? String(value)} is not an integer amount from 0 to ${Number.MAX_SAFE_INTEGER}`,
    );
    return null;
  };
  return Object.assign(read, { problems });
}

/** Builds the documented snake_case body; absent optional fields are left out, never null. */
function toRequestBody(input: StanCreateInput): StanCreateCheckoutRequest {
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
function toLineItems(
  response: StanResponseLineItem[] | null | undefined,
  sent: StanLineItemInput[],
  read: StanAmountReader,
): LineItemInfo[] {
  if (response && response.length > 0) {
    const aligned = response.length === sent.length;
    const mapped = response.map((item, i) => {
      const own = aligned ? sent[i] : undefined;
      const at = `line_items[${i}]`;
      const quantity = read(item.quantity, `${at}.quantity`) ?? own?.quantity;
      if (quantity === undefined || quantity < 1) return null;
      return lineItem({
        productId: item.product_id ?? own?.productId ?? null,
        quantity,
        unitPrice: read(item.unit_price, `${at}.unit_price`) ?? own?.unitPrice ?? null,
        discountAmount: read(item.discount_amount, `${at}.discount_amount`) ?? own?.discountAmount ?? null,
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

function lineItem(
  item: Omit<StanLineItemInput, 'productId' | 'unitPrice'> & { productId: string | null; unitPrice: number | null },
): LineItemInfo {
  const discount = item.discountAmount ?? null;
  return {
    productId: item.productId,
    description: item.description ?? null,
    sku: item.sku ?? null,
    quantity: item.quantity,
    unitPrice: item.unitPrice,
    discount,
    total:
      item.unitPrice === null
        ? null
        : minorAmountOf(BigInt(item.quantity) * BigInt(item.unitPrice) - BigInt(discount ?? 0)),
    imageUrl: item.imageUrl ?? null,
    productUrl: item.productUrl ?? null,
  };
}
