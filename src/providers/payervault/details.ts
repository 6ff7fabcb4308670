import { z } from 'zod';

/** What a PayerVault checkout stores besides the common fields; checked when read. */
export const payerVaultDetailsSchema = z.object({
  /** The customer whose cart is checked out. */
  customerId: z.string(),
});
export type PayerVaultDetails = z.infer<typeof payerVaultDetailsSchema>;
