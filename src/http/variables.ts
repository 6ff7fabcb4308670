import type { AppConfig } from '../config/index.js';

/** The bounds of variables and extensions (from the configuration). */
export type VariableLimits = AppConfig['variableLimits'];

/** A refusal of an operation's variables or extensions, answered as a 400 GraphQL error. */
export interface VariablesRefusal {
  code: 'VARIABLES_TOO_DEEP' | 'LIST_TOO_LONG' | 'VARIABLES_TOO_LARGE';
  message: string;
}

/** What a scan found, besides a refusal: top-level string members (a graphql-ws message's `id`, `type`). */
export interface JsonScan {
  refusal: VariablesRefusal | null;
  /** String members of the top-level object, raw (still JSON-escaped), when `topLevelStrings` asked for them. */
  strings: Record<string, string>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * One linear pass over JSON text (bytes or a string) that measures what a parse would build,
 * without building it: nesting depth, items per list, values in all. It stops at the first bound
 * passed, so a 450,000-deep body costs a scan of its first few dozen bytes rather than a
 * `JSON.parse`, a coercion and a garbage collection.
 *
 * `envelope` is how many levels wrap the variables: 0 for a GET's `variables` parameter, 1 for a
 * POST body (`{"variables": …}`), 2 for a graphql-ws message (`{"payload": {"variables": …}}`).
 * Levels inside the envelope are measured like the variables: so the depth is the variables' own
 * (the variables object is level 1) and `extensions` get the same bounds, each its own budget of
 * values. Lists and values are counted inside the envelope only (a batch array around POST bodies
 * is Yoga's to refuse).
 *
 * Invalid JSON is not judged here: the scan only refuses what is too big, and the parser that
 * follows refuses what is malformed. Hand-written: the JSON libraries measure while they build.
 */
export function scanJson(
  text: Uint8Array | string,
  limits: VariableLimits,
  envelope: number,
  options: { topLevelStrings?: readonly string[] } = {},
): JsonScan {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const maxDepth = limits.maxDepth + envelope;
  // Items so far in each open container, and whether it is a list; only `maxDepth` levels can be open.
  const items = new Int32Array(maxDepth + 2);
  const isList = new Uint8Array(maxDepth + 2);
  const strings: Record<string, string> = {};
  const wanted = options.topLevelStrings;
  let depth = 0;
  let values = 0;
  // Whether the innermost container has seen no item yet (its first item counts as one).
  let fresh = false;
  // Top-level object only: the key of the member being read, and whether a key is expected next.
  let topKey: string | undefined;
  let expectKey = false;
  const refuse = (refusal: VariablesRefusal): JsonScan => ({ refusal, strings });

  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    if (fresh && byte !== CLOSE_BRACE && byte !== CLOSE_BRACKET) {
      fresh = false;
      items[depth] = 1;
      if (depth > envelope && ++values > limits.maxValues) return refuse(tooLarge(limits));
    }
    if (byte === QUOTE) {
      const end = stringEnd(bytes, i + 1);
      if (wanted && depth === 1) {
        const raw = () => Buffer.from(bytes.subarray(i + 1, end)).toString('utf8');
        if (expectKey) topKey = raw();
        else if (topKey !== undefined && wanted.includes(topKey)) strings[topKey] = raw();
      }
      i = end;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) return refuse(tooDeep(limits));
      items[depth] = 0;
      isList[depth] = byte === OPEN_BRACKET ? 1 : 0;
      fresh = true;
      if (depth === 1) expectKey = byte === OPEN_BRACE;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      fresh = false;
      if (depth > 0) depth--;
    } else if (byte === COMMA) {
      if (depth === 0) continue;
      // The next member of the envelope (`extensions` after `variables`) has a budget of its own.
      if (depth === envelope) values = 0;
      const count = ++items[depth]!;
      if (depth === 1) expectKey = isList[1] === 0;
      if (depth > envelope) {
        if (isList[depth] === 1 && count > limits.maxListLength) return refuse(tooLong(limits));
        if (++values > limits.maxValues) return refuse(tooLarge(limits));
      }
    } else if (byte === COLON) {
      if (depth === 1) expectKey = false;
    }
  }
  return { refusal: null, strings };
}

/** Index of the quote closing the string whose content starts at `from` (or the end of the text). */
function stringEnd(bytes: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, i);
    if (quote < 0) return bytes.length;
    // Escaped when preceded by an odd number of backslashes.
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    i = quote + 1;
  }
}

function tooDeep(limits: VariableLimits): VariablesRefusal {
  return {
    code: 'VARIABLES_TOO_DEEP',
    message: `Variables and extensions may nest at most ${limits.maxDepth} levels of lists and objects`,
  };
}

function tooLong(limits: VariableLimits): VariablesRefusal {
  return {
    code: 'LIST_TOO_LONG',
    message: `A list in the variables or extensions has more than ${limits.maxListLength} items`,
  };
}

function tooLarge(limits: VariableLimits): VariablesRefusal {
  return {
    code: 'VARIABLES_TOO_LARGE',
    message: `Variables and extensions may hold at most ${limits.maxValues} values (list items and object members)`,
  };
}

/**
 * The refusal of a GET's (or a form POST's) `variables` and `extensions` parameters, each JSON
 * text measured on its own before anything parses it.
 */
export function scanParameters(params: URLSearchParams, limits: VariableLimits): VariablesRefusal | null {
  for (const name of ['variables', 'extensions']) {
    const text = params.get(name);
    const refusal = text === null ? null : scanJson(text, limits, 0).refusal;
    if (refusal) return refusal;
  }
  return null;
}
