import { GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';

/**
 * Logs every unexpected error of an operation (one that is not a GraphQLError of our own making)
 * with the operation's request id, before Yoga masks it. Yoga's own log line for a masked error has
 * no context to take the id from, so `alreadyLogged` tells it to skip the ones logged here.
 */
export function useUnexpectedErrorLog(logger: Logger): {
  plugin: Plugin;
  alreadyLogged(error: unknown): boolean;
} {
  const logged = new WeakSet<object>();
  const logResult = (requestId: string | undefined, errors: readonly GraphQLError[] | undefined) => {
    for (const error of errors ?? []) {
      const original = error.originalError;
      if (!original || original instanceof GraphQLError || logged.has(error)) continue;
      logged.add(error);
      logged.add(original);
      logger.error({ requestId, err: original }, 'unexpected error in a GraphQL operation');
    }
  };
  const onDone = (context: object) => (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
    handleStreamOrSingleExecutionResult(payload, ({ result }) =>
      logResult((context as { requestId?: string }).requestId, result.errors),
    );
  return {
    plugin: {
      onExecute: ({ args }) => ({ onExecuteDone: onDone(args.contextValue) }),
      onSubscribe: ({ args }) => ({ onSubscribeResult: onDone(args.contextValue) }),
    },
    alreadyLogged: (error) =>
      typeof error === 'object' &&
      error !== null &&
      (logged.has(error) || logged.has((error as { originalError?: object }).originalError ?? error)),
  };
}
