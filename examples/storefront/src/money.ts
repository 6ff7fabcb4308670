/*
 * Money on the page: amounts are integers in the currency's minor unit, as the API sends them.
 * Decimal text is converted with string arithmetic and BigInt, never floating point, and shown
 * with Intl.NumberFormat, which formats a decimal string exactly.
 */

/** Digits after the decimal point in `currency` (USD 2, JPY 0, KWD 3), from the browser's Intl data. */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** `amount` minor units of `currency` as a decimal string: 4999 USD -> "49.99". */
export function toDecimal(amount: bigint | number, currency: string): string {
  const digits = minorDigits(currency);
  const value = BigInt(amount);
  const sign = value < 0n ? '-' : '';
  const text = (value < 0n ? -value : value).toString().padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${text}` : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** `amount` minor units shown in the shopper's locale: 4999 USD -> "$49.99". */
export function formatMoney(amount: bigint | number, currency: string, locale?: string): string {
  const decimal = toDecimal(amount, currency) as Intl.StringNumericLiteral;
  return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(decimal);
}

/** Why a typed amount cannot be used, in words for the field it came from. */
export class AmountError extends Error {
  override name = 'AmountError';
}

/** Parses what a shopper typed ("12.5", "12.50", "12") into minor units of `currency`. */
export function parseAmount(text: string, currency: string): bigint {
  const trimmed = text.trim();
  const match = /^(\d+)(?:[.,](\d*))?$/.exec(trimmed);
  if (!match) throw new AmountError('must be an amount such as 12.50');
  const digits = minorDigits(currency);
  const fraction = match[2] ?? '';
  if (fraction.length > digits) {
    throw new AmountError(`has more decimal places than ${currency} allows (${digits})`);
  }
  return BigInt(match[1]! + fraction.padEnd(digits, '0'));
}

/** One cart line in minor units. */
export interface Line {
  quantity: bigint;
  unitPrice: bigint;
}

/** Stan's totals as the API computes them, so the page can show and send the same numbers. */
export interface StanTotals {
  subtotal: bigint;
  discount: bigint;
  tax: bigint;
  total: bigint;
}

/**
 * subtotal = Σ quantity × unit price; tax = taxRate percent of (subtotal − discount), rounded
 * half up; total = subtotal − discount + tax (README "Stan totals").
 */
export function stanTotals(lines: Line[], discount: bigint, taxRate: bigint): StanTotals {
  const subtotal = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0n);
  const base = subtotal - discount;
  const tax = taxRate > 0n && base > 0n ? (base * taxRate + 50n) / 100n : 0n;
  return { subtotal, discount, tax, total: base + tax };
}
