import { z } from 'zod';

const amount = z.number().int().nonnegative().nullish();
const text = z.string().nullish();

/** What a Stan checkout stores besides the common fields (amounts in minor units); checked when read. */
export const stanDetailsSchema = z.object({
  returnUrl: text,
  subtotal: amount,
  discount: amount,
  taxRate: z.number().int().nullish(),
  tax: amount,
  discountCode: text,
  totalBeforeDiscount: amount,
  sessionId: text,
  orderId: text,
});
export type StanDetails = z.infer<typeof stanDetailsSchema>;
