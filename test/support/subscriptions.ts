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

/** One `next` payload of an SSE stream. */
export interface SseEvent<TResult> {
  data?: TResult;
  errors?: unknown[];
}

/**
 * Subscribes over Yoga's SSE (POST with `Accept: text/event-stream`) and records `next` payloads
 * until `complete`. `onEvent` sees each payload as it arrives, so a test can wait for the stream's
 * first event before it changes anything the stream depends on.
 */
export async function recordSse<TResult, TVariables>(
  baseUrl: string,
  apiKey: string | null,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  options: { signal?: AbortSignal; onEvent?: (event: SseEvent<TResult>) => void } = {},
): Promise<{ events: SseEvent<TResult>[]; completed: boolean }> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
    },
    body: JSON.stringify({ query: print(document), variables }),
    signal: options.signal,
  });
  const events: SseEvent<TResult>[] = [];
  let completed = false;
  let buffered = '';
  const decoder = new TextDecoder();
  const readBlocks = (final: boolean) => {
    const blocks = buffered.split('\n\n');
    buffered = final ? '' : blocks.pop()!;
    for (const block of blocks) {
      const event = /^event: (\w+)/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event === 'next' && data) {
        const payload = JSON.parse(data) as SseEvent<TResult>;
        events.push(payload);
        options.onEvent?.(payload);
      }
      if (event === 'complete') completed = true;
    }
  };
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader!.read()) {
    buffered += decoder.decode(read.value, { stream: true });
    readBlocks(false);
  }
  buffered += decoder.decode();
  readBlocks(true);
  return { events, completed };
}
