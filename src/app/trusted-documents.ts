import type { IncomingMessage } from 'node:http';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { type GraphQLSchema, parse, validate } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { documentHash, type DocumentChecker, type TrustedDocuments } from '../domain/trusted-documents.js';
import type { ApiKeyAuthenticator, Principal } from '../http/auth.js';

/**
 * Trusted documents on every transport. HTTP (POST, GET, and Yoga's SSE, which is an HTTP request
 * too) goes through `@graphql-yoga/plugin-persisted-operations`, whose `onParams` swaps a hash for
 * the published text before anything parses it; graphql-ws never runs `onParams`, so its
 * transport asks `DocumentGate.documentFor` the same question before parsing (src/realtime).
 * Either way the hash is looked up among the caller's tenant's live manifests only.
 */

/** `optional`: hashes and text alike; `required`: hashes only, except for callers with the any-document scope. */
export type TrustedDocumentsMode = 'optional' | 'required';

/** An operation's document as its client sent it: text, a hash in `extensions`, or both. */
export interface SentDocument {
  query?: string | null;
  extensions?: Record<string, unknown> | null;
}

/** How long a looked-up hash is remembered: a retirement takes effect on other instances within it. */
const CACHE_MS = 5_000;
const MAX_CACHED = 10_000;

/**
 * Decides which document an operation runs: the published text of the hash it sent (for the
 * caller's tenant), or its own text when the mode or the caller's scope allows that. Remembers
 * look-ups for a few seconds, so a client sending the same hash costs one query per instance
 * per `CACHE_MS`; `forget()` drops them on the instance that published or retired.
 */
export class DocumentGate {
  private readonly recent = new LRUCache<string, { body: string | null }>({ max: MAX_CACHED, ttl: CACHE_MS });

  constructor(
    readonly mode: TrustedDocumentsMode,
    private readonly documents: TrustedDocuments,
  ) {}

  /** The text to run, or the typed error refusing the operation (thrown). */
  async documentFor(sent: SentDocument, principal: Principal): Promise<string> {
    // Text runs wherever the caller may send text, with a hash beside it or not (an Apollo
    // persisted-query client retries with both after PERSISTED_QUERY_NOT_FOUND); elsewhere only
    // the published text of the hash does.
    if (sent.query && this.allowsText(principal)) return sent.query;
    const id = persistedDocumentId(sent.extensions);
    if (id === undefined) throw sent.query ? persistedOnly() : missingDocument();
    const body = await this.published(principal.tenant, id);
    if (body === null) throw notFound();
    return body;
  }

  /** True when `principal` may send a document as text. */
  allowsText(principal: Principal | undefined): boolean {
    return this.mode === 'optional' || principal?.anyDocument === true;
  }

  /** The text published for `tenant` under a document id, or null. */
  async published(tenant: string, id: string): Promise<string | null> {
    const hash = documentHash(id);
    if (hash === undefined) return null;
    const key = `${tenant}\n${hash}`;
    const remembered = this.recent.get(key);
    if (remembered) return remembered.body;
    const body = (await this.documents.documentOf(tenant, hash)) ?? null;
    this.recent.set(key, { body });
    return body;
  }

  /** Forgets remembered look-ups (after a publish or a retirement on this instance). */
  forget(): void {
    this.recent.clear();
  }
}

/**
 * The document id a client sent: `extensions.persistedQuery.sha256Hash` (Apollo's and the Yoga
 * plugin's format, what the storefront sends) or `extensions.documentId` (`sha256:<hex>`, the
 * GraphQL-over-HTTP persisted documents appendix and the client preset's manifest keys).
 */
export function persistedDocumentId(extensions: SentDocument['extensions']): string | undefined {
  const persisted = extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
  if (persisted && typeof persisted === 'object' && typeof persisted.sha256Hash === 'string')
    return persisted.sha256Hash;
  return typeof extensions?.documentId === 'string' ? extensions.documentId : undefined;
}

// The caller, found once per request, is a property of the request rather than a WeakMap entry:
// V8's scavenger keeps every young WeakMap key alive, which promoted each request served by hash
// (bench/README.md, "Garbage per request").
const PRINCIPAL = Symbol('checkout-graph.trustedDocumentsPrincipal');
type WithPrincipal = Request & { [PRINCIPAL]?: Principal };

/**
 * The Yoga plugin for HTTP and SSE: authenticates the caller once more (the look-up is cached by
 * the authenticator) because `onParams` runs before the context exists, then lets the maintained
 * persisted-operations plugin swap the hash for the text or refuse the request.
 */
export function useTrustedDocuments(gate: DocumentGate, authenticator: ApiKeyAuthenticator): Plugin[] {
  const principalOf = async (request: Request, context: unknown) => {
    const known = (request as WithPrincipal)[PRINCIPAL];
    if (known) return known;
    const req = (context as { req?: IncomingMessage }).req;
    const principal = await authenticator.authenticate(request.headers.get('authorization'), req?.socket.remoteAddress);
    (request as WithPrincipal)[PRINCIPAL] = principal;
    return principal;
  };
  return [
    {
      // Runs before the persisted-operations plugin's: it needs the caller for both of its questions.
      async onParams({ request, params, setParams, context }) {
        const both = Boolean(params.query) && persistedDocumentId(params.extensions) !== undefined;
        const textAllowed = gate.mode === 'optional' || gate.allowsText(await principalOf(request, context));
        // Text and a hash together (an Apollo persisted-query client's retry): the same rule as
        // graphql-ws's (DocumentGate.documentFor): the text where text is allowed, else the published text.
        if (both)
          setParams(
            textAllowed
              ? { ...params, extensions: withoutDocumentId(params.extensions) }
              : { ...params, query: undefined },
          );
      },
    },
    usePersistedOperations({
      // Asked only for a request with text: the same rule as graphql-ws's (DocumentGate.documentFor).
      allowArbitraryOperations: (request) => gate.allowsText((request as WithPrincipal)[PRINCIPAL]),
      extractPersistedOperationId: (params) => persistedDocumentId(params.extensions) ?? null,
      getPersistedOperation: async (id, request, context) =>
        gate.published((await principalOf(request, context)).tenant, id),
      customErrors: { notFound, persistedQueryOnly: persistedOnly, keyNotFound: missingDocument },
    }) as Plugin,
  ];
}

/** `extensions` without the document id it carried (`persistedQuery`, `documentId`). */
function withoutDocumentId(extensions: SentDocument['extensions']): Record<string, unknown> {
  const { persistedQuery: _persistedQuery, documentId: _documentId, ...rest } = extensions ?? {};
  return rest;
}

/** Checks a document against `schema` as the API would before running it (parse, then every validation rule). */
export function schemaDocumentChecker(schema: GraphQLSchema): DocumentChecker {
  return (body) => {
    try {
      return validate(schema, parse(body)).map((error) => error.message);
    } catch (error) {
      return [error instanceof Error ? error.message : String(error)];
    }
  };
}

function notFound() {
  return createGraphQLError('PersistedQueryNotFound: no published document of your tenant has this hash', {
    extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', http: { status: 400 } },
  });
}

function persistedOnly() {
  return createGraphQLError(
    'PersistedQueryOnly: this API runs only published documents, sent by hash (extensions.persistedQuery.sha256Hash)',
    { extensions: { code: 'PERSISTED_QUERY_ONLY', http: { status: 400 } } },
  );
}

function missingDocument() {
  return createGraphQLError('Must provide a query string or a published document hash', {
    extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
  });
}
