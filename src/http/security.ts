import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NoSchemaIntrospectionCustomRule } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { AppConfig } from '../config/index.js';

/** The header Yoga's CSRF prevention requires on requests a browser could send cross-site without a preflight. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * The Yoga/envelop plugins that bound what one operation may cost. They run in Yoga's envelop,
 * which graphql-ws operations go through too, so HTTP and WebSocket get identical limits.
 */
export function limitPlugins(config: AppConfig): Plugin[] {
  const { limits } = config;
  const production = config.nodeEnv === 'production';
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, exposeLimits: true, flattenFragments: true },
      // `__typename` aliases count too: armor lets them pass by default, and 600 of them are as costly as any.
      maxAliases: { n: limits.maxAliases, exposeLimits: true, allowList: [] },
      maxTokens: { n: limits.maxTokens, exposeLimits: true },
      maxDirectives: { n: limits.maxDirectives, exposeLimits: true },
      costLimit: { maxCost: limits.maxCost, exposeLimits: true, objectCost: 2, scalarCost: 1, depthCostFactor: 1.5 },
      // "Did you mean …?" would map the schema for someone who may not introspect it.
      blockFieldSuggestion: { enabled: production || !config.introspection },
    }) as unknown as Plugin,
    queryLengthLimit(limits.maxQueryChars),
    // Not Yoga's useDisableIntrospection: it marks HTTP requests only (onRequestParse), so graphql-ws
    // operations would still introspect. A validation rule applies to every transport.
    ...(config.introspection
      ? []
      : [
          {
            onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule),
          } satisfies Plugin,
        ]),
    csrfPrevention(),
  ];
}

/**
 * Yoga's CSRF prevention, deciding as it does, with an answer that says what to send: its own
 * ("Required CSRF header(s) not present") leaves a `curl -d` user (form-encoded by default) guessing.
 */
function csrfPrevention(): Plugin {
  const yogaCsrf = useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }) as unknown as Required<
    Pick<Plugin, 'onRequestParse'>
  >;
  return {
    onRequestParse(payload) {
      try {
        return yogaCsrf.onRequestParse(payload);
      } catch {
        throw createGraphQLError(
          `Refused as a possible cross-site request (CSRF): send a JSON body with "Content-Type: application/json", or add the header "${CSRF_HEADER}: 1" (GET requests, forms)`,
          { extensions: { code: 'CSRF_HEADER_REQUIRED', http: { status: 403 } } },
        );
      }
    },
  };
}

/** Deepest bracket nesting a document may have; graphql-js parses nesting recursively. */
const MAX_DOCUMENT_NESTING = 100;

/**
 * Refuses documents longer than `maxChars`, or nested deeper than the parser can take, before
 * they are parsed: a deeply nested list literal can overflow graphql-js's recursive parser
 * before the token limit is reached.
 */
function queryLengthLimit(maxChars: number): Plugin {
  const check = (query: string) => {
    if (query.length > maxChars) {
      throw createGraphQLError(`The GraphQL document is longer than ${maxChars} characters`, {
        extensions: { code: 'QUERY_TOO_LONG', http: { status: 400 } },
      });
    }
    if (nestingDepth(query) > MAX_DOCUMENT_NESTING) {
      throw createGraphQLError(`The GraphQL document nests deeper than ${MAX_DOCUMENT_NESTING} levels`, {
        extensions: { code: 'QUERY_TOO_DEEP', http: { status: 400 } },
      });
    }
  };
  return {
    // onParse, not Yoga's onParams: graphql-ws runs envelop's parse but never onParams, and HTTP
    // goes through parse too, so one hook covers both transports once.
    onParse({ params }) {
      check(typeof params.source === 'string' ? params.source : params.source.body);
    },
  };
}

/** Deepest nesting of (), [] and {} outside string literals and comments. */
function nestingDepth(document: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < document.length; i++) {
    const char = document[i];
    if (char === '#') {
      while (i < document.length && document[i] !== '\n') i++;
    } else if (char === '"') {
      const block = document.startsWith('"""', i);
      const end = block ? document.indexOf('"""', i + 3) : findStringEnd(document, i + 1);
      if (end < 0) return deepest;
      i = block ? end + 2 : end;
    } else if (char === '(' || char === '[' || char === '{') {
      deepest = Math.max(deepest, ++depth);
    } else if (char === ')' || char === ']' || char === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}

function findStringEnd(document: string, from: number): number {
  for (let i = from; i < document.length; i++) {
    if (document[i] === '\\') i++;
    else if (document[i] === '"' || document[i] === '\n') return i;
  }
  return -1;
}

/**
 * A GET's `variables` or `extensions` that are not JSON: Yoga would throw on them (HTTP 500), so
 * they are answered 400 before it sees them. Returns the offending parameter's name.
 */
export function malformedGetParameter(req: IncomingMessage): string | null {
  if (req.method !== 'GET' || !req.url?.includes('?')) return null;
  const params = new URL(req.url, 'http://localhost').searchParams;
  for (const name of ['variables', 'extensions']) {
    const value = params.get(name);
    if (value === null) continue;
    try {
      JSON.parse(value);
    } catch {
      return name;
    }
  }
  return null;
}

/** Headers every answer carries; GraphiQL's page needs its inline scripts, other answers need nothing. */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
}
