import { describe, expect, it } from 'vitest';
import {
  MAX_MINOR_AMOUNT,
  MoneyFormatError,
  ISO_4217_PUBLISHED,
  currencyExponent,
  isCurrency,
  formatMinorAsDecimal,
  normalizeCurrency,
  parseDecimalToMinor,
} from '../../src/domain/money.js';

describe('parseDecimalToMinor', () => {
  it.each([
    ['49.99', 'USD', 4999],
    ['1000', 'JPY', 1000],
    ['1.005', 'KWD', 1005],
    ['0.5', 'USD', 50],
    ['49.990', 'USD', 4999],
    ['49', 'USD', 4900],
    ['0', 'USD', 0],
    ['0.00', 'EUR', 0],
    ['007.10', 'USD', 710],
    ['1000.000', 'JPY', 1000],
    ['1.2345', 'CLF', 12345],
    ['0.01', 'USD', 1],
    // Digit by digit: a float would give 1.15 * 100 = 114.99999999999999.
    ['1.15', 'USD', 115],
    ['0.29', 'USD', 29],
  ])('parses %s %s to %i minor units', (value, currency, expected) => {
    expect(parseDecimalToMinor(value, currency)).toBe(expected);
  });

  it('accepts lower-case currencies with the right exponent', () => {
    expect(parseDecimalToMinor('1.005', 'kwd')).toBe(1005);
    expect(parseDecimalToMinor('1000', 'jpy')).toBe(1000);
    expect(() => parseDecimalToMinor('1000.5', 'jpy')).toThrow(MoneyFormatError);
  });

  it.each([
    ['49.999', 'USD'],
    ['0.001', 'USD'],
    ['1.5', 'JPY'],
    ['1.0005', 'KWD'],
  ])('refuses to round %s %s', (value, currency) => {
    expect(() => parseDecimalToMinor(value, currency)).toThrow(MoneyFormatError);
    expect(() => parseDecimalToMinor(value, currency)).toThrow(/decimal places/);
  });

  it.each([
    '-1',
    '-0.50',
    '+1',
    'abc',
    '1e3',
    '1E3',
    ' ',
    '',
    '.5',
    '5.',
    '1,000.00',
    '1.000,00',
    '$5',
    '0x10',
    '1 000',
    'Infinity',
    'NaN',
    '١٢٣',
    '１２',
  ])('rejects %j', (value) => {
    expect(() => parseDecimalToMinor(value, 'USD')).toThrow(MoneyFormatError);
  });

  it('rejects amounts past MAX_MINOR_AMOUNT (2^53 - 1) and accepts the limit itself', () => {
    expect(MAX_MINOR_AMOUNT).toBe(9_007_199_254_740_991);
    expect(MAX_MINOR_AMOUNT).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseDecimalToMinor('90071992547409.91', 'USD')).toBe(MAX_MINOR_AMOUNT);
    expect(parseDecimalToMinor('9007199254740991', 'JPY')).toBe(MAX_MINOR_AMOUNT);
    expect(parseDecimalToMinor('9007199254740.991', 'KWD')).toBe(MAX_MINOR_AMOUNT);
    // One past the limit: as a double 9007199254740992 would be "exact", so BigInt decides.
    expect(() => parseDecimalToMinor('90071992547409.92', 'USD')).toThrow(/larger than/);
    expect(() => parseDecimalToMinor('9007199254740992', 'JPY')).toThrow(/larger than/);
    expect(() => parseDecimalToMinor('9007199254740993', 'JPY')).toThrow(/larger than/);
    expect(() => parseDecimalToMinor('99999999999999999999999999', 'USD')).toThrow(MoneyFormatError);
    // Leading zeros do not count towards the size.
    expect(parseDecimalToMinor('0000000000000090071992547409.91', 'USD')).toBe(MAX_MINOR_AMOUNT);
  });

  it('carries amounts past the old 32-bit ceiling exactly', () => {
    expect(parseDecimalToMinor('25000000.00', 'IDR')).toBe(2_500_000_000);
    expect(parseDecimalToMinor('21474836.48', 'USD')).toBe(2_147_483_648);
    expect(parseDecimalToMinor('123456789012', 'VND')).toBe(123_456_789_012);
  });

  it('rejects an invalid currency', () => {
    for (const currency of ['US', 'USDX', '', '12A', 'U$D']) {
      expect(() => parseDecimalToMinor('1.00', currency)).toThrow(MoneyFormatError);
    }
  });
});

