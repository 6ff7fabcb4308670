import { headerSafe, optionalString, variable } from '../../config/variables.js';
import type { ProviderDefinition } from '../definition.js';
import { PayerVaultAdapter } from './adapter.js';
import { PayerVaultClient } from './client.js';
import { PAYERVAULT_ACCESS_KEY_HEADER, PAYERVAULT_ACCESS_SECRET_HEADER, PAYERVAULT_LABEL } from './contract.js';
import { payerVaultDetailsSchema } from './details.js';
import { startPayerVaultSandbox } from './sandbox.js';

const headerValue = optionalString.refine(headerSafe, 'must contain only visible ASCII characters');

/** PayerVault in the provider registry: a hosted checkout link for a cart kept at PayerVault. */
export const payervault: ProviderDefinition<{ accessKey: string; accessSecret: string }> = {
  name: 'PAYERVAULT',
  label: PAYERVAULT_LABEL,
  typename: 'PayerVaultCheckout',
  description: 'PayerVault: hosted checkout page for a cart kept at PayerVault.',
  liveOrigin: 'https://merchant.payervault.com',
  envPrefix: 'PAYERVAULT',
  credentials: {
    accessKey: variable(
      'PAYERVAULT_ACCESS_KEY',
      headerValue,
      'PayerVault `accessKey` header. Required with PAYERVAULT_BASE_URL.',
      { secret: true },
    ),
    accessSecret: variable(
      'PAYERVAULT_ACCESS_SECRET',
      headerValue,
      'PayerVault `accessSecret` header. Required with PAYERVAULT_BASE_URL.',
      {
        secret: true,
      },
    ),
  },
  sandboxCredentials: { accessKey: 'sandbox-access-key', accessSecret: 'sandbox-access-secret' },
  settings: {},
  credentialHeaders: [PAYERVAULT_ACCESS_KEY_HEADER, PAYERVAULT_ACCESS_SECRET_HEADER],
  idempotentCreate: true,
  pollable: false,
  details: payerVaultDetailsSchema,
  createProvider: ({ config, baseUrl, testMode, timeoutMs, connectTimeoutMs, resilience }) =>
    new PayerVaultAdapter(
      new PayerVaultClient({ baseUrl, timeoutMs, connectTimeoutMs, resilience, ...config.credentials }),
      { testMode },
    ),
  startSandbox: ({ credentials, ...listen }) => startPayerVaultSandbox({ ...credentials, ...listen }),
  sandboxUsage: ({ accessKey, accessSecret }) => `accessKey: ${accessKey}  accessSecret: ${accessSecret}`,
};
