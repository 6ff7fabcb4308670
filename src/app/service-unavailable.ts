import { createGraphQLError, maskError, type YogaServerOptions } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../db/unavailable.js';

/** What a client is told to wait before retrying while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

type MaskError = NonNullable<
  Exclude<YogaServerOptions<object, object>['maskedErrors'], boolean | undefined>['maskError']
>;

/**
 * Yoga's masking, except for a database that cannot be reached: that is no bug a client can only
 * report but a moment to wait, so it is told as such, the same over HTTP, SSE and graphql-ws:
 * `SERVICE_UNAVAILABLE`, retryable, with HTTP 503 and `Retry-After` where there is an HTTP answer.
 */
export const maskErrorTellingOutages: MaskError = (error, message, isDev) => {
  const original = (error as { originalError?: unknown }).originalError ?? error;
  if (!isDatabaseUnavailable(original)) return maskError(error, message, isDev);
  const path = (error as { path?: readonly (string | number)[] }).path;
  return createGraphQLError(`The database is unavailable for a moment; retry in ${DATABASE_RETRY_AFTER_SECONDS} s`, {
    path,
    extensions: {
      code: 'SERVICE_UNAVAILABLE',
      retryable: true,
      retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
      http: { status: 503, headers: { 'retry-after': String(DATABASE_RETRY_AFTER_SECONDS) } },
    },
  });
};