describe('normalizeCurrency and currencyExponent', () => {
  it('upper-cases and trims ISO 4217 codes', () => {
    expect(normalizeCurrency('usd')).toBe('USD');
    expect(normalizeCurrency(' eur ')).toBe('EUR');
    expect(normalizeCurrency('Jpy')).toBe('JPY');
  });

  it('rejects anything that is not three letters', () => {
    for (const code of ['', 'US', 'USDD', 'U5D', 'ÜSD', '$$$']) {
      expect(() => normalizeCurrency(code)).toThrow(MoneyFormatError);
    }
  });

  it('refuses three letters that are not an ISO 4217 currency, and ISO codes without a minor unit', () => {
    for (const code of ['ABC', 'ZZZ', 'EUX', 'BTC', 'HRK', 'SLL']) {
      expect(() => normalizeCurrency(code), code).toThrow(/is not an ISO 4217 currency$/);
      expect(isCurrency(code)).toBe(false);
    }
    // Metals, bond-market units, the SDR, the testing code and "no currency": N.A. in ISO 4217.
    for (const code of ['XAU', 'XAG', 'XPT', 'XPD', 'XBA', 'XDR', 'XSU', 'XUA', 'XTS', 'XXX']) {
      expect(() => normalizeCurrency(code), code).toThrow(/no minor unit/);
      expect(isCurrency(code)).toBe(false);
    }
    for (const code of ['XAF', 'XOF', 'XPF', 'usd', 'IDR', 'VES', 'ZWG', 'SLE'])
      expect(isCurrency(code), code).toBe(true);
  });

  it('knows the minor unit exponents from the ISO 4217 table', () => {
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('eur')).toBe(2);
    expect(currencyExponent('IDR')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('VND')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('CLF')).toBe(4);
    expect(currencyExponent('UYW')).toBe(4);
    expect(currencyExponent('XOF')).toBe(0);
    expect(ISO_4217_PUBLISHED).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('formatMinorAsDecimal', () => {
  it.each([
    [4999, 'USD', '49.99'],
    [5, 'USD', '0.05'],
    [0, 'USD', '0.00'],
    [1000, 'JPY', '1000'],
    [0, 'JPY', '0'],
    [1005, 'KWD', '1.005'],
    [7, 'KWD', '0.007'],
    [-5, 'USD', '-0.05'],
    [MAX_MINOR_AMOUNT, 'USD', '90071992547409.91'],
    [2_500_000_000, 'IDR', '25000000.00'],
  ])('formats %i %s as %s', (amount, currency, expected) => {
    expect(formatMinorAsDecimal(amount, currency)).toBe(expected);
  });

  it('round-trips with parseDecimalToMinor', () => {
    const samples: Array<[number, string]> = [
      [0, 'USD'],
      [1, 'USD'],
      [4999, 'USD'],
      [100, 'EUR'],
      [1000, 'JPY'],
      [1, 'KWD'],
      [1005, 'KWD'],
      [12345, 'CLF'],
      [MAX_MINOR_AMOUNT, 'USD'],
      [MAX_MINOR_AMOUNT, 'JPY'],
    ];
    for (const [amount, currency] of samples) {
      expect(parseDecimalToMinor(formatMinorAsDecimal(amount, currency), currency)).toBe(amount);
    }
    for (const [value, currency] of [
      ['49.99', 'USD'],
      ['1000', 'JPY'],
      ['1.005', 'KWD'],
      ['0.00', 'USD'],
    ] as const) {
      expect(formatMinorAsDecimal(parseDecimalToMinor(value, currency), currency)).toBe(value);
    }
  });
});
