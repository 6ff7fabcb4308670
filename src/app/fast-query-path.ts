import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  execute,
  type GraphQLSchema,
  getOperationAST,
  Kind,
  type OperationDefinitionNode,
  visit,
} from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import { Counter, type Histogram, type Registry } from 'prom-client';
import type { Context } from '../context.js';

/** How many distinct query documents are kept parsed, validated and compiled. */
const MAX_KNOWN_QUERIES = 1_000;

/**
 * Query documents that Yoga parsed and validated without error (every limit plugin included), by
 * their source text, compiled with graphql-jit on first use. Validation depends on the document and
 * the schema only, so a source that passed once passes again and need not be parsed or checked.
 */
export class ValidatedQueries {
  private readonly documents = new LRUCache<string, DocumentNode>({ max: MAX_KNOWN_QUERIES });
  private readonly runnable = new LRUCache<string, { query?: KnownQuery }>({ max: MAX_KNOWN_QUERIES });

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly engine: 'jit' | 'graphql-js' = 'jit',
  ) {}

  /** The envelop plugin that records every source whose validation found no error. */
  plugin(): Plugin {
    const sources = new WeakMap<object, string>();
    return {
      onParse: ({ context, params }) => {
        sources.set(context, typeof params.source === 'string' ? params.source : params.source.body);
      },
      onValidate: ({ context, params }) => {
        const source = sources.get(context);
        if (source === undefined) return;
        return ({ result }) => {
          if (result.length === 0 && !this.documents.has(source)) this.documents.set(source, params.documentAST);
        };
      },
    };
  }

  /** The runnable query operation of a validated source, or undefined (unknown source, or not a query). */
  queryFor(source: string, operationName: string | undefined): KnownQuery | undefined {
    const key = `${operationName ?? ''}\u0000${source}`;
    const known = this.runnable.get(key);
    if (known) return known.query;
    const document = this.documents.get(source);
    if (!document) return undefined;
    const operation = getOperationAST(document, operationName);
    const query = operation?.operation === 'query' ? this.prepare(document, operation) : undefined;
    this.runnable.set(key, { query });
    return query;
  }

  private prepare(document: DocumentNode, operation: OperationDefinitionNode): KnownQuery {
    const operationName = operation.name?.value;
    const { schema } = this;
    if (this.engine === 'jit' && jitKeepsFieldOrder(document)) {
      const compiled = compileQuery(schema, document, operationName);
      if (isCompiledQuery(compiled))
        return { operationName, run: (contextValue, variables) => compiled.query(undefined, contextValue, variables) };
    }
    return {
      operationName,
      run: (contextValue, variableValues) => execute({ schema, document, operationName, contextValue, variableValues }),
    };
  }
}

/**
 * True when graphql-jit answers the document with its fields in the order graphql-js does (the
 * order of the selections, which the spec asks for and which the answers cached by clients and
 * compared by tests follow). graphql-jit puts a selection set's own fields before those of its
 * fragments, so it keeps the order only where fields come first and one fragment at most closes
 * the set; `@skip`/`@include` are left to graphql-js as well.
 */
export function jitKeepsFieldOrder(document: DocumentNode): boolean {
  let keeps = true;
  visit(document, {
    Directive() {
      keeps = false;
      return BREAK;
    },
    SelectionSet(node) {
      const firstFragment = node.selections.findIndex((selection) => selection.kind !== Kind.FIELD);
      if (firstFragment !== -1 && firstFragment < node.selections.length - 1) {
        keeps = false;
        return BREAK;
      }
      return undefined;
    },
  });
  return keeps;
}

/** A validated query operation, ready to run. */
export interface KnownQuery {
  /** The operation's name in the document (metrics label it so). */
  operationName: string | undefined;
  run(context: Context, variables: Record<string, unknown>): ExecutionResult | Promise<ExecutionResult>;
}

/** A request's caller, authenticated and counted by the rate limiter (once per HTTP request). */
export interface Admission<Principal, Decision> {
  principal: Principal;
  decision: Decision;
}

