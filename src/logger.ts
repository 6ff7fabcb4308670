import pino, { type Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log object. */
const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers.accesskey',
  'headers.accessSecret',
  'headers.accesssecret',
  'apiKey',
  'accessKey',
  'accessSecret',
  'clientSecret',
  'config.smartcheckout.apiKey',
  'config.payervault.accessKey',
  'config.payervault.accessSecret',
  'config.stan.clientSecret',
  'config.apiKeys',
];

/** Creates the JSON logger. `destination` lets tests capture every line. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { service: 'checkout-graph' } }, destination);
}

export type { Logger };
