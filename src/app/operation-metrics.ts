import { createCounter, createHistogram } from '@graphql-yoga/plugin-prometheus';
import type { Registry } from 'prom-client';

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

/** Label values without the undefined ones (prom-client labels only what it is given). */
function defined(labels: Record<string, string | number | undefined>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(labels).filter(([, value]) => value !== undefined)) as Record<
    string,
    string | number
  >;
}

/**
 * The operation metrics of `@graphql-yoga/plugin-prometheus` (their names, help, buckets and labels
 * as the plugin makes them), with bounded label values: operation names and error paths through
 * {@link BoundedLabel}, and no `url` label on `graphql_yoga_http_duration` (Yoga's label is the
 * whole request URL: the Host header and, for GET requests and GET SSE streams, the query string
 * with its variables, one series per distinct request).
 */
export function boundedOperationMetrics(registry: Registry) {
  const names = new BoundedLabel();
  const paths = new BoundedLabel();
  const operationName = (name: string | undefined) => (name === undefined ? undefined : names.of(name));
  return {
    metrics: {
      graphql_envelop_request_duration: createHistogram<'execute' | 'subscribe', string>({
        registry,
        histogram: {
          name: 'graphql_envelop_request_duration',
          help: 'Time spent on running the GraphQL operation from parse to execute',
          labelNames: ['operationType', 'operationName'],
        },
        fillLabelsFn: (params) =>
          defined({ operationType: params.operationType, operationName: operationName(params.operationName) }),
        phases: ['execute', 'subscribe'],
      }),
      graphql_envelop_error_result: createCounter<'parse' | 'validate' | 'context' | 'execute' | 'subscribe', string>({
        registry,
        counter: {
          name: 'graphql_envelop_error_result',
          help: 'Counts the amount of errors reported from all phases',
          labelNames: ['operationType', 'operationName', 'path', 'phase'],
        },
        fillLabelsFn: (params) =>
          defined({
            operationType: params.operationType,
            operationName: operationName(params.operationName),
            phase: params.errorPhase,
            path: params.error?.path ? paths.of(params.error.path.join('.')) : undefined,
          }),
        phases: ['parse', 'validate', 'context', 'execute', 'subscribe'],
      }),
      graphql_yoga_http_duration: createHistogram<
        'request',
        string,
        { operationName?: string; operationType?: string; request: Request; response: Response }
      >({
        registry,
        histogram: {
          name: 'graphql_yoga_http_duration',
          help: 'Time spent on HTTP connection',
          labelNames: ['operationName', 'operationType', 'method', 'statusCode'],
        },
        fillLabelsFn: (params, { request, response }: { request: Request; response: Response }) => ({
          method: request.method,
          statusCode: response.status,
          operationType: params.operationType || 'unknown',
          operationName: names.of(params.operationName || 'Anonymous'),
        }),
        phases: ['request'],
      }),
    },
  };
}
