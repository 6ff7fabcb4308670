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
 * The page sends documents by hash, never as text: codegen gave each its sha256
 * (src/gql/persisted-documents.json, published to the API with `npm run documents -- publish`), so
 * an API with TRUSTED_DOCUMENTS=required runs exactly the documents this version was built with.
 */
export function persistedQuery(document: { __meta__?: Record<string, unknown> | undefined }): {
  persistedQuery: { version: 1; sha256Hash: string };
} {
  const hash = String(document.__meta__?.hash ?? '');
  return { persistedQuery: { version: 1, sha256Hash: hash.replace(/^sha256:/, '') } };
}

/** Queries go by GET (cacheable, no body); mutations by POST, as GET may not mutate. */
function httpRequest<TResult, TVariables>(
  config: StorefrontConfig,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
) {
  const extensions = persistedQuery(document);
  const headers = { accept: 'application/graphql-response+json, application/json', ...authorization(config) };
  if (/^\s*query\b/.test(document.toString())) {
    const params = new URLSearchParams({
      variables: JSON.stringify(variables),
      extensions: JSON.stringify(extensions),
    });
    // A GET carries no content type: this header is what tells the API's CSRF check it is no form.
    return fetch(`${config.apiUrl}/graphql?${params}`, { headers: { ...headers, 'x-graphql-yoga-csrf': '1' } });
  }
  return fetch(`${config.apiUrl}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ variables, extensions }),
  });
}

/**
 * Sends a query (GET) or mutation (POST) by its hash with fetch. Expected failures come back as
 * typed union members in `data`; anything else (API unreachable, 401, a document the API does not
 * know: publish this version's manifest) throws ApiRequestError.
 */
export async function request<TResult, TVariables>(
  config: StorefrontConfig,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  let response: Response;
  try {
    response = await httpRequest(config, document, variables);
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

/** What a subscription tells the page. */
export interface SubscriptionSink<T> {
  next(data: T): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * Subscribes over the API's SSE instead of graphql-ws (the page's `?live=sse`): a GET by hash with
 * `Accept: text/event-stream`, one stream per subscription, ended by the API's `complete` event.
 * For networks that let no WebSocket through; unlike the WebSocket it does not reconnect.
 * Returns the unsubscribe.
 */
export function subscribeOverSse<TResult, TVariables>(
  config: StorefrontConfig,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  sink: SubscriptionSink<TResult>,
): () => void {
  const controller = new AbortController();
  const params = new URLSearchParams({
    variables: JSON.stringify(variables),
    extensions: JSON.stringify(persistedQuery(document)),
  });
  const stream = async () => {
    const response = await fetch(`${config.apiUrl}/graphql?${params}`, {
      headers: { accept: 'text/event-stream', 'x-graphql-yoga-csrf': '1', ...authorization(config) },
      signal: controller.signal,
    });
    if (!response.ok || !response.body) throw new ApiRequestError(`HTTP ${response.status}`, response.status);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      buffered += read.value;
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop() ?? '';
      for (const block of blocks) {
        if (/^event: complete/m.test(block)) return;
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!/^event: next/m.test(block) || !data) continue;
        const body = JSON.parse(data) as GraphQLBody<TResult>;
        if (body.errors?.length) throw new ApiRequestError(body.errors.map((error) => error.message).join('; '));
        if (body.data) sink.next(body.data);
      }
    }
  };
  stream().then(
    () => sink.complete(),
    (error: unknown) => {
      if (!controller.signal.aborted) sink.error(error);
    },
  );
  return () => controller.abort();
}
