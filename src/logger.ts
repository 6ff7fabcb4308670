import pino, { type Logger } from 'pino';
import { credentialLogPaths } from './providers/index.js';

/** Paths pino blanks out wherever they appear in a log object; each provider's credentials come from the registry. */
const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'config.apiKeys',
  ...credentialLogPaths(),
];

/** Creates the JSON logger. `destination` lets tests capture every line. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: [...new Set(REDACTED_PATHS)], censor: '[redacted]' },
      base: { service: 'checkout-graph' },
    },
    destination,
  );
}

export type { Logger };
