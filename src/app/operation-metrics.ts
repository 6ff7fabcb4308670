import {
  type DocumentNode,
  type ExecutionResult,
  getOperationAST,
  type GraphQLError,
  Kind,
  type OperationDefinitionNode,
} from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { Counter, Histogram, type Registry } from 'prom-client';

/** Distinct operation names (and error paths) labelled on /metrics; later ones share {@link OTHER_LABEL}. */
export const MAX_LABELLED_VALUES = 200;
/** Longest operation name or error path labelled as it is. */
const MAX_LABEL_LENGTH = 128;
/** The label value of every operation name (or error path) past the bound. */
export const OTHER_LABEL = '__other__';

/**
 * A label whose values come from clients, kept to a bounded set: each value is kept as it is while
 * fewer than `max` distinct ones have been seen (first come, first kept), and becomes
 * {@link OTHER_LABEL} after. prom-client keeps one series per distinct set of label values for
 * the life of the process, so a label a client chooses freely (an operation name, an alias in an
 * error path) would otherwise let every request add memory that is never given back.
 */
export class BoundedLabel {
  private readonly kept = new Set<string>();

  constructor(private readonly max = MAX_LABELLED_VALUES) {}

  of(value: string): string {
    if (this.kept.has(value)) return value;
    if (this.kept.size >= this.max || value.length > MAX_LABEL_LENGTH) return OTHER_LABEL;
    this.kept.add(value);
    return value;
  }

  /** Distinct values kept so far. */
  get size(): number {
    return this.kept.size;
  }
}

/** What an operation is labelled with, fixed once its document is parsed. */
interface OperationLabels {
  operationType: string;
  operationName: string;
}

/** Where a request or an operation's context carries its labels and start time (never a WeakMap: below). */
const LABELS = Symbol('checkout-graph.operationLabels');
const STARTED_AT = Symbol('checkout-graph.requestStartedAt');
type Labelled = { [LABELS]?: OperationLabels; [STARTED_AT]?: number };

/**
 * Operation metrics on `/metrics`, with the names, help, buckets and labels of
 * `@graphql-yoga/plugin-prometheus` (which this replaces), and bounded label values: operation
 * names and error paths through {@link BoundedLabel}, and no `url` label on
 * `graphql_yoga_http_duration` (Yoga's label is the whole request URL: one series per distinct
 * GET query string).
 *
 * - `graphql_envelop_request_duration{operationType,operationName}`: seconds to execute (or to
 *   run a subscription's stream to its end);
 * - `graphql_envelop_error_result{operationType,operationName,path,phase}`: errors of every phase
 *   (parse, validate, context, execute, subscribe), one per error of a result;
 * - `graphql_yoga_http_duration{operationName,operationType,method,statusCode}`: seconds from the
 *   request to its answer, for requests whose document parsed.
 *
 * Why ours: the plugin (and `@envelop/prometheus` under it) keeps per-request state in WeakMaps
 * keyed by the request and the context. V8's scavenger keeps every young WeakMap key alive, so
 * each request's whole object graph was promoted to the old generation and scavenges took ~10 ms
 * instead of ~0.7 (bench/README.md, "Garbage per request"). The state lives on the request and
 * the context object here, and dies with them.
 */
export function useOperationMetrics(registry: Registry, endpoint = '/metrics'): Plugin {
  const names = new BoundedLabel();
  const paths = new BoundedLabel();
  const { requestDuration, errorResults, httpDuration } = metricFamilies(registry);
  const countError = (
    labels: OperationLabels | undefined,
    phase: string,
    error?: { path?: readonly (string | number)[] },
  ) =>
    errorResults.inc({
      ...(labels && { operationType: labels.operationType, operationName: labels.operationName }),
      phase,
      ...(error?.path && { path: paths.of(error.path.join('.')) }),
    });
  const countResultErrors = (labels: OperationLabels | undefined, phase: string, result: ExecutionResult) => {
    for (const error of result.errors ?? []) countError(labels, phase, error);
  };
  /** Observes one operation's execution (or subscription) and counts the errors of its results. */
  const timed = (labels: OperationLabels | undefined, phase: 'execute' | 'subscribe') => {
    const startedAt = performance.now();
    const end = () => {
      if (labels) requestDuration.observe(labels, (performance.now() - startedAt) / 1000);
    };
    return (result: unknown) => {
      if (isAsyncIterable(result))
        return {
          onNext: ({ result: next }: { result: ExecutionResult }) => countResultErrors(labels, phase, next),
          onEnd: end,
        };
      countResultErrors(labels, phase, result as ExecutionResult);
      end();
      return undefined;
    };
  };
  return {
    onPluginInit({ registerContextErrorHandler }) {
      registerContextErrorHandler(({ context }) => countError((context as Labelled)[LABELS], 'context'));
    },
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (url.pathname === endpoint)
        return registry
          .metrics()
          .then((text) =>
            endResponse(new fetchAPI.Response(text, { headers: { 'content-type': registry.contentType } })),
          );
      (request as Labelled)[STARTED_AT] = performance.now();
      return undefined;
    },
    onParse:
      () =>
      ({ result, context }) => {
        if (result instanceof Error || result === null) return void countError(undefined, 'parse');
        const operation = getOperationAST(result, context.params?.operationName) ?? firstOperation(result);
        if (!operation) return;
        const labels = {
          operationType: operation.operation,
          operationName: names.of(context.params?.operationName || operation.name?.value || 'Anonymous'),
        };
        (context as Labelled)[LABELS] = labels;
        if (context.request) (context.request as Labelled)[LABELS] = labels;
      },
    onValidate:
      ({ context }) =>
      ({ valid }) => {
        if (!valid) countError((context as Labelled)[LABELS], 'validate');
      },
    onExecute: ({ args }) => {
      const done = timed((args.contextValue as Labelled)[LABELS], 'execute');
      return { onExecuteDone: ({ result }) => done(result) };
    },
    onSubscribe: ({ args }) => {
      const done = timed((args.contextValue as Labelled)[LABELS], 'subscribe');
      return {
        onSubscribeResult: ({ result }) => done(result),
        onSubscribeError: ({ error }) =>
          countError((args.contextValue as Labelled)[LABELS], 'subscribe', error as GraphQLError),
      };
    },
    onResponse({ request, response }) {
      const labels = (request as Labelled)[LABELS];
      const startedAt = (request as Labelled)[STARTED_AT];
      if (!labels || startedAt === undefined) return;
      httpDuration.observe(
        { method: request.method, statusCode: response.status, ...labels },
        (performance.now() - startedAt) / 1000,
      );
    },
  };
}

/** The three families, named, described and labelled as `@graphql-yoga/plugin-prometheus` makes them. */
function metricFamilies(registry: Registry) {
  return {
    requestDuration: new Histogram({
      name: 'graphql_envelop_request_duration',
      help: 'Time spent on running the GraphQL operation from parse to execute',
      labelNames: ['operationType', 'operationName'],
      registers: [registry],
    }),
    errorResults: new Counter({
      name: 'graphql_envelop_error_result',
      help: 'Counts the amount of errors reported from all phases',
      labelNames: ['operationType', 'operationName', 'path', 'phase'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'graphql_yoga_http_duration',
      help: 'Time spent on HTTP connection',
      labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
      registers: [registry],
    }),
  };
}

/** The document's first operation: what a document of one operation, sent without a name, runs. */
function firstOperation(document: DocumentNode): OperationDefinitionNode | undefined {
  return document.definitions.find(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );
}
