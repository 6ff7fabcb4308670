import { z } from 'zod';
import { isCurrency } from '../domain/money.js';

/**
 * The toolkit every configuration concern is written with: each environment variable is declared
 * once, with its name, its zod schema and description, and the config field it becomes.
 */

/** One environment variable. */
export interface Variable<S extends z.ZodType = z.ZodType> {
  /** The variable's name, e.g. `POLL_INTERVAL_MS`. */
  env: string;
  /** Parses (and defaults) the raw value; its description documents the variable. */
  schema: S;
  /** Never echoed in errors, redacted in logs. */
  secret: boolean;
}

/** Declares a variable. */
export function variable<S extends z.ZodType>(
  env: string,
  schema: S,
  description: string,
  options: { secret?: boolean } = {},
): Variable<S> {
  return { env, schema: schema.describe(description) as S, secret: options.secret ?? false };
}

/** The variables of one concern, by the config field each becomes. */
export type Spec = Record<string, Variable>;

/** What a concern's variables become once parsed. */
export type SectionOutput<S extends Spec> = { [K in keyof S]: z.output<S[K]['schema']> };

/** One concern of the configuration: its variables, and how to read them from the parsed environment. */
export interface Section<S extends Spec> {
  readonly spec: S;
  /** The variables of this section by their environment names, as a zod shape. */
  readonly shape: Record<string, z.ZodType>;
  /** Picks this section's parsed values out of the parsed environment, under their config names. */
  read(env: Readonly<Record<string, unknown>>): SectionOutput<S>;
}

/** Groups the variables of one concern. */
export function section<S extends Spec>(spec: S): Section<S> {
  const entries = Object.entries(spec);
  return {
    spec,
    shape: Object.fromEntries(entries.map(([, variable]) => [variable.env, variable.schema])),
    read: (env) =>
      Object.fromEntries(entries.map(([field, variable]) => [field, env[variable.env]])) as SectionOutput<S>,
  };
}

/** A string that is treated as unset when empty or blank. */
export const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

/** An http(s) origin (no path), or unset. */
export const httpOrigin = optionalString.refine(
  (value) => value === undefined || /^https?:\/\/[^/?#\s]+\/?$/.test(value),
  'must be an http(s) origin such as https://api.example.com (no path)',
);

/** An integer from `min` to `max`, `fallback` when unset. */
export function integer(fallback: number, min: number, max: number) {
  return z
    .string()
    .trim()
    .default(String(fallback))
    .refine(
      (value) => /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max,
      `must be an integer from ${min} to ${max}`,
    )
    .transform(Number);
}

/** `true` or `false`, false when unset. */
export const flag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((value) => value === 'true');

/** `on` or `off`, `fallback` when unset. */
export function onOff(fallback: 'on' | 'off') {
  return z
    .enum(['on', 'off'])
    .default(fallback)
    .transform((value) => value === 'on');
}

/** An ISO 4217 currency code with a minor unit (upper-cased), `fallback` when unset. */
export function currencyCode(fallback: string) {
  return z
    .string()
    .trim()
    .default(fallback)
    .refine(isCurrency, 'must be an ISO 4217 currency code with a minor unit, such as EUR')
    .transform((value) => value.toUpperCase());
}

/** Visible ASCII only: anything else cannot travel in an HTTP header (fetch would quote it in an error). */
export function headerSafe(value: string | undefined): boolean {
  return value === undefined || /^[\x21-\x7e]+$/.test(value);
}

/** How log lines are written (see src/logger.ts). */
export type LogFormat = 'auto' | 'pretty' | 'json';

/**
 * LOG_FORMAT is declared here rather than with the other server variables so that the logger can
 * read it without loading the configuration, which reads the provider registry; the configuration
 * lists it in its server section like any other.
 */
export const LOG_FORMAT = variable(
  'LOG_FORMAT',
  z.enum(['auto', 'pretty', 'json']).default('auto'),
  '`pretty`: one coloured human-readable line per event (pino-pretty); `json`: one JSON object per line, for log collectors. `auto`: pretty when the output is a terminal, JSON otherwise.',
);
