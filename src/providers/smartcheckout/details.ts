import { z } from 'zod';

/** What a Smartcheckout checkout stores besides the common fields; checked when read. */
export const smartcheckoutDetailsSchema = z.object({
  /** The product being bought. */
  productUrl: z.string(),
  /** The exact `user_data` object sent to Smartcheckout. */
  userData: z.record(z.string(), z.unknown()),
});
export type SmartcheckoutDetails = z.infer<typeof smartcheckoutDetailsSchema>;
