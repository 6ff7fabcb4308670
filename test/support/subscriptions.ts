import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { onTestFinished } from 'vitest';
import WebSocket from 'ws';

/** Everything one subscription delivered, and how it ended. */
export interface SubscriptionRecording<T> {
  /** `data` of every `next` message, in order. */
  events: T[];
  /** GraphQL errors of an `error` message, if the subscription ended with one. */
  errors?: readonly { message: string; extensions?: Record<string, unknown> }[];
  /** Resolves when the subscription completes or errors. */
  done: Promise<void>;
  completed: boolean;
  /** Stops listening (unsubscribes). */
  dispose(): void;
}

/** A graphql-ws client (`graphql-transport-ws`) on the API's /graphql, authenticated by connectionParams. */
export function wsClient(
  baseUrl: string,
  apiKey: string | null,
  options: { lazy?: boolean; retryAttempts?: number } = {},
): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: apiKey === null ? {} : { authorization: `Bearer ${apiKey}` },
    lazy: options.lazy ?? true,
    retryAttempts: options.retryAttempts ?? 0,
  });
}

/** A graphql-ws client for the running test alone: disposed when the test finishes, however it ends. */
export function scopedWsClient(
  baseUrl: string,
  apiKey: string | null,
  options: { lazy?: boolean; retryAttempts?: number } = {},
): Client {
  const client = wsClient(baseUrl, apiKey, options);
  onTestFinished(() => client.dispose());
  return client;
}

/** Subscribes over graphql-ws and records every event until completion, error or dispose. */
export function recordSubscription<TResult, TVariables extends Record<string, unknown>>(
  client: Client,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): SubscriptionRecording<TResult> {
  const recording = { events: [] as TResult[], completed: false } as SubscriptionRecording<TResult>;
  recording.done = new Promise<void>((resolve) => {
    recording.dispose = client.subscribe<TResult>(
      { query: print(document), variables },
      {
        next: (message) => {
          if (message.errors) recording.errors = message.errors;
          if (message.data) recording.events.push(message.data);
        },
        error: (error) => {
          recording.errors = Array.isArray(error)
            ? error
            : [
                {
                  message:
                    error instanceof Error
                      ? error.message
                      : `closed: ${(error as { code?: number }).code ?? String(error)}`,
                  extensions: { closeCode: (error as { code?: number }).code },
                },
              ];
          resolve();
        },
        complete: () => {
          recording.completed = true;
          resolve();
        },
      },
    );
  });
  return recording;
}

/** Subscribes over Yoga's SSE (POST with `Accept: text/event-stream`) and records `next` payloads until `complete`. */
export async function recordSse<TResult, TVariables>(
  baseUrl: string,
  apiKey: string | null,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  signal?: AbortSignal,
): Promise<{ events: { data?: TResult; errors?: unknown[] }[]; completed: boolean }> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
    },
    body: JSON.stringify({ query: print(document), variables }),
    signal,
  });
  const text = await response.text();
  const events: { data?: TResult; errors?: unknown[] }[] = [];
  let completed = false;
  for (const block of text.split('\n\n')) {
    const event = /^event: (\w+)/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (event === 'next' && data) events.push(JSON.parse(data));
    if (event === 'complete') completed = true;
  }
  return { events, completed };
}
