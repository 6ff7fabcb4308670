import { createSourceEventStream, execute, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { Repeater, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';

/**
 * Executes each subscription event once per selection, not once per subscriber.
 *
 * A status change reaches every subscription of its checkout as the same payload object (one
 * publish, one `checkoutOf` per change). Subscriptions of one tenant that ask for the same document
 * with the same variables would each run the same resolvers on it and get equal results; this
 * plugin runs them for the first and hands the others that result. 10,000 clients watching one
 * checkout thus cost one execution per change, not 10,000. Each subscription's first payload (the
 * current state, read for it alone) is its own object, so it is executed for that subscriber only.
 *
 * It replaces the executor's subscribe with graphql-js's own steps (source stream, then execute per
 * payload); the plugins' hooks on subscribe results (error masking, metrics) still apply.
 */
export function useSharedEventExecution(): Plugin<Context> {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  /** Per event payload: selection key → its execution. Dropped with the payload when every subscriber is done. */
  const executions = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

  /** Everything the result of executing `args` on a payload depends on, besides the payload. */
  function selectionKey(args: ExecutionArgs): string {
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) {
      documentId = nextDocumentId++;
      documentIds.set(args.document, documentId);
    }
    const { tenant, scope } = args.contextValue as Context;
    return JSON.stringify([tenant, scope, documentId, args.operationName ?? null, args.variableValues ?? null]);
  }

  function executeOnce(args: ExecutionArgs, key: string, payload: unknown): Promise<ExecutionResult> {
    const run = () => Promise.resolve(execute({ ...args, rootValue: payload }));
    if (typeof payload !== 'object' || payload === null) return run();
    let bySelection = executions.get(payload);
    if (!bySelection) {
      bySelection = new Map();
      executions.set(payload, bySelection);
    }
    let result = bySelection.get(key);
    if (!result) {
      result = run();
      bySelection.set(key, result);
    }
    return result;
  }

  async function subscribeShared(args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const key = selectionKey(args);
    // A Repeater, so that a client leaving ends the source at once rather than at its next event.
    return new Repeater<ExecutionResult>(async (push, stop) => {
      const iterator = source[Symbol.asyncIterator]();
      void stop.then(() => iterator.return?.());
      try {
        for (;;) {
          const next = await Promise.race([
            iterator.next(),
            stop.then(() => ({ done: true, value: undefined }) as const),
          ]);
          if (next.done) return;
          await push(executeOnce(args, key, next.value));
        }
      } finally {
        stop();
        await iterator.return?.();
      }
    });
  }

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribeShared as never);
    },
  };
}
