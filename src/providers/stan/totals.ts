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

/** An amount read from the input: a BigInt, absent (null), or refused ('invalid', already reported). */
type Read = bigint | null | 'invalid';

/** Collects every problem, at input paths, while the amounts are read and checked. */
class Problems {
  readonly fieldErrors: FieldError[] = [];

  fail(path: string[], message: string): void {
    this.fieldErrors.push({ path: ['input', ...path], message });
  }

  /** Shape check first: BigInt() throws on fractions, and a later rule fed a bad number would only confuse. */
  amount(value: number | null | undefined, path: string[], min: number, what: string): Read {
    if (value === null || value === undefined) return null;
    if (!Number.isSafeInteger(value) || value < min) {
      this.fail(path, `${what} must be an integer >= ${min} (minor units), got ${String(value)}`);
      return 'invalid';
    }
    return BigInt(value);
  }

  tooLarge(path: string[], what: string, value: bigint): void {
    this.fail(path, `${what} (${value}) is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`);
  }
}

/**
 * Computes (and cross-checks) the amounts of a Stan checkout. BigInt throughout so that
 * quantity * unitPrice and the sums stay exact even where a double would round; results are
 * returned as numbers only once they are known to fit `MAX_MINOR_AMOUNT`. All problems are
 * collected so the caller can report every invalid field at once.
 */
export function computeStanTotals(input: StanTotalsInput): StanTotals | StanTotalsFailure {
  const problems = new Problems();
  const subtotal = subtotalOfLines(input.lineItems, problems);
  const given = {
    subtotal: problems.amount(input.subtotalAmount, ['subtotalAmount'], 0, 'subtotalAmount'),
    discount: problems.amount(input.discountAmount, ['discountAmount'], 0, 'discountAmount'),
    taxRate: problems.amount(input.taxRate, ['taxRate'], 0, 'taxRate'),
    taxCost: problems.amount(input.taxCost, ['taxCost'], 0, 'taxCost'),
    total: problems.amount(input.totalAmount, ['totalAmount'], 0, 'totalAmount'),
  };
  const amounts = subtotal === null ? null : checkAmounts(subtotal, given, problems);
  if (amounts === null || problems.fieldErrors.length > 0) return { ok: false, fieldErrors: problems.fieldErrors };
  return {
    ok: true,
    subtotal: Number(amounts.subtotal),
    discount: Number(amounts.discount),
    tax: Number(amounts.tax),
    total: Number(amounts.total),
    totalBeforeDiscount: Number(amounts.totalBeforeDiscount),
  };
}

/** Σ(quantity × unitPrice − line discount), or null when a line is unusable (reported). */
function subtotalOfLines(lines: StanTotalsInput['lineItems'], problems: Problems): bigint | null {
  let valid = true;
  let subtotal = 0n;
  for (const [i, line] of lines.entries()) {
    const lineTotal = lineTotalOf(line, ['lineItems', String(i)], problems);
    if (lineTotal === null) valid = false;
    else subtotal += lineTotal;
  }
  return valid ? subtotal : null;
}

function lineTotalOf(line: StanTotalsInput['lineItems'][number], at: string[], problems: Problems): bigint | null {
  const quantity = problems.amount(line.quantity, [...at, 'quantity'], 1, 'quantity');
  const unitPrice = problems.amount(line.unitPrice, [...at, 'unitPrice'], 0, 'unitPrice');
  const discount = problems.amount(line.discountAmount, [...at, 'discountAmount'], 0, 'discountAmount');
  if (quantity === 'invalid' || unitPrice === 'invalid' || discount === 'invalid') return null;
  // quantity and unitPrice are required by the type; a missing one is a caller bug, report it.
  if (quantity === null || unitPrice === null) {
    problems.fail([...at, quantity === null ? 'quantity' : 'unitPrice'], 'is required');
    return null;
  }
  const gross = quantity * unitPrice;
  const lineTotal = gross - (discount ?? 0n);
  if (lineTotal < 0n) {
    problems.fail(
      [...at, 'discountAmount'],
      `line discount ${discount} is larger than quantity * unitPrice (${gross})`,
    );
    return null;
  }
  if (lineTotal > MAX) {
    problems.fail(at, `line total ${lineTotal} is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`);
    return null;
  }
  return lineTotal;
}

/** The checkout's amounts from the lines' subtotal and the given ones, or null when one is unusable (reported). */
function checkAmounts(
  subtotal: bigint,
  given: Record<'subtotal' | 'discount' | 'taxRate' | 'taxCost' | 'total', Read>,
  problems: Problems,
) {
  let subtotalValid = true;
  if (subtotal > MAX) {
    problems.tooLarge(['subtotalAmount'], 'the subtotal', subtotal);
    subtotalValid = false;
  }
  if (typeof given.subtotal === 'bigint' && given.subtotal !== subtotal) {
    problems.fail(
      ['subtotalAmount'],
      `does not match the line items: their totals (quantity * unitPrice - discountAmount) add up to ${subtotal}, got ${given.subtotal}`,
    );
    subtotalValid = false;
  }
  let discountValid = given.discount !== 'invalid';
  const discount = typeof given.discount === 'bigint' ? given.discount : 0n;
  if (discountValid && discount > subtotal) {
    problems.fail(['discountAmount'], `discount ${discount} is larger than the subtotal ${subtotal}`);
    discountValid = false;
  }
  const tax = taxOf(subtotal - discount, given, discountValid, problems);
  if (!subtotalValid || !discountValid || tax === null || given.total === 'invalid') return null;
  const total = subtotal - discount + tax;
  const totalBeforeDiscount = subtotal + tax;
  if (total > MAX) problems.tooLarge(['totalAmount'], 'the total', total);
  else if (totalBeforeDiscount > MAX) {
    problems.fail(
      ['totalAmount'],
      `the total before discount (subtotal + tax = ${totalBeforeDiscount}) is larger than the largest supported amount (${MAX_MINOR_AMOUNT})`,
    );
  }
  if (given.total !== null && given.total !== total) {
    problems.fail(
      ['totalAmount'],
      `does not match subtotal - discount + tax = ${subtotal} - ${discount} + ${tax} = ${total}, got ${given.total}`,
    );
  }
  return { subtotal, discount, tax, total, totalBeforeDiscount };
}

/** `taxCost`, or `taxRate` percent of the discounted subtotal rounded half up; null when unusable (reported). */
function taxOf(
  base: bigint,
  given: { taxRate: Read; taxCost: Read },
  discountValid: boolean,
  problems: Problems,
): bigint | null {
  const taxValid = given.taxRate !== 'invalid' && given.taxCost !== 'invalid';
  let tax = 0n;
  if (typeof given.taxCost === 'bigint') {
    tax = given.taxCost;
  } else if (taxValid && typeof given.taxRate === 'bigint' && given.taxRate > 0n && discountValid) {
    // Round half up on the exact product: floor((base * rate + 50) / 100), base and rate >= 0.
    tax = (base * given.taxRate + 50n) / 100n;
  }
  if (taxValid && tax > MAX) {
    problems.tooLarge(['taxCost'], 'the tax', tax);
    return null;
  }
  return taxValid ? tax : null;
}
