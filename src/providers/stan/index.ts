import { currencyCode, headerSafe, optionalString, variable } from '../../config/variables.js';
import type { ProviderDefinition } from '../definition.js';
import { StanAdapter } from './adapter.js';
import { StanClient } from './client.js';
import { STAN_LABEL } from './contract.js';
import { stanDetailsSchema } from './details.js';
import { startStanSandbox } from './sandbox.js';

/** Stan in the provider registry: a checkout session from line items, totals, tax and discount. */
export const stan: ProviderDefinition<{ clientId: string; clientSecret: string }, { currency: string }> = {
  name: 'STAN',
  label: STAN_LABEL,
  typename: 'StanCheckout',
  description: 'Stan: checkout session from line items and totals.',
  liveOrigin: 'https://api.stan-app.fr',
  envPrefix: 'STAN',
  credentials: {
    // A colon would shift the split point of the Basic credentials on Stan's side (RFC 7617).
    clientId: variable(
      'STAN_CLIENT_ID',
      optionalString.refine(
        (value) => headerSafe(value) && !value?.includes(':'),
        'must contain only visible ASCII characters and no ":"',
      ),
      'Stan client id (Basic auth user). Required with STAN_BASE_URL.',
      { secret: true },
    ),
    clientSecret: variable(
      'STAN_CLIENT_SECRET',
      optionalString,
      'Stan client secret (Basic auth password). Required with STAN_BASE_URL.',
      {
        secret: true,
      },
    ),
  },
  sandboxCredentials: { clientId: 'sandbox-client-id', clientSecret: 'sandbox-client-secret' },
  settings: {
    currency: variable('STAN_CURRENCY', currencyCode('EUR'), 'Currency of Stan amounts (Stan amounts carry none).'),
  },
  credentialHeaders: ['authorization'],
  idempotentCreate: false,
  pollable: false,
  details: stanDetailsSchema,
  createProvider: ({ config, baseUrl, testMode, timeoutMs, connectTimeoutMs, resilience }) =>
    new StanAdapter(new StanClient({ baseUrl, timeoutMs, connectTimeoutMs, resilience, ...config.credentials }), {
      currency: config.settings.currency,
      testMode,
    }),
  startSandbox: ({ credentials, ...listen }) => startStanSandbox({ ...credentials, ...listen }),
  sandboxUsage: ({ clientId, clientSecret }) => `Authorization: Basic base64(${clientId}:${clientSecret})`,
};
