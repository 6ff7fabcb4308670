/**
 * Exact money: amounts are integers in the currency's minor unit (ISO 4217 exponent), up to
 * `Number.MAX_SAFE_INTEGER`. Decimal strings are parsed digit by digit and checked with BigInt;
 * no floating point is used anywhere on this path.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import currencyCodes from 'currency-codes';

/**
 * The largest amount in minor units: 2^53 − 1, the largest integer a JSON number (and the
 * GraphQL `SafeInt` of `Money.amount`) carries exactly. 90,071,992,547,409.91 in a 2-decimal currency.
 */
export const MAX_MINOR_AMOUNT = Number.MAX_SAFE_INTEGER;
const MAX_MINOR_BIGINT = BigInt(MAX_MINOR_AMOUNT);

export class MoneyFormatError extends Error {}

/** An amount in minor units of an ISO 4217 currency. */
export interface Money {
  amount: number;
  currency: string;
}

/**
 * ISO 4217 codes that the standard lists without a minor unit ("N.A."): precious metals, bond
 * market units, the SDR, the testing code XTS and XXX ("no currency"). An amount "in minor units"
 * means nothing for them, so they are refused like unknown codes. `currency-codes` flattens N.A.
 * to 0 digits in its data, so the set is read from the ISO list it ships (list one, as published).
 */
const WITHOUT_MINOR_UNIT: ReadonlySet<string> = (() => {
  const xml = readFileSync(createRequire(import.meta.url).resolve('currency-codes/iso-4217-list-one.xml'), 'utf8');
  const codes = new Set<string>();
  for (const [, entry] of xml.matchAll(/<CcyNtry>([\s\S]*?)<\/CcyNtry>/g)) {
    const code = /<Ccy>([A-Z]{3})<\/Ccy>/.exec(entry!)?.[1];
    if (code && /<CcyMnrUnts>N\.A\.<\/CcyMnrUnts>/.test(entry!)) codes.add(code);
  }
  return codes;
})();

/** Every ISO 4217 currency with a minor unit: code -> number of decimals (USD 2, JPY 0, KWD 3, CLF 4). */
const EXPONENTS: ReadonlyMap<string, number> = new Map(
  currencyCodes.data
    .filter((record) => !WITHOUT_MINOR_UNIT.has(record.code))
    .map((record) => [record.code, record.digits]),
);

/** Date of the ISO 4217 list behind the currency table (for operators wondering about a new code). */
export const ISO_4217_PUBLISHED = currencyCodes.publishDate;

const CURRENCY_CODE = /^[A-Z]{3}$/;

/**
 * Normalises and checks a currency code ("usd" -> "USD"). Throws MoneyFormatError for anything that
 * is not an ISO 4217 currency with a minor unit.
 */
export function normalizeCurrency(code: string): string {
  const upper = code.trim().toUpperCase();
  if (!CURRENCY_CODE.test(upper)) throw new MoneyFormatError(`"${code}" is not an ISO 4217 currency code`);
  if (!EXPONENTS.has(upper)) {
    throw new MoneyFormatError(
      WITHOUT_MINOR_UNIT.has(upper)
        ? `"${upper}" has no minor unit in ISO 4217 (a metal, fund or testing code), so it cannot carry an amount`
        : `"${upper}" is not an ISO 4217 currency`,
    );
  }
  return upper;
}

/** True when `code` (any case) is an ISO 4217 currency with a minor unit. */
export function isCurrency(code: string): boolean {
  return EXPONENTS.has(code.trim().toUpperCase());
}

/** Number of decimal places of the currency's minor unit (USD 2, JPY 0, KWD 3). */
export function currencyExponent(currency: string): number {
  return EXPONENTS.get(normalizeCurrency(currency))!;
}

/** True when `value` is an integer amount in minor units this API carries: 0 to MAX_MINOR_AMOUNT. */
export function isMinorAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * A BigInt result as an amount in minor units, or null when it is negative or beyond
 * MAX_MINOR_AMOUNT (the caller decides whether that is an input error or an unknown value).
 */
export function minorAmountOf(value: bigint): number | null {
  return value >= 0n && value <= MAX_MINOR_BIGINT ? Number(value) : null;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a non-negative decimal string into minor units: ("49.99", "USD") -> 4999,
 * ("1000", "JPY") -> 1000, ("1.005", "KWD") -> 1005, ("25000000.00", "IDR") -> 2500000000.
 * More fractional digits than the currency has are accepted only when the extra digits are zeros;
 * anything else throws, because rounding money silently is worse than refusing it.
 */
export function parseDecimalToMinor(value: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = DECIMAL.exec(value.trim());
  if (!match) throw new MoneyFormatError(`"${value}" is not a decimal amount`);
  const whole = match[1]!;
  let fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    if (!/^0*$/.test(fraction.slice(exponent))) {
      throw new MoneyFormatError(
        `"${value}" has more decimal places than ${currency.trim().toUpperCase()} allows (${exponent})`,
      );
    }
    fraction = fraction.slice(0, exponent);
  }
  const digits = (whole + fraction.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  const amount = digits.length > String(MAX_MINOR_AMOUNT).length ? null : minorAmountOf(BigInt(digits));
  if (amount === null) {
    throw new MoneyFormatError(
      `"${value}" ${currency.trim().toUpperCase()} is larger than the largest supported amount (${MAX_MINOR_AMOUNT} minor units)`,
    );
  }
  return amount;
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
