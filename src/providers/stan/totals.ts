import type { FieldError } from '../../domain/errors.js';
import { MAX_MINOR_AMOUNT } from '../../domain/money.js';

/** A Stan checkout's amounts as the caller gave them, integer minor units throughout. */
export interface StanTotalsInput {
  lineItems: { quantity: number; unitPrice: number; discountAmount?: number | null }[];
  /** Absolute discount on the whole checkout. */
  discountAmount?: number | null;
  /** Tax percentage as an integer (20 = 20 %); used only when `taxCost` is absent. */
  taxRate?: number | null;
  /** Absolute tax amount; wins over `taxRate`. */
  taxCost?: number | null;
  /** When given, must equal the sum of the line totals. */
  subtotalAmount?: number | null;
  /** When given, must equal subtotal - discount + tax. */
  totalAmount?: number | null;
}

/** The amounts of a Stan checkout, every one within `MAX_MINOR_AMOUNT`. */
export interface StanTotals {
  ok: true;
  subtotal: number;
  discount: number;
  tax: number;
  total: number;
  totalBeforeDiscount: number;
}

/** Every reason the input's amounts are unusable; paths are GraphQL input paths. */
export interface StanTotalsFailure {
  ok: false;
  fieldErrors: FieldError[];
}

const MAX = BigInt(MAX_MINOR_AMOUNT);

/**
 * Computes (and cross-checks) the amounts of a Stan checkout. BigInt throughout so that
 * quantity * unitPrice and the sums stay exact even where a double would round; results are
 * returned as numbers only once they are known to fit `MAX_MINOR_AMOUNT`. All problems are
 * collected so the caller can report every invalid field at once.
 */
export function computeStanTotals(input: StanTotalsInput): StanTotals | StanTotalsFailure {
  const errors: FieldError[] = [];
  const fail = (path: string[], message: string) => errors.push({ path: ['input', ...path], message });

  // Shape checks first: BigInt() throws on fractions, and a later rule fed a bad number would
  // only produce a confusing follow-up error.
  const amount = (
    value: number | null | undefined,
    path: string[],
    min: number,
    what: string,
  ): bigint | null | 'invalid' => {
    if (value === null || value === undefined) return null;
    if (!Number.isSafeInteger(value) || value < min) {
      fail(path, `${what} must be an integer >= ${min} (minor units), got ${String(value)}`);
      return 'invalid';
    }
    return BigInt(value);
  };

  let linesValid = true;
  let subtotal = 0n;
  input.lineItems.forEach((line, i) => {
    const at = ['lineItems', String(i)];
    const quantity = amount(line.quantity, [...at, 'quantity'], 1, 'quantity');
    const unitPrice = amount(line.unitPrice, [...at, 'unitPrice'], 0, 'unitPrice');
    const discount = amount(line.discountAmount, [...at, 'discountAmount'], 0, 'discountAmount');
    if (quantity === 'invalid' || unitPrice === 'invalid' || discount === 'invalid') {
      linesValid = false;
      return;
    }
    // quantity and unitPrice are required by the type; a missing one is a caller bug, report it.
    if (quantity === null || unitPrice === null) {
      fail([...at, quantity === null ? 'quantity' : 'unitPrice'], 'is required');
      linesValid = false;
      return;
    }
    const gross = quantity * unitPrice;
    const lineTotal = gross - (discount ?? 0n);
    if (lineTotal < 0n) {
      fail([...at, 'discountAmount'], `line discount ${discount} is larger than quantity * unitPrice (${gross})`);
      linesValid = false;
      return;
    }
    if (lineTotal > MAX) {
      fail(at, `line total ${lineTotal} is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`);
      linesValid = false;
      return;
    }
    subtotal += lineTotal;
  });

  const givenSubtotal = amount(input.subtotalAmount, ['subtotalAmount'], 0, 'subtotalAmount');
  const givenDiscount = amount(input.discountAmount, ['discountAmount'], 0, 'discountAmount');
  const taxRate = amount(input.taxRate, ['taxRate'], 0, 'taxRate');
  const taxCost = amount(input.taxCost, ['taxCost'], 0, 'taxCost');
  const givenTotal = amount(input.totalAmount, ['totalAmount'], 0, 'totalAmount');

  if (!linesValid) return { ok: false, fieldErrors: errors };

  let subtotalValid = true;
  if (subtotal > MAX) {
    fail(
      ['subtotalAmount'],
      `the subtotal (${subtotal}) is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`,
    );
    subtotalValid = false;
  }
  if (typeof givenSubtotal === 'bigint' && givenSubtotal !== subtotal) {
    fail(
      ['subtotalAmount'],
      `does not match the line items: their totals (quantity * unitPrice - discountAmount) add up to ${subtotal}, got ${givenSubtotal}`,
    );
    subtotalValid = false;
  }

  let discountValid = givenDiscount !== 'invalid';
  const discount = typeof givenDiscount === 'bigint' ? givenDiscount : 0n;
  if (discountValid && discount > subtotal) {
    fail(['discountAmount'], `discount ${discount} is larger than the subtotal ${subtotal}`);
    discountValid = false;
  }

  let taxValid = taxRate !== 'invalid' && taxCost !== 'invalid';
  let tax = 0n;
  if (typeof taxCost === 'bigint') {
    tax = taxCost;
  } else if (taxValid && typeof taxRate === 'bigint' && taxRate > 0n && discountValid) {
    // Round half up on the exact product: floor((base * rate + 50) / 100), base and rate >= 0.
    tax = ((subtotal - discount) * taxRate + 50n) / 100n;
  }
  if (taxValid && tax > MAX) {
    fail(['taxCost'], `the tax (${tax}) is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`);
    taxValid = false;
  }

  if (!subtotalValid || !discountValid || !taxValid || givenTotal === 'invalid')
    return { ok: false, fieldErrors: errors };

  const total = subtotal - discount + tax;
  const totalBeforeDiscount = subtotal + tax;
  if (total > MAX) {
    fail(['totalAmount'], `the total (${total}) is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`);
  } else if (totalBeforeDiscount > MAX) {
    fail(
      ['totalAmount'],
      `the total before discount (subtotal + tax = ${totalBeforeDiscount}) is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`,
    );
  }
  if (givenTotal !== null && givenTotal !== total) {
    fail(
      ['totalAmount'],
      `does not match subtotal - discount + tax = ${subtotal} - ${discount} + ${tax} = ${total}, got ${givenTotal}`,
    );
  }
  if (errors.length > 0) return { ok: false, fieldErrors: errors };
  return {
    ok: true,
    subtotal: Number(subtotal),
    discount: Number(discount),
    tax: Number(tax),
    total: Number(total),
    totalBeforeDiscount: Number(totalBeforeDiscount),
  };
}
