import { useGraphQlJit } from '@envelop/graphql-jit';
import {
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  getOperationAST,
  GraphQLError,
  getVariableValues,
  Kind,
  type Source,
  type VariableDefinitionNode,
  visit,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * Query operations compiled by graphql-jit (`@envelop/graphql-jit`), on every transport (HTTP,
 * SSE, graphql-ws all execute through the envelop chain), wherever the compiled answer is the
 * one graphql-js gives byte for byte. graphql-js executes the rest:
 *
 * - mutations: run once per request and one field at a time, so compiling them buys nothing;
 * - subscriptions: useSharedEventExecution runs each event's selection once for every subscriber
 *   (its subscribe must stay the one used);
 * - documents where graphql-jit orders fields differently ({@link jitKeepsFieldOrder});
 * - variables that do not coerce: graphql-jit words those errors its own way, so graphql-js
 *   checks them first (a coercion of a few small values) and answers the ones it refuses.
 *
 * Compiled queries are cached per parsed document, which Yoga's parser cache keeps one of per
 * source text. A result with errors gets graphql-js's shape back, so the bytes match there too:
 * `errors` before `data`, and errors that carry their document positions (graphql-jit's carry only
 * `locations`, which Yoga's serialisation drops).
 */
export function useJitQueries(): Plugin {
  const operations = new WeakMap<DocumentNode, Map<string, JitableOperation | null>>();
  const jit = useGraphQlJit(
    {},
    {
      enableIf(args) {
        const operation = jitableOperation(operations, args);
        return operation !== null && variablesCoerce(args, operation);
      },
    },
  ) as Plugin;
  return {
    onPluginInit({ addPlugin }) {
      addPlugin(jit);
    },
    onExecute: ({ args }) => ({
      onExecuteDone({ result, setResult }) {
        if (!isSingleResult(result) || !result.errors?.length) return;
        const source = args.document.loc?.source;
        const { errors, data, ...rest } = result;
        setResult({ errors: errors.map((error) => locatedAsGraphqlJs(error, source)), data, ...rest });
      },
    }),
  };
}

/** A query operation graphql-jit may run: its variable definitions, for the coercion check. */
interface JitableOperation {
  variables: readonly VariableDefinitionNode[];
}

/**
 * A graphql-jit error as graphql-js makes it: located by its source and positions (what Yoga keeps
 * when it serialises an error) rather than by bare line/column pairs. Others are returned as they are.
 */
function locatedAsGraphqlJs(error: GraphQLError, source: Source | undefined): GraphQLError {
  if (error.source || !error.locations?.length || !source) return error;
  const positions = error.locations.map(({ line, column }) => positionOf(source.body, line, column));
  return new GraphQLError(error.message, {
    source,
    positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

/** The offset in `body` of a 1-based line and column (lines end as graphql-js counts them: \r\n, \n or \r). */
function positionOf(body: string, line: number, column: number): number {
  let start = 0;
  const ends = /\r\n|[\n\r]/g;
  for (let current = 1; current < line; current++) {
    const end = ends.exec(body);
    if (!end) break;
    start = end.index + end[0].length;
  }
  return start + column - 1;
}

function isSingleResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}

/** The operation to run when it is a query graphql-jit answers in graphql-js's field order, else null (memoized per document). */
function jitableOperation(
  cache: WeakMap<DocumentNode, Map<string, JitableOperation | null>>,
  args: ExecutionArgs,
): JitableOperation | null {
  let byName = cache.get(args.document);
  if (!byName) {
    byName = new Map();
    cache.set(args.document, byName);
  }
  const name = args.operationName ?? '';
  let jitable = byName.get(name);
  if (jitable === undefined) {
    const operation = getOperationAST(args.document, args.operationName);
    jitable =
      operation?.operation === 'query' && jitKeepsFieldOrder(args.document)
        ? { variables: operation.variableDefinitions ?? [] }
        : null;
    byName.set(name, jitable);
  }
  return jitable;
}

/** True when graphql-js coerces the request's variables without an error. */
function variablesCoerce(args: ExecutionArgs, operation: JitableOperation): boolean {
  if (operation.variables.length === 0) return true;
  return (
    getVariableValues(args.schema, operation.variables, args.variableValues ?? {}, { maxErrors: 1 }).errors ===
    undefined
  );
}

/**
 * True when graphql-jit answers the document with its fields in the order graphql-js does (the
 * order of the selections, which the spec asks for and which clients' caches and tests compare).
 * graphql-jit collects a selection set's own fields before those of its fragments (and takes
 * fragments last first), so the order is kept where fields come first and one fragment at most
 * closes each selection set; `@skip`/`@include` are left to graphql-js as well.
 * test/request-shapes.test.ts compares both engines' bytes, so a graphql-jit release that collects
 * otherwise fails there, not in production.
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
