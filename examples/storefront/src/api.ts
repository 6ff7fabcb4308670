import { createClient, type Client } from 'graphql-ws';
import type { StorefrontConfig } from './config.js';
import type { TypedDocumentString } from './gql/graphql.js';

/** The API could not be asked, or refused the request as a whole (no typed result to show). */
export class ApiRequestError extends Error {
  override name = 'ApiRequestError';
  constructor(
    message: string,
    /** HTTP status when the API answered; undefined when it could not be reached. */
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

function authorization(config: StorefrontConfig): Record<string, string> {
  return config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {};
}

/**
 * Sends a query or mutation with fetch. Expected failures come back as typed union members in
 * `data`; anything else (API unreachable, 401, a GraphQL request error) throws ApiRequestError.
 */
export async function request<TResult, TVariables>(
  config: StorefrontConfig,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  let response: Response;
  try {
    response = await fetch(`${config.apiUrl}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...authorization(config),
      },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch {
    throw new ApiRequestError(`The API at ${config.apiUrl} cannot be reached. Is it running (npm start)?`);
  }
  const body = (await response.json().catch(() => ({}))) as GraphQLBody<TResult>;
  if (response.status === 401) {
    throw new ApiRequestError('The API refused the storefront’s API key (set STOREFRONT_API_KEY).', 401);
  }
  if (body.errors?.length || !body.data) {
    const message = body.errors?.map((error) => error.message).join('; ') || `HTTP ${response.status}`;
    throw new ApiRequestError(`The API could not run the request: ${message}`, response.status);
  }
  return body.data;
}

/** The WebSocket connection's state, as the page shows it. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'refused';

/** How the page hears about the WebSocket connection. */
export interface LiveClientEvents {
  onState(state: ConnectionState): void;
  /** After a reconnect: every active subscription is being resubscribed; other data may be stale too. */
  onReconnected(): void;
}

/** The API closes a socket whose key it refuses with this code; retrying cannot help. */
const KEY_REFUSED = 4403;

/**
 * A graphql-ws client that never gives up: after a lost connection (the API restarted, the
 * network dropped) it retries with capped, jittered backoff, and graphql-ws resubscribes every
 * active subscription. The API sends the checkout's current state first, so nothing is lost.
 */
export function createLiveClient(config: StorefrontConfig, events: LiveClientEvents): Client {
  return createClient({
    url: `${config.apiUrl.replace(/^http/, 'ws')}/graphql`,
    connectionParams: config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : undefined,
    lazy: false,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (closeEvent) => (closeEvent as CloseEvent | undefined)?.code !== KEY_REFUSED,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries))),
    on: {
      connecting: (isRetry) => events.onState(isRetry ? 'reconnecting' : 'connecting'),
      connected: (_socket, _payload, wasRetry) => {
        events.onState('live');
        if (wasRetry) events.onReconnected();
      },
      closed: (closeEvent) => {
        const code = (closeEvent as CloseEvent | undefined)?.code;
        events.onState(code === KEY_REFUSED ? 'refused' : 'reconnecting');
      },
    },
  });
}

/** 250 ms doubling to 4 s, with up to 30% jitter so that many pages do not reconnect in step. */
function backoffMs(retries: number): number {
  const base = Math.min(250 * 2 ** retries, 4_000);
  return base + Math.random() * base * 0.3;
}
