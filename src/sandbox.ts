import { loadConfig } from './config/index.js';
import { PROVIDER_REGISTRY } from './providers/index.js';
import { startSandboxes } from './providers/sandboxes.js';

/**
 * `npm run sandbox`: every provider's sandbox standalone, for trying the providers' own contracts
 * with curl. Ports: SANDBOX_PORT (default 4100) for the first provider of the registry, +1 for the next...
 */
const config = loadConfig(process.env);
const base = Number(process.env.SANDBOX_PORT ?? 4100);
const sandboxes = await startSandboxes(
  config,
  PROVIDER_REGISTRY.map((definition) => definition.name),
  {
    host: process.env.SANDBOX_HOST ?? '127.0.0.1',
    ports: Object.fromEntries(PROVIDER_REGISTRY.map((definition, index) => [definition.name, base + index])),
    faults: config.sandboxFaults,
  },
);
const lines = PROVIDER_REGISTRY.map((definition) => {
  // Only the built-in sandbox credentials are printed; credentials from the environment never are.
  const given = config.providers[definition.name].credentials;
  const shown = Object.fromEntries(
    Object.entries(definition.sandboxCredentials).map(([name, fallback]) => [
      name,
      given[name] === fallback ? fallback : '<from your environment>',
    ]),
  );
  return `${definition.label.padEnd(14)} ${sandboxes.urls[definition.name]}  ${definition.sandboxUsage(shown)}`;
});
process.stdout.write([...lines, 'Ctrl-C to stop.', ''].join('\n'));
const stop = () => void sandboxes.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
