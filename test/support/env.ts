import { randomUUID } from 'node:crypto';

/** Credentials tests give providers reached by URL (recording servers, standalone sandboxes). */
export const TEST_PROVIDER_CREDENTIALS = {
  SMARTCHECKOUT_API_KEY: 'sk-test-provider-key',
  PAYERVAULT_ACCESS_KEY: 'pv-test-access-key',
  PAYERVAULT_ACCESS_SECRET: 'pv-test-access-secret',
  STAN_CLIENT_ID: 'stan-test-client',
  STAN_CLIENT_SECRET: 'stan-test-client-secret',
};

/** An environment that sends every provider's calls to `url` (one recording server for all three). */
export function providersAt(
  url: string,
  extra: Record<string, string> = {},
  credentials: Record<string, string> = TEST_PROVIDER_CREDENTIALS,
): Record<string, string> {
  return { SMARTCHECKOUT_BASE_URL: url, PAYERVAULT_BASE_URL: url, STAN_BASE_URL: url, ...credentials, ...extra };
}

/** A fresh tenant and its API key, for a server process's API_KEYS (`label` prefixes both). */
export function newTenant(label: string): { name: string; key: string } {
  return { name: `${label}-${randomUUID().slice(0, 8)}`, key: `key-${label}-${randomUUID()}` };
}
