import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import { LOG_FORMAT, type LogFormat } from './config/variables.js';

/**
 * Paths pino blanks out wherever they appear in a log object. They are written by shape, not by
 * provider (the logger knows no provider): any logged headers, every provider credential in the
 * configuration, and the names the providers give their credentials (test/public-id.test.ts checks
 * that these cover every path the provider registry names).
 */
const REDACTED_PATHS = [
  'authorization',
  'headers.*',
  'req.headers.authorization',
  'config.apiKeys',
  'config.providers.*.credentials.*',
  'apiKey',
  'accessKey',
  'accessSecret',
  'clientId',
  'clientSecret',
];

/** How lines are written; `format` unset: LOG_FORMAT from the environment (`auto` when unset). */
export interface LoggerOptions {
  format?: LogFormat;
  /** More paths to redact, added to the ones above. */
  redact?: readonly string[];
}

/**
 * Creates the logger: one JSON object a line, or with `pretty` one coloured human-readable line
 * per event (pino-pretty, in this process, so a line is written before the next one is made).
 * `auto` is pretty when the lines go to a terminal and JSON otherwise (a file, a pipe, a log
 * collector). `destination` lets tests capture every line; it is written JSON unless `pretty` is
 * asked for.
 */
export function createLogger(level: string, destination?: pino.DestinationStream, options: LoggerOptions = {}): Logger {
  const format = options.format ?? formatFromEnvironment();
  const pretty = format === 'pretty' || (format === 'auto' && !destination && process.stdout.isTTY === true);
  return pino(
    {
      level,
      redact: { paths: [...new Set([...REDACTED_PATHS, ...(options.redact ?? [])])], censor: '[redacted]' },
      base: { service: 'checkout-graph' },
    },
    pretty ? prettyStream(destination) : destination,
  );
}

/** LOG_FORMAT as declared in the configuration; an invalid value is refused there, at start-up. */
function formatFromEnvironment(): LogFormat {
  const parsed = LOG_FORMAT.schema.safeParse(process.env.LOG_FORMAT);
  return parsed.success ? parsed.data : 'auto';
}

/** pino-pretty, loaded only when asked for: `08:52:01.123 INFO: checkout created at provider {…}`. */
function prettyStream(destination: pino.DestinationStream | undefined): pino.DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pretty({
    colorize: destination ? false : process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
    sync: true,
    ...(destination && { destination }),
  });
}

export type { Logger };
