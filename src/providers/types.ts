import type { ProviderResilience } from './resilience.js';

/** Shared settings of every provider client. */
export interface ProviderClientOptions {
  /** Origin of the provider's API; documented paths are appended to it. */
  baseUrl: string;
  /** Total time budget of one HTTP request, connect to last byte, in milliseconds. */
  timeoutMs: number;
  /** Budget of the connection alone; defaults to `timeoutMs`. */
  connectTimeoutMs?: number;
  /** Retry (GETs only) and circuit breaker shared by every call to this provider; one of its own by default. */
  resilience?: ProviderResilience;
}
