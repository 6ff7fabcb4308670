/**
 * create-flow's live flow (issue 22, goal 3): `count` Smartcheckout purchases created at an evenly
 * paced `rate` (open loop: create i is due at start + i / rate and its latency counts from then,
 * as in bench/paced.ts), each watched by its own `checkoutStatusChanged` subscription (graphql-ws,
 * raw `ws`, spread over sockets of `perSocket` subscriptions) from the moment its create answered
 * until the stream completes. The fake provider (bench/servers/logging-smartcheckout.ts) completes
 * a purchase on its 2nd status GET and logs every call, which gives the first poll's lateness and
 * the moment the provider said `completed`.
 */
import { Pool } from 'undici';
import WebSocket from 'ws';
import { percentile } from './common.js';
import { createBody, createdCheckout, round } from './creates.js';

const SUBSCRIPTION =
  'subscription Watch($id: ID!) { checkoutStatusChanged(id: $id) { id status updatedAt total { amount currency } } }';

/** Milliseconds since the epoch with sub-millisecond resolution, comparable with the fake provider's. */
const epochNow = () => performance.timeOrigin + performance.now();

export interface LiveFlowOptions {
  rate: number;
  count: number;
  /** Subscriptions per socket (sockets = count / perSocket, at least 1). */
  perSocket: number;
  /** Keep-alive connections the creates go out on. */
  connections: number;
  pollIntervalMs: number;
  /** After the last create is due, how long to wait for every stream to complete. */
  drainMs: number;
  /** Product path prefix, so a warm-up and the measured run never share a product. */
  prefix: string;
  onProgress?: (message: string) => void;
}

/** Percentiles of one measure, ms. */
export interface Spread {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LiveFlowResult {
  rate: number;
  count: number;
  sockets: number;
  pollIntervalMs: number;
  /** Create latency from each create's due time. */
  create: Spread;
  createFailures: number;
  /** How late the generator itself sent (p99, ms): large values void the run. */
  lateSendsP99: number;
  /** First status GET at the provider − (create answered by the provider + POLL_INTERVAL_MS). */
  firstPollLate: Spread;
  /** Subscriber received COMPLETED − provider answered `completed`. */
  completedToSubscriber: Spread;
  streamsCompleted: number;
  /** Subscriptions that failed (an error message, or the socket closed). */
  streamErrors: number;
  /** Status GETs per checkout at the provider: how many checkouts got each count. */
  getsPerCheckout: Record<string, number>;
  /** Seconds from the first due create to the last completed stream. */
  wallS: number;
}

interface Purchase {
  dueAt: number;
  answeredAt?: number;
  providerCheckoutId?: string;
  completedReceivedAt?: number;
  streamDone?: boolean;
  failed?: boolean;
}

export async function liveFlow(
  serverUrl: string,
  apiKey: string,
  providerUrl: string,
  options: LiveFlowOptions,
): Promise<LiveFlowResult> {
  const purchases: Purchase[] = [];
  let done = 0;
  let streamErrors = 0;
  let onAllDone: (() => void) | undefined;
  const finish = (purchase: Purchase) => {
    if (purchase.streamDone) return;
    purchase.streamDone = true;
    if (++done === options.count) onAllDone?.();
  };

  const sockets = await openSockets(serverUrl, apiKey, Math.max(1, Math.ceil(options.count / options.perSocket)), {
    next(index, status) {
      const purchase = purchases[index];
      if (purchase && status === 'COMPLETED' && purchase.completedReceivedAt === undefined)
        purchase.completedReceivedAt = epochNow();
    },
    complete(index) {
      const purchase = purchases[index];
      if (purchase) finish(purchase);
    },
    error(index) {
      streamErrors++;
      const purchase = purchases[index];
      if (purchase) finish(purchase);
    },
  });

  const pool = new Pool(new URL(serverUrl).origin, { connections: options.connections, pipelining: 1 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  const createLatencies: number[] = [];
  const sendDelays: number[] = [];
  let createFailures = 0;
  const send = async (index: number, dueAt: number) => {
    sendDelays.push(performance.now() - dueAt);
    const purchase = purchases[index]!;
    try {
      const response = await pool.request({
        path: '/graphql',
        method: 'POST',
        headers,
        body: createBody(index, options.prefix),
      });
      const body = await response.body.text();
      const checkout = createdCheckout(body);
      createLatencies.push(performance.now() - dueAt);
      purchase.answeredAt = epochNow();
      purchase.providerCheckoutId = checkout.providerCheckoutId ?? undefined;
      sockets[index % sockets.length]!.send(
        JSON.stringify({
          id: String(index),
          type: 'subscribe',
          payload: { query: SUBSCRIPTION, variables: { id: checkout.id } },
        }),
      );
    } catch {
      createFailures++;
      purchase.failed = true;
      finish(purchase);
    }
  };

  const start = performance.now() + 50;
  const startEpoch = epochNow() + 50;
  const pending: Promise<void>[] = [];
  let sent = 0;
  const progressTimer = setInterval(() => {
    options.onProgress?.(
      `${sent} of ${options.count} creates sent, ${createLatencies.length} answered, ${done} streams completed`,
    );
  }, 2_000);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < options.count && start + (sent * 1000) / options.rate <= now) {
        const dueAt = start + (sent * 1000) / options.rate;
        purchases.push({ dueAt });
        pending.push(send(sent, dueAt));
        sent += 1;
      }
      if (sent >= options.count) return resolve();
      setTimeout(tick, Math.max(0, start + (sent * 1000) / options.rate - performance.now() - 0.5));
    };
    tick();
  });
  await Promise.all(pending);
  await new Promise<void>((resolve) => {
    onAllDone = resolve;
    if (done >= options.count) resolve();
    setTimeout(resolve, options.drainMs).unref();
  });
  clearInterval(progressTimer);
  const lastAt = Math.max(...purchases.map((p) => p.completedReceivedAt ?? 0));
  await pool.close();
  for (const socket of sockets) socket.terminate();

  const log = (await (await fetch(`${providerUrl}/__log`)).json()) as {
    checkouts: { id: string; postAt: number; getAts: number[]; completedAt: number | null }[];
  };
  const byId = new Map(log.checkouts.map((entry) => [entry.id, entry]));
  const firstPollLate: number[] = [];
  const completedToSubscriber: number[] = [];
  const getsPerCheckout: Record<string, number> = {};
  for (const purchase of purchases) {
    if (!purchase.providerCheckoutId) continue;
    const entry = byId.get(purchase.providerCheckoutId);
    const gets = entry?.getAts.length ?? 0;
    getsPerCheckout[gets] = (getsPerCheckout[gets] ?? 0) + 1;
    if (!entry) continue;
    if (entry.getAts.length) firstPollLate.push(entry.getAts[0]! - entry.postAt - options.pollIntervalMs);
    if (entry.completedAt !== null && purchase.completedReceivedAt !== undefined)
      completedToSubscriber.push(purchase.completedReceivedAt - entry.completedAt);
  }
  return {
    rate: options.rate,
    count: options.count,
    sockets: sockets.length,
    pollIntervalMs: options.pollIntervalMs,
    create: spread(createLatencies),
    createFailures,
    lateSendsP99: round(sendDelays.length ? percentile(sendDelays, 99) : NaN),
    firstPollLate: spread(firstPollLate),
    completedToSubscriber: spread(completedToSubscriber),
    streamsCompleted: purchases.filter((p) => p.streamDone && p.completedReceivedAt !== undefined).length,
    streamErrors,
    getsPerCheckout,
    wallS: round((lastAt - startEpoch) / 1000, 1),
  };
}

