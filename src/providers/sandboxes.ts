import type { ProviderName } from '../domain/checkout.js';
import type { ProviderConfig } from './definition.js';
import { definitionOf } from './index.js';
import type { RunningSandbox } from './sandbox-http.js';

/** The sandboxes started for one process, by provider. */
export interface RunningSandboxes {
  urls: Partial<Record<ProviderName, string>>;
  close(): Promise<void>;
}

/** Where to listen: loopback and a free port unless told otherwise. */
export interface SandboxListenOptions {
  host?: string;
  /** Port per provider; 0 (the default) picks a free one. */
  ports?: Partial<Record<ProviderName, number>>;
  /**
   * Serve each sandbox's fault-injection endpoint `/__faults` (loopback clients only; see
   * `withSandboxFaults`). Off by default: the API server turns it on with `SANDBOX_FAULTS=on`.
   */
  faults?: boolean;
}

/**
 * Starts the built-in sandbox of every provider in `providers`, checking the same credentials the
 * API's clients will send, so a misconfigured credential fails in development as it would live.
 */
export async function startSandboxes(
  config: { providers: Record<ProviderName, Pick<ProviderConfig, 'credentials'>> },
  providers: Iterable<ProviderName>,
  listen: SandboxListenOptions = {},
): Promise<RunningSandboxes> {
  const host = listen.host ?? '127.0.0.1';
  const faults = listen.faults ?? false;
  const running: Partial<Record<ProviderName, RunningSandbox>> = {};
  const close = async () => {
    await Promise.all(Object.values(running).map((sandbox) => sandbox.close()));
  };
  try {
    for (const provider of providers) {
      const { credentials } = config.providers[provider];
      running[provider] = await definitionOf(provider).startSandbox({
        credentials,
        faults,
        host,
        port: listen.ports?.[provider] ?? 0,
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  const urls = Object.fromEntries(Object.entries(running).map(([provider, sandbox]) => [provider, sandbox.url]));
  return { urls, close };
}
