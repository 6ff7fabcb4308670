/**
 * W3's subscribers: one process (pinned to the load core) opening W3_CLIENTS graphql-ws sockets
 * (`graphql-transport-ws`, raw `ws` to keep the client side light), each subscribing to
 * `checkoutStatusChanged` of one checkout id from W3_IDS (round-robin). Prints
 * `READY {"subscribed": n}` once every socket has its first event (the current state), then, for
 * each socket, waits for the event whose status is COMPLETED and records receive time minus the
 * event's `updatedAt` (set by the server when it wrote the change; same machine, same clock).
 * Prints `DONE {"latenciesMs": [...], "missing": n}` when all arrived or after W3_TIMEOUT_MS.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const url = process.env.W3_URL!.replace(/^http/, 'ws') + '/graphql';
const apiKey = process.env.W3_API_KEY!;
const ids = JSON.parse(readFileSync(process.env.W3_IDS_FILE!, 'utf8')) as string[];
const total = Number(process.env.W3_CLIENTS ?? 10_000);
const timeoutMs = Number(process.env.W3_TIMEOUT_MS ?? 60_000);
const connectConcurrency = 200;

const SUBSCRIPTION =
  'subscription Watch($id: ID!) { checkoutStatusChanged(id: $id) { id status updatedAt total { amount currency } } }';

const now = () => performance.timeOrigin + performance.now();
const latencies: number[] = [];
const sockets: WebSocket[] = [];
let completed = 0;
let onAllCompleted: (() => void) | undefined;

/** Opens one socket and resolves once its subscription delivered the current state. */
function subscribe(index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    sockets.push(socket);
    let first = true;
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiKey}` } })),
    );
    socket.on('message', (raw: Buffer) => {
      const receivedAt = now();
      const message = JSON.parse(raw.toString()) as {
        type: string;
        payload?: { data?: { checkoutStatusChanged?: { status: string; updatedAt: string } }; message?: string };
      };
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: SUBSCRIPTION, variables: { id: ids[index % ids.length] } },
          }),
        );
      } else if (message.type === 'next') {
        const event = message.payload?.data?.checkoutStatusChanged;
        if (!event) return reject(new Error(`socket ${index}: ${JSON.stringify(message)}`));
        if (first) {
          first = false;
          resolve();
        }
        if (event.status === 'COMPLETED') {
          latencies.push(receivedAt - Date.parse(event.updatedAt));
          if (++completed === total) onAllCompleted?.();
        }
      } else if (message.type === 'error') {
        reject(new Error(`socket ${index}: ${JSON.stringify(message.payload)}`));
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      }
    });
    socket.on('error', reject);
    socket.on('close', (code) => {
      if (first) reject(new Error(`socket ${index} closed (${code}) before its first event`));
    });
  });
}

let next = 0;
const started = now();
await Promise.all(
  Array.from({ length: connectConcurrency }, async () => {
    while (next < total) await subscribe(next++);
  }),
);
console.log(`READY ${JSON.stringify({ subscribed: total, connectMs: Math.round(now() - started) })}`);

await new Promise<void>((resolve) => {
  onAllCompleted = resolve;
  if (completed === total) resolve();
  setTimeout(resolve, timeoutMs).unref();
});
console.log(
  `DONE ${JSON.stringify({ latenciesMs: latencies.map((ms) => Math.round(ms * 10) / 10), missing: total - latencies.length })}`,
);
for (const socket of sockets) socket.terminate();
process.exit(0);