function spread(values: number[]): Spread {
  if (!values.length) return { n: 0, p50: NaN, p99: NaN, max: NaN };
  return {
    n: values.length,
    p50: round(percentile(values, 50), 1),
    p99: round(percentile(values, 99), 1),
    max: round(Math.max(...values), 1),
  };
}

interface SocketEvents {
  next(index: number, status: string): void;
  complete(index: number): void;
  error(index: number): void;
}

/** Opens `count` graphql-transport-ws sockets, authenticated, and resolves once every one is acknowledged. */
async function openSockets(
  serverUrl: string,
  apiKey: string,
  count: number,
  events: SocketEvents,
): Promise<WebSocket[]> {
  const url = `${serverUrl.replace(/^http/, 'ws')}/graphql`;
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
          let acknowledged = false;
          socket.on('open', () =>
            socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiKey}` } })),
          );
          socket.on('message', (raw: Buffer) => {
            const message = JSON.parse(raw.toString()) as {
              id?: string;
              type: string;
              payload?: { data?: { checkoutStatusChanged?: { status: string } } };
            };
            const index = Number(message.id);
            if (message.type === 'connection_ack') {
              acknowledged = true;
              resolve(socket);
            } else if (message.type === 'next') {
              const status = message.payload?.data?.checkoutStatusChanged?.status;
              if (status) events.next(index, status);
              else events.error(index);
            } else if (message.type === 'complete') {
              events.complete(index);
            } else if (message.type === 'error') {
              events.error(index);
            } else if (message.type === 'ping') {
              socket.send(JSON.stringify({ type: 'pong' }));
            }
          });
          socket.on('error', (error) => {
            if (!acknowledged) reject(error);
          });
          socket.on('close', (code) => {
            if (!acknowledged) reject(new Error(`socket closed (${code}) before connection_ack`));
          });
        }),
    ),
  );
}
