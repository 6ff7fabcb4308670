import { describe, it, expect } from 'vitest';
import { MAX_MINOR_AMOUNT } from '../../src/domain/money.js';
import { computeStanTotals, type StanTotalsInput } from '../../src/providers/stan/totals.js';

const line = (quantity: number, unitPrice: number, discountAmount?: number | null) => ({
  quantity,
  unitPrice,
  discountAmount,
});

function errorsOf(input: StanTotalsInput) {
  const result = computeStanTotals(input);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result)}`);
  return result.fieldErrors;
}

describe('computeStanTotals', () => {
  it('sums quantity * unitPrice minus line discounts into the subtotal', () => {
    expect(computeStanTotals({ lineItems: [line(2, 1000, 150), line(3, 333)] })).toEqual({
      ok: true,
      subtotal: 2 * 1000 - 150 + 3 * 333,
      discount: 0,
      tax: 0,
      total: 2849,
      totalBeforeDiscount: 2849,
    });
  });

  it('treats a null line discount as none', () => {
    const result = computeStanTotals({ lineItems: [line(1, 500, null)] });
    expect(result).toMatchObject({ ok: true, subtotal: 500 });
  });

  it('allows a line discount equal to the line amount (free line)', () => {
    expect(computeStanTotals({ lineItems: [line(2, 100, 200), line(1, 50)] })).toMatchObject({
      ok: true,
      subtotal: 50,
    });
  });

  it('rejects a line discount larger than the line amount at that line discountAmount', () => {
    expect(errorsOf({ lineItems: [line(1, 100), line(2, 100, 201)] })).toEqual([
      { path: ['input', 'lineItems', '1', 'discountAmount'], message: expect.stringContaining('200') },
    ]);
  });

  it('accepts a subtotalAmount that matches and rejects one that differs, saying what it computed', () => {
    expect(computeStanTotals({ lineItems: [line(2, 1000)], subtotalAmount: 2000 })).toMatchObject({
      ok: true,
      subtotal: 2000,
    });
    const errors = errorsOf({ lineItems: [line(2, 1000)], subtotalAmount: 1999 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toEqual(['input', 'subtotalAmount']);
    expect(errors[0]!.message).toContain('2000');
  });

  it('subtracts the discount from the total but not from totalBeforeDiscount', () => {
    expect(computeStanTotals({ lineItems: [line(1, 5000)], discountAmount: 500, taxCost: 900 })).toEqual({
      ok: true,
      subtotal: 5000,
      discount: 500,
      tax: 900,
      total: 5400,
      totalBeforeDiscount: 5900,
    });
  });

  it('allows a discount equal to the subtotal and rejects a larger one at discountAmount', () => {
    expect(computeStanTotals({ lineItems: [line(1, 500)], discountAmount: 500 })).toMatchObject({ ok: true, total: 0 });
    expect(errorsOf({ lineItems: [line(1, 500)], discountAmount: 501 })).toEqual([
      { path: ['input', 'discountAmount'], message: expect.stringContaining('500') },
    ]);
  });

  it('computes tax from taxRate on subtotal - discount, rounding half up', () => {
    // (1000 - 0) * 20 / 100 = 200 exactly
    expect(computeStanTotals({ lineItems: [line(1, 1000)], taxRate: 20 })).toMatchObject({ tax: 200, total: 1200 });
    // 1234 * 5.5 %? rates are integers: 1234 * 5 / 100 = 61.7 -> 62
    expect(computeStanTotals({ lineItems: [line(1, 1234)], taxRate: 5 })).toMatchObject({ tax: 62 });
    // 10 * 5 / 100 = 0.5 -> 1 (half up)
    expect(computeStanTotals({ lineItems: [line(1, 10)], taxRate: 5 })).toMatchObject({ tax: 1 });
    // 9 * 5 / 100 = 0.45 -> 0
    expect(computeStanTotals({ lineItems: [line(1, 9)], taxRate: 5 })).toMatchObject({ tax: 0 });
    // base is after the discount: (1000 - 100) * 20 / 100 = 180
    expect(computeStanTotals({ lineItems: [line(1, 1000)], discountAmount: 100, taxRate: 20 })).toMatchObject({
      tax: 180,
      total: 1080,
      totalBeforeDiscount: 1180,
    });
  });

  it('uses taxCost over taxRate when both are given, and 0 tax when neither is', () => {
    expect(computeStanTotals({ lineItems: [line(1, 1000)], taxRate: 20, taxCost: 7 })).toMatchObject({
      tax: 7,
      total: 1007,
    });
    expect(computeStanTotals({ lineItems: [line(1, 1000)], taxRate: 0 })).toMatchObject({ tax: 0, total: 1000 });
    expect(computeStanTotals({ lineItems: [line(1, 1000)], taxRate: null, taxCost: null })).toMatchObject({ tax: 0 });
  });

  it('accepts a matching totalAmount and rejects a differing one, saying what it computed', () => {
    expect(computeStanTotals({ lineItems: [line(1, 1000)], taxRate: 20, totalAmount: 1200 })).toMatchObject({
      ok: true,
      total: 1200,
    });
    const errors = errorsOf({ lineItems: [line(1, 1000)], taxRate: 20, totalAmount: 1000 });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toEqual(['input', 'totalAmount']);
    expect(errors[0]!.message).toContain('1200');
  });

  it('stays exact where floating point would not: quantity * unitPrice above 2^53', () => {
    // 3 * 3002399751580331 = 9007199254740993 = 2^53 + 1, which a double rounds to 2^53;
    // the line discount brings the exact line total back to MAX_MINOR_AMOUNT.
    const discount = Number(3n * 3002399751580331n - BigInt(MAX_MINOR_AMOUNT));
    expect(Number.isSafeInteger(discount)).toBe(true);
    // The float computation would land one below.
    expect(3 * 3002399751580331 - discount).toBe(MAX_MINOR_AMOUNT - 1);
    const result = computeStanTotals({ lineItems: [line(3, 3002399751580331, discount)] });
    expect(result).toMatchObject({ ok: true, subtotal: MAX_MINOR_AMOUNT });
  });

  it('reports overflow at the field that overflowed', () => {
    expect(errorsOf({ lineItems: [line(2, MAX_MINOR_AMOUNT)] })).toEqual([
      { path: ['input', 'lineItems', '0'], message: expect.stringContaining('largest supported amount') },
    ]);
    expect(errorsOf({ lineItems: [line(1, MAX_MINOR_AMOUNT), line(1, 1)] })).toEqual([
      { path: ['input', 'subtotalAmount'], message: expect.stringContaining('largest supported amount') },
    ]);
    expect(errorsOf({ lineItems: [line(1, MAX_MINOR_AMOUNT)], taxRate: 300 })).toEqual([
      { path: ['input', 'taxCost'], message: expect.stringContaining('largest supported amount') },
    ]);
    expect(errorsOf({ lineItems: [line(1, MAX_MINOR_AMOUNT)], taxCost: 1 })).toEqual([
      { path: ['input', 'totalAmount'], message: expect.stringContaining('largest supported amount') },
    ]);
    // The total fits once the discount is taken off, but the total before discount does not.
    expect(errorsOf({ lineItems: [line(1, MAX_MINOR_AMOUNT)], discountAmount: 10, taxCost: 5 })).toEqual([
      { path: ['input', 'totalAmount'], message: expect.stringContaining('before discount') },
    ]);
    expect(computeStanTotals({ lineItems: [line(1, MAX_MINOR_AMOUNT - 5)], taxCost: 5 })).toMatchObject({
      ok: true,
      total: MAX_MINOR_AMOUNT,
    });
  });

  it('rejects amounts that are not non-negative integers, at their own path', () => {
    const errors = errorsOf({
      lineItems: [line(0, 100), line(1, 1.5), line(1, 100, -1)],
      discountAmount: -5,
      taxRate: 2.5,
      taxCost: Number.NaN,
      subtotalAmount: -1,
      totalAmount: 1e300,
    });
    expect(errors.map((error) => error.path.join('.'))).toEqual([
      'input.lineItems.0.quantity',
      'input.lineItems.1.unitPrice',
      'input.lineItems.2.discountAmount',
      'input.subtotalAmount',
      'input.discountAmount',
      'input.taxRate',
      'input.taxCost',
      'input.totalAmount',
    ]);
  });

  it('collects every error, not only the first', () => {
    const errors = errorsOf({ lineItems: [line(1, 100, 101), line(1, 100, 300)], subtotalAmount: -1 });
    expect(errors.map((error) => error.path.join('.'))).toEqual([
      'input.lineItems.0.discountAmount',
      'input.lineItems.1.discountAmount',
      'input.subtotalAmount',
    ]);
    const both = errorsOf({ lineItems: [line(1, 1000)], subtotalAmount: 999, discountAmount: 1001 });
    expect(both.map((error) => error.path.join('.'))).toEqual(['input.subtotalAmount', 'input.discountAmount']);
  });

  it('gives an empty cart a zero subtotal (the non-empty rule belongs to the caller)', () => {
    expect(computeStanTotals({ lineItems: [] })).toMatchObject({ ok: true, subtotal: 0, total: 0 });
  });
});
