/**
 * Exact money: amounts are integers in the currency's minor unit (ISO 4217 exponent).
 * Decimal strings are parsed digit by digit; no floating point is used anywhere on this path.
 */

/** ISO 4217 currencies whose minor unit is not 2 decimal places. Everything else uses 2. */
const EXPONENT_EXCEPTIONS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0,
  UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** The largest amount the GraphQL `Int` of `Money.amount` can carry. */
export const MAX_MINOR_AMOUNT = 2_147_483_647;

export class MoneyFormatError extends Error {}

/** An amount in minor units of an ISO 4217 currency. */
export interface Money {
  amount: number;
  currency: string;
}

const CURRENCY_CODE = /^[A-Z]{3}$/;

/** Normalises and checks a currency code ("usd" -> "USD"). Throws MoneyFormatError otherwise. */
export function normalizeCurrency(code: string): string {
  const upper = code.trim().toUpperCase();
  if (!CURRENCY_CODE.test(upper)) throw new MoneyFormatError(`"${code}" is not an ISO 4217 currency code`);
  return upper;
}

/** Number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3). */
export function currencyExponent(currency: string): number {
  return EXPONENT_EXCEPTIONS[normalizeCurrency(currency)] ?? 2;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a non-negative decimal string into minor units: ("49.99", "USD") -> 4999,
 * ("1000", "JPY") -> 1000, ("1.005", "KWD") -> 1005. More fractional digits than the
 * currency has are accepted only when the extra digits are zeros; anything else throws,
 * because rounding money silently is worse than refusing it.
 */
export function parseDecimalToMinor(value: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new MoneyFormatError(`"${value}" is not a decimal amount`);
  const whole = match[1]!;
  let fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    if (!/^0*$/.test(fraction.slice(exponent))) {
      throw new MoneyFormatError(`"${value}" has more decimal places than ${currency} allows (${exponent})`);
    }
    fraction = fraction.slice(0, exponent);
  }
  const digits = (whole + fraction.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > String(MAX_MINOR_AMOUNT).length || BigInt(digits) > BigInt(MAX_MINOR_AMOUNT)) {
    throw new MoneyFormatError(`"${value}" ${currency} is larger than the largest supported amount`);
  }
  return Number(digits);
}

/** Formats minor units as a decimal string with the currency's exponent: (4999, "USD") -> "49.99". */
export function formatMinorAsDecimal(amount: number, currency: string): string {
  if (!Number.isSafeInteger(amount)) throw new MoneyFormatError(`${amount} is not an integer amount in minor units`);
  const exponent = currencyExponent(currency);
  const negative = amount < 0;
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${whole}${exponent > 0 ? `.${fraction}` : ''}`;
}
