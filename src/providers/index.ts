import type { ProviderName } from '../domain/checkout.js';
import type { CheckoutProvider, ProviderCatalog } from '../domain/ports.js';
import type { AnyProviderDefinition, ProvidersConfig } from './definition.js';
import { payervault } from './payervault/index.js';
import { ProviderResilience } from './resilience.js';
import { smartcheckout } from './smartcheckout/index.js';
import { stan } from './stan/index.js';

/**
 * Every provider the graph fronts. A provider is its folder and one line here: configuration,
 * GraphQL typenames, clients, sandboxes and log redaction all iterate this list.
 */
export const PROVIDER_REGISTRY: readonly AnyProviderDefinition[] = [smartcheckout, payervault, stan];

const BY_NAME = new Map(PROVIDER_REGISTRY.map((definition) => [definition.name, definition]));

/** The definition of one provider. */
export function definitionOf(name: ProviderName): AnyProviderDefinition {
  const definition = BY_NAME.get(name);
  if (!definition) throw new Error(`no provider ${name} in the registry`);
  return definition;
}

/** True when the provider documents a status endpoint: its checkouts are polled and report their own outcome. */
export function hasStatusEndpoint(name: ProviderName): boolean {
  return definitionOf(name).pollable;
}

/** Told the duration and outcome of every provider call. */
export type ProviderCallObserver = (
  provider: ProviderName,
  method: 'GET' | 'POST',
  outcome: 'ok' | 'error' | 'rejected',
  seconds: number,
  requestId: string | undefined,
) => void;

/**
 * One retry policy and breaker per provider for the whole process: the poller's failures open it
 * for the mutations too.
 */
export function createResilience(
  config: ProvidersConfig,
  observe?: ProviderCallObserver,
): Record<ProviderName, ProviderResilience> {
  const resilience = (definition: AnyProviderDefinition) =>
    new ProviderResilience(definition.name, {
      label: definition.label,
      breakerThreshold: config.providerBreakerThreshold,
      halfOpenAfterMs: config.providerBreakerHalfOpenMs,
      getRetries: config.providerGetRetries,
      observe:
        observe &&
        ((method, outcome, seconds, requestId) => observe(definition.name, method, outcome, seconds, requestId)),
    });
  return Object.fromEntries(PROVIDER_REGISTRY.map((definition) => [definition.name, resilience(definition)])) as Record<
    ProviderName,
    ProviderResilience
  >;
}

/**
 * Builds every provider. `sandboxUrls` holds the origin of each provider served by a built-in
 * sandbox; those checkouts are test mode, like those of a provider configured as a test environment.
 */
export function createProviderCatalog(
  config: ProvidersConfig,
  sandboxUrls: Partial<Record<ProviderName, string>>,
  resilience: Record<ProviderName, ProviderResilience> = createResilience(config),
): ProviderCatalog {
  const testMode = testModeProviders(config);
  const providers = new Map<ProviderName, CheckoutProvider>();
  for (const definition of PROVIDER_REGISTRY) {
    const providerConfig = config.providers[definition.name];
    const baseUrl = providerConfig.baseUrl ?? sandboxUrls[definition.name];
    if (!baseUrl) throw new Error(`No base URL and no sandbox for ${definition.name}`);
    const provider = definition.createProvider({
      config: providerConfig,
      baseUrl,
      testMode: testMode.has(definition.name),
      timeoutMs: config.providerTimeoutMs,
      connectTimeoutMs: config.providerConnectTimeoutMs,
      resilience: resilience[definition.name],
    });
    providers.set(definition.name, provider);
  }
  return providers;
}

/** Providers with no configured base URL: the server starts their sandboxes. */
export function sandboxedProviders(config: ProvidersConfig): Set<ProviderName> {
  return new Set(
    PROVIDER_REGISTRY.filter((definition) => !config.providers[definition.name].baseUrl).map(
      (definition) => definition.name,
    ),
  );
}

/** Providers whose checkouts are test mode: served by the built-in sandbox, or `<PROVIDER>_TEST_MODE=true`. */
export function testModeProviders(config: ProvidersConfig): Set<ProviderName> {
  const providers = sandboxedProviders(config);
  for (const definition of PROVIDER_REGISTRY)
    if (config.providers[definition.name].testMode) providers.add(definition.name);
  return providers;
}

/** Log paths that may hold a provider credential: its headers and its configured credentials. */
export function credentialLogPaths(): string[] {
  return PROVIDER_REGISTRY.flatMap((definition) => [
    ...definition.credentialHeaders.flatMap((header) => [`headers.${header}`, `headers.${header.toLowerCase()}`]),
    ...Object.keys(definition.sandboxCredentials).flatMap((credential) =>
      definition.credentials[credential]?.secret
        ? [credential, `config.providers.${definition.name}.credentials.${credential}`]
        : [],
    ),
  ]);
}