/** What the fast path needs from the app. */
export interface FastQueryPathOptions<Principal, Decision> {
  queries: ValidatedQueries;
  /** Authenticates and rate-limits the request; rejects with the GraphQL error Yoga would answer with. */
  admit(req: IncomingMessage): Promise<Admission<Principal, Decision>>;
  /** The operation context for an admitted caller. */
  context(principal: Principal, requestId: string): Context;
  /** The rate-limit headers of a decision. */
  rateLimitHeaders(decision: Decision): Record<string, string>;
  /** The registry Yoga's Prometheus plugin registered its metrics on (they are observed here too). */
  registry: Registry;
  /** The label of an operation name on those metrics (bounded: src/app/operation-metrics.ts). */
  operationName(name: string): string;
}

/** The request parameters the fast path serves: a query by source, with optional variables and operation name. */
interface QueryParams {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * The lean path for the requests most clients send: a JSON POST of a known query, without an
 * `Origin` (no CORS), asking for plain JSON. It skips what Yoga does per request around execution
 * (a Fetch Request and Response per call, body streams, parse and validation lookups, a plugin chain)
 * and runs the query compiled by graphql-jit. Anything else, and any result with an error, is handed
 * back to Yoga, which answers it as it always has: the fast path only ever serves results Yoga would
 * have served byte for byte.
 */
export class FastQueryPath<Principal, Decision> {
  private readonly requestDuration?: Histogram;
  private readonly httpDuration?: Histogram;
  private readonly outcomes: Counter<'outcome'>;

  constructor(private readonly options: FastQueryPathOptions<Principal, Decision>) {
    this.outcomes = new Counter({
      name: 'checkout_fast_query_path_total',
      help: 'JSON POSTs the fast path looked at: served, unknown (not a validated query; Yoga answered), or handed back (a result with errors, or a refused caller; Yoga answered).',
      labelNames: ['outcome'],
      registers: [options.registry],
    });
    this.requestDuration = options.registry.getSingleMetric('graphql_envelop_request_duration') as
      | Histogram
      | undefined;
    this.httpDuration = options.registry.getSingleMetric('graphql_yoga_http_duration') as Histogram | undefined;
  }

  /** True for a request the fast path may serve, judged from its head alone. */
  accepts(req: IncomingMessage): boolean {
    const { headers } = req;
    return (
      req.method === 'POST' &&
      req.url === '/graphql' &&
      headers.origin === undefined &&
      isJson(headers['content-type']) &&
      (headers.accept === undefined || headers.accept === '*/*' || headers.accept === 'application/json')
    );
  }

  /** Serves the request and resolves true, or resolves false having sent nothing (Yoga answers it). */
  async serve(req: IncomingMessage, res: ServerResponse, body: Buffer, requestId: string): Promise<boolean> {
    const started = performance.now();
    const params = queryParams(body);
    const query = params && this.options.queries.queryFor(params.query, params.operationName ?? undefined);
    if (!params || !query) return this.handBack('unknown');
    let admission: Admission<Principal, Decision>;
    try {
      admission = await this.options.admit(req);
    } catch {
      return this.handBack('handed_back');
    }
    const context = this.options.context(admission.principal, requestId);
    const result = await query.run(context, params.variables ?? {});
    if (result.errors?.length || res.destroyed) return this.handBack('handed_back');
    const json = JSON.stringify(result);
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      ...this.options.rateLimitHeaders(admission.decision),
    });
    res.end(json);
    this.observe(query.operationName, started);
    this.outcomes.inc({ outcome: 'served' });
    return true;
  }

  private handBack(outcome: 'unknown' | 'handed_back'): false {
    this.outcomes.inc({ outcome });
    return false;
  }

  /** The same observations Yoga's Prometheus plugin makes for an operation it serves. */
  private observe(name: string | undefined, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    const operationName = this.options.operationName(name ?? 'Anonymous');
    this.requestDuration?.observe({ operationName, operationType: 'query' }, seconds);
    this.httpDuration?.observe({ operationName, operationType: 'query', method: 'POST', statusCode: 200 }, seconds);
  }
}

function isJson(contentType: string | undefined): boolean {
  return contentType === 'application/json' || contentType?.startsWith('application/json;') === true;
}

/** The body's parameters when they are exactly a query with optional variables and operation name. */
function queryParams(body: Buffer): QueryParams | undefined {
  let params: unknown;
  try {
    params = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const { query, variables, operationName, ...rest } = params as Record<string, unknown>;
  if (typeof query !== 'string' || Object.keys(rest).length > 0) return undefined;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  return params as QueryParams;
}
