import { headerSafe, optionalString, variable } from '../../config/variables.js';
import type { ProviderDefinition } from '../definition.js';
import { SmartcheckoutAdapter } from './adapter.js';
import { SmartcheckoutClient } from './client.js';
import { SMARTCHECKOUT_LABEL } from './contract.js';
import { smartcheckoutDetailsSchema } from './details.js';
import { startSmartcheckoutSandbox } from './sandbox.js';

/** Smartcheckout in the provider registry: an agentic purchase of any product URL, polled until it ends. */
export const smartcheckout: ProviderDefinition<{ apiKey: string }> = {
  name: 'SMARTCHECKOUT',
  label: SMARTCHECKOUT_LABEL,
  typename: 'SmartCheckout',
  description: 'Smartcheckout: agentic purchase of any product URL.',
  liveOrigin: 'https://api.smartcheckout.dev',
  envPrefix: 'SMARTCHECKOUT',
  credentials: {
    apiKey: variable(
      'SMARTCHECKOUT_API_KEY',
      optionalString.refine(headerSafe, 'must contain only visible ASCII characters'),
      'Smartcheckout API key (Bearer). Required with SMARTCHECKOUT_BASE_URL.',
      { secret: true },
    ),
  },
  sandboxCredentials: { apiKey: 'sandbox-smartcheckout-key' },
  settings: {},
  credentialHeaders: ['authorization'],
  idempotentCreate: false,
  pollable: true,
  details: smartcheckoutDetailsSchema,
  createProvider: ({ config, baseUrl, testMode, timeoutMs, connectTimeoutMs, resilience }) =>
    new SmartcheckoutAdapter(
      new SmartcheckoutClient({ baseUrl, timeoutMs, connectTimeoutMs, resilience, apiKey: config.credentials.apiKey }),
      {
        testMode,
      },
    ),
  startSandbox: ({ credentials, ...listen }) => startSmartcheckoutSandbox({ apiKey: credentials.apiKey, ...listen }),
  sandboxUsage: ({ apiKey }) => `Authorization: Bearer ${apiKey}`,
};
