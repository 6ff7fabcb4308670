import { builder } from '../builder.js';
import { formatMinorAsDecimal, type Money } from '../domain/money.js';

/** An amount of money; build one with `money(amount, currency)`. */
export const MoneyRef = builder.objectRef<Money>('Money').implement({
  description: 'An exact amount of money.',
  fields: (t) => ({
    amount: t.expose('amount', {
      type: 'SafeInt',
      description:
        "Amount in the currency's minor unit (cents for USD, yen for JPY, fils for KWD): an integer from 0 to 9007199254740991 (2^53 − 1), exact as a JSON number.",
    }),
    currency: t.exposeString('currency', {
      description: 'ISO 4217 currency code; its minor unit (ISO 4217 exponent) gives the meaning of `amount`.',
    }),
    decimal: t.string({
      description: 'The amount as a decimal string with the currency\'s number of decimals, e.g. "49.99".',
      resolve: (money) => formatMinorAsDecimal(money.amount, money.currency),
    }),
  }),
});

/** Money from a stored amount, or null when the amount or currency is unknown. */
export function money(amount: number | null | undefined, currency: string | null | undefined): Money | null {
  return amount === null || amount === undefined || !currency ? null : { amount, currency };
}
