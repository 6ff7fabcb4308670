import { z } from 'zod';
import { idempotencyKeySchema, text } from '../../domain/inputs.js';

/** The zod schema of `createPayerVaultCheckout`'s input. */
export const createPayerVaultCheckoutSchema = z.object({
  input: z.object({
    idempotencyKey: idempotencyKeySchema,
    customerId: text(255),
  }),
});
export type CreatePayerVaultCheckoutArgs = z.infer<typeof createPayerVaultCheckoutSchema>;
