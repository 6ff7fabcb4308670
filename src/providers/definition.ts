import type { z } from 'zod';
import type { Variable } from '../config/variables.js';
import type { ProviderName } from '../domain/checkout.js';
import type { CheckoutProvider } from '../domain/ports.js';
import type { ProviderResilience } from './resilience.js';
import type { RunningSandbox } from './sandbox-http.js';

/** A provider's settings once the configuration is read. */
export interface ProviderConfig<
  Credentials extends Record<string, string> = Record<string, string>,
  Settings = Record<string, unknown>,
> {
  /** The provider's origin; unset: the built-in sandbox serves it. */
  baseUrl?: string;
  /** The provider reached at `baseUrl` is a test environment (the built-in sandbox always is). */
  testMode: boolean;
  /** From the environment, or the sandbox's own credentials when unset. */
  credentials: Credentials;
  /** The provider's other settings (a currency, say). */
  settings: Settings;
}

/**
 * The part of the app's configuration the registry builds providers from. Declared here so that
 * providers/ need not import config/ (which imports the registry to declare each provider's
 * variables); `AppConfig` satisfies it.
 */
export interface ProvidersConfig {
  providers: Record<ProviderName, ProviderConfig>;
  providerTimeoutMs: number;
  providerConnectTimeoutMs: number;
  providerGetRetries: number;
  providerBreakerThreshold: number;
  providerBreakerHalfOpenMs: number;
}

/** What a provider is built from. */
export interface ProviderConnection<Credentials extends Record<string, string>, Settings> {
  config: ProviderConfig<Credentials, Settings>;
  /** The origin to call: the configured one, or the running sandbox's. */
  baseUrl: string;
  /** Its checkouts are test mode from the start. */
  testMode: boolean;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Retry and circuit breaker shared by every call to this provider in this process. */
  resilience: ProviderResilience;
}

/**
 * Everything the rest of the app knows about one provider. Each `providers/<name>/index.ts`
 * exports one; the registry (`providers/index.ts`) lists them, and every other part iterates it.
 */
export interface ProviderDefinition<
  Credentials extends Record<string, string> = Record<string, string>,
  Settings = Record<string, unknown>,
> {
  name: ProviderName;
  /** Its name for people, in messages and logs. */
  label: string;
  /** The GraphQL type of its checkouts. */
  typename: string;
  /** The `CheckoutProvider` enum value's description. */
  description: string;
  /** Its live origin, for documentation. */
  liveOrigin: string;
  /** Prefix of its variables: `<PREFIX>_BASE_URL`, `<PREFIX>_TEST_MODE` and its credentials. */
  envPrefix: string;
  /** Its credential variables by credential name; required when the base URL is set. */
  credentials: { [K in keyof Credentials]: Variable };
  /** Credentials the built-in sandbox checks when the real ones are not configured. */
  sandboxCredentials: Credentials;
  /** Its other variables, by setting name. */
  settings: Record<string, Variable>;
  /** Header names that carry credentials (for log redaction). */
  credentialHeaders: readonly string[];
  /** False when its create call may act without answering (a purchase): a lost answer is UNKNOWN. */
  idempotentCreate: boolean;
  /** It documents a status endpoint: its checkouts are polled and report their own outcome. */
  pollable: boolean;
  /** The schema of its stored `details`, checked on every read. */
  details: z.ZodType<Record<string, unknown>>;
  createProvider(connection: ProviderConnection<Credentials, Settings>): CheckoutProvider;
  startSandbox(options: {
    credentials: Credentials;
    faults: boolean;
    host: string;
    port: number;
  }): Promise<RunningSandbox>;
  /** How to call its sandbox, for `npm run sandbox` (credentials already masked when they are not the sandbox's). */
  sandboxUsage(credentials: Credentials): string;
}

/** A definition with its types erased, as the registry holds it. */
// biome-ignore lint/suspicious/noExplicitAny: each definition reads only the config its own variables produced.
export type AnyProviderDefinition = ProviderDefinition<any, any>;
