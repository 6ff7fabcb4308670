import type { AppConfig } from '../config.js';
import type { ProviderAdapters } from '../domain/checkout-service.js';
import type { ProviderName } from '../domain/checkout.js';
import { PayerVaultAdapter } from './payervault/adapter.js';
import { ProviderResilience } from './resilience.js';
import type { CheckoutProviderAdapter } from './types.js';
import { PayerVaultClient } from './payervault/client.js';
import { SmartcheckoutAdapter } from './smartcheckout/adapter.js';
import { SmartcheckoutClient } from './smartcheckout/client.js';
import { StanAdapter } from './stan/adapter.js';
import { StanClient } from './stan/client.js';

/** Told the duration and outcome of every provider call. */
export type ProviderCallObserver = (provider: ProviderName, method: 'GET' | 'POST', outcome: 'ok' | 'error' | 'rejected', seconds: number) => void;

/**
 * One retry policy and breaker per provider for the whole process: the poller's failures open it
 * for the mutations too.
 */
export function createResilience(config: AppConfig, observe?: ProviderCallObserver): Record<ProviderName, ProviderResilience> {
  const resilience = (provider: ProviderName) =>
    new ProviderResilience(provider, {
      breakerThreshold: config.providerBreakerThreshold,
      halfOpenAfterMs: config.providerBreakerHalfOpenMs,
      getRetries: config.providerGetRetries,
      observe: observe && ((method, outcome, seconds) => observe(provider, method, outcome, seconds)),
    });
  return { SMARTCHECKOUT: resilience('SMARTCHECKOUT'), PAYERVAULT: resilience('PAYERVAULT'), STAN: resilience('STAN') };
}

/**
 * Builds the three adapters. `sandboxUrls` holds the origin of each provider served by a built-in
 * sandbox; those checkouts are test mode, like those of a provider configured as a test environment.
 */
export function createProviderAdapters(
  config: AppConfig,
  sandboxUrls: Partial<Record<ProviderName, string>>,
  resilience: Record<ProviderName, ProviderResilience> = createResilience(config),
): ProviderAdapters {
  const timeoutMs = config.providerTimeoutMs;
  const connectTimeoutMs = config.providerConnectTimeoutMs;
  const baseUrl = (provider: ProviderName, configured: string | undefined) => {
    const url = configured ?? sandboxUrls[provider];
    if (!url) throw new Error(`No base URL and no sandbox for ${provider}`);
    return url;
  };
  return {
    SMARTCHECKOUT: new SmartcheckoutAdapter(
      new SmartcheckoutClient({
        baseUrl: baseUrl('SMARTCHECKOUT', config.smartcheckout.baseUrl),
        timeoutMs,
        connectTimeoutMs,
        resilience: resilience.SMARTCHECKOUT,
        apiKey: config.smartcheckout.apiKey,
      }),
      { testMode: testModeProviders(config).has('SMARTCHECKOUT') },
    ),
    PAYERVAULT: new PayerVaultAdapter(
      new PayerVaultClient({
        baseUrl: baseUrl('PAYERVAULT', config.payervault.baseUrl),
        timeoutMs,
        connectTimeoutMs,
        resilience: resilience.PAYERVAULT,
        accessKey: config.payervault.accessKey,
        accessSecret: config.payervault.accessSecret,
      }),
      { testMode: testModeProviders(config).has('PAYERVAULT') },
    ),
    STAN: new StanAdapter(
      new StanClient({
        baseUrl: baseUrl('STAN', config.stan.baseUrl),
        timeoutMs,
        connectTimeoutMs,
        resilience: resilience.STAN,
        clientId: config.stan.clientId,
        clientSecret: config.stan.clientSecret,
      }),
      { currency: config.stan.currency, testMode: testModeProviders(config).has('STAN') },
    ),
  };
}

/** Providers with no configured base URL: the server starts their sandboxes. */
export function sandboxedProviders(config: AppConfig): Set<ProviderName> {
  const sandboxed = new Set<ProviderName>();
  if (!config.smartcheckout.baseUrl) sandboxed.add('SMARTCHECKOUT');
  if (!config.payervault.baseUrl) sandboxed.add('PAYERVAULT');
  if (!config.stan.baseUrl) sandboxed.add('STAN');
  return sandboxed;
}

/** Providers whose checkouts are test mode: served by the built-in sandbox, or `<PROVIDER>_TEST_MODE=true`. */
export function testModeProviders(config: AppConfig): Set<ProviderName> {
  const providers = sandboxedProviders(config);
  if (config.smartcheckout.testMode) providers.add('SMARTCHECKOUT');
  if (config.payervault.testMode) providers.add('PAYERVAULT');
  if (config.stan.testMode) providers.add('STAN');
  return providers;
}

/** Providers with a documented status endpoint: their checkouts are polled and report their own outcome. */
export function hasStatusEndpoint(provider: ProviderName): boolean {
  const adapters = { SMARTCHECKOUT: SmartcheckoutAdapter, PAYERVAULT: PayerVaultAdapter, STAN: StanAdapter };
  return typeof (adapters[provider].prototype as Partial<CheckoutProviderAdapter>).fetchStatus === 'function';
}
