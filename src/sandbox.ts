import { loadConfig, SANDBOX_CREDENTIALS } from './config.js';
import { PROVIDERS } from './domain/checkout.js';
import { startSandboxes } from './providers/sandboxes.js';

/**
 * `npm run sandbox`: the three provider sandboxes standalone, for trying the providers' own
 * contracts with curl. Ports: SANDBOX_PORT (default 4100) for Smartcheckout, +1 PayerVault, +2 Stan.
 */
const config = loadConfig(process.env);
const base = Number(process.env.SANDBOX_PORT ?? 4100);
const sandboxes = await startSandboxes(config, PROVIDERS, {
  host: process.env.SANDBOX_HOST ?? '127.0.0.1',
  ports: { SMARTCHECKOUT: base, PAYERVAULT: base + 1, STAN: base + 2 },
  faults: config.sandboxFaults,
});
// Only the built-in sandbox credentials are printed; credentials from the environment never are.
const shown = (value: string) => ((Object.values(SANDBOX_CREDENTIALS) as string[]).includes(value) ? value : '<from your environment>');
process.stdout.write(
  [
    `Smartcheckout  ${sandboxes.urls.SMARTCHECKOUT}  Authorization: Bearer ${shown(config.smartcheckout.apiKey)}`,
    `PayerVault     ${sandboxes.urls.PAYERVAULT}  accessKey: ${shown(config.payervault.accessKey)}  accessSecret: ${shown(config.payervault.accessSecret)}`,
    `Stan           ${sandboxes.urls.STAN}  Authorization: Basic base64(${shown(config.stan.clientId)}:${shown(config.stan.clientSecret)})`,
    'Ctrl-C to stop.',
    '',
  ].join('\n'),
);
const stop = () => void sandboxes.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
