import { connect, type Socket } from 'node:net';
import { print } from 'graphql';
import { Agent, Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config/index.js';
import {
  CheckoutDocument,
  CheckoutStatusChangedDocument,
  CreatePayerVaultCheckoutDocument,
  RecordCheckoutOutcomeDocument,
} from './generated/graphql.js';
import { expectType, startScopedTestApp, type TestApp, useTestApp } from './support/app.js';
import { metricOf } from './support/metrics.js';
import { recordSubscription, scopedWsClient } from './support/subscriptions.js';

/*
 * Floods made by real sockets from this process against a real server on loopback: every socket
 * goes to 127.0.0.1, from source addresses of 127.0.0.0/8 (Linux routes all of it to lo), so that
 * "one hostile address" and "the authenticated client" are different addresses as they would be on
 * a network. Counts are bounded (hundreds); every socket is closed when its test ends. No assertion
 * is on time: that the sockets end "in seconds" is the configured deadline plus node's check every
 * second, and the test's own timeout bounds the wait; timings are in bench/floods.ts.
 */

const DEFAULTS = loadConfig({});
const REFUSED = 'checkout_connections_refused_total';

/** Every raw socket a test opened, destroyed when the file ends (tests destroy their own earlier). */
const opened = new Set<Socket>();
afterAll(() => {
  for (const socket of opened) socket.destroy();
});

/** A raw TCP connection to the app, from `from`; records what it receives and how it ends. */
interface RawConnection {
  socket: Socket;
  received: string;
  /** Resolves when the connection is open. */
  connected: Promise<void>;
  closed: boolean;
  /** Resolves when the socket is closed (by either side). */
  done: Promise<void>;
}

function rawConnection(t: TestApp, from: string): RawConnection {
  const { port } = new URL(t.url);
  const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: from });
  opened.add(socket);
  const connection: RawConnection = {
    socket,
    received: '',
    closed: false,
    connected: new Promise((resolve) => socket.once('connect', () => resolve())),
    done: new Promise((resolve) =>
      socket.once('close', () => {
        connection.closed = true;
        opened.delete(socket);
        resolve();
      }),
    ),
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (connection.received += chunk));
  // A socket the server refused at accept may see ECONNRESET: that is its close, not a failure.
  socket.on('error', () => undefined);
  return connection;
}

/** Opens `count` connections from `from`, in batches so the listen backlog is not what refuses them. */
async function flood(t: TestApp, from: string, count: number): Promise<RawConnection[]> {
  const connections: RawConnection[] = [];
  for (let start = 0; start < count; start += 50) {
    const batch = Array.from({ length: Math.min(50, count - start) }, () => rawConnection(t, from));
    await Promise.all(batch.map((c) => Promise.race([c.connected, c.done])));
    connections.push(...batch);
  }
  return connections;
}

/** An undici dispatcher whose connections come from `address` (undici's own options cannot set it). */
function from(address: string): Agent {
  return new Agent({
    connect: (options, callback) => {
      const socket = connect({ host: options.hostname, port: Number(options.port), localAddress: address });
      socket.once('connect', () => callback(null, socket));
      socket.once('error', (error) => callback(error, null));
      return socket;
    },
  });
}

/** An OPEN PayerVault checkout of tenant a, and the query that reads it. */
async function openCheckout(t: TestApp): Promise<string> {
  const created = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-floods' } });
  return expectType(created.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout.id;
}

/** `checkout(id)` as tenant a over a given dispatcher (another address, or a connection held since before a flood). */
async function readCheckout(t: TestApp, id: string, dispatcher?: Agent | Pool) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.a}` },
    body: JSON.stringify({ query: print(CheckoutDocument), variables: { id } }),
    // @ts-expect-error undici's dispatcher option is not in lib.dom's RequestInit
    dispatcher,
  });
  return { status: response.status, body: (await response.json()) as { data?: { checkout?: { id: string } } } };
}

describe('connections per client address', () => {
  const t = useTestApp();

  it(`defaults: ${DEFAULTS.connections.maxConnectionsPerAddress} per address, HTTP deadlines of seconds`, () => {
    expect(DEFAULTS.connections).toMatchObject({
      maxConnections: undefined,
      maxConnectionsPerAddress: 256,
      wsAuthTimeoutMs: 5_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
    });
  });

  it('a flood past the limit from one address is answered 503 and closed; another address reads its checkout meanwhile', async () => {
    const id = await openCheckout(t);
    const limit = DEFAULTS.connections.maxConnectionsPerAddress;
    const extra = 64;
    const before = await metricOf(t, REFUSED, { reason: 'address_limit' });

    const connections = await flood(t, '127.0.0.2', limit + extra);
    // The ones past the limit get the pre-written 503 and are closed; the others are held open.
    await expect.poll(() => connections.filter((c) => c.closed).length, { timeout: 10_000 }).toBe(extra);
    const refused = connections.filter((c) => c.closed);
    for (const c of refused) {
      expect(c.received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(c.received).toMatch(/\r\nRetry-After: 1\r\n/);
      expect(c.received).toContain('"code":"TOO_MANY_CONNECTIONS"');
    }
    expect(connections.filter((c) => !c.closed)).toHaveLength(limit);

    // The authenticated client, at another address, is served while the flood holds its sockets.
    const read = await readCheckout(t, id);
    expect(read.status).toBe(200);
    expect(read.body.data?.checkout?.id).toBe(id);

    // A new request from the flooded address: 503 with Retry-After, as a client library sees it.
    const agent = from('127.0.0.2');
    const blocked = await fetch(`${t.url}/health`, {
      // @ts-expect-error undici's dispatcher option is not in lib.dom's RequestInit
      dispatcher: agent,
    });
    expect(blocked.status).toBe(503);
    expect(blocked.headers.get('retry-after')).toBe('1');
    expect(await blocked.json()).toMatchObject({ errors: [{ extensions: { code: 'TOO_MANY_CONNECTIONS' } }] });
    await agent.close();

    expect(await metricOf(t, REFUSED, { reason: 'address_limit' })).toBeGreaterThanOrEqual(before + extra);
    // One log line per interval, not one per refused socket.
    const lines = t.logs.filter((line) => line.includes('connections refused by the flood limits'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThan(extra);

    // Released sockets free their places: the address is served again.
    for (const c of connections) c.socket.destroy();
    await Promise.all(connections.map((c) => c.done));
    const again = from('127.0.0.2');
    await expect
      .poll(async () => (await readCheckout(t, id, again).catch(() => ({ status: 0 }))).status, { timeout: 10_000 })
      .toBe(200);
    await again.close();
  }, 60_000);
});

describe('connections per instance', () => {
  const MAX = 120;
  const t = useTestApp({
    LIMIT_MAX_CONNECTIONS: String(MAX),
    LIMIT_MAX_CONNECTIONS_PER_ADDRESS: '50',
    // The authenticated client's connection, opened before the flood, must outlive the test's pauses.
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '120000',
  });

  it('past the limit new connections are closed at accept; a connection held by an authenticated client is still served', async () => {
    const id = await openCheckout(t);
    const held = new Pool(t.url, { connections: 1, keepAliveTimeout: 120_000 });
    expect((await readCheckout(t, id, held)).body.data?.checkout?.id).toBe(id);
    const before = await metricOf(t, REFUSED, { reason: 'instance_limit' });

    // Four addresses, 40 sockets each: within the per-address limit, 160 in all against 120.
    const connections = (
      await Promise.all(['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4'].map((address) => flood(t, address, 40)))
    ).flat();
    await expect.poll(() => connections.filter((c) => c.closed).length, { timeout: 10_000 }).toBeGreaterThan(0);
    const dropped = connections.filter((c) => c.closed);
    // Closed at accept, before any parsing: no answer at all.
    for (const c of dropped) expect(c.received).toBe('');
    // Never more open than the limit (the held connection and the test's own /metrics reads count too).
    expect(connections.length - dropped.length).toBeLessThan(MAX);

    const read = await readCheckout(t, id, held);
    expect(read.status).toBe(200);
    expect(read.body.data?.checkout?.id).toBe(id);
    for (const c of connections) c.socket.destroy();
    await Promise.all(connections.map((c) => c.done));
    await expect
      .poll(() => metricOf(t, REFUSED, { reason: 'instance_limit' }), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(before + dropped.length);
    await held.close();
  }, 60_000);
});

describe('slow clients (slowloris) are closed after the HTTP deadlines', () => {
  const HEADERS_MS = 1_000;
  const REQUEST_MS = 2_000;
  const t = useTestApp({ HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) });

  /** Sends `text` one byte every `everyMs` until the socket closes. */
  function dribble(c: RawConnection, text: string, everyMs: number): void {
    let next = 0;
    const timer = setInterval(() => {
      if (c.closed || next >= text.length) return clearInterval(timer);
      c.socket.write(text[next++]!);
    }, everyMs);
    void c.done.then(() => clearInterval(timer));
  }

  it('headers one byte at a time, a body one byte at a time, and silent sockets: all answered 408 and closed', async () => {
    const id = await openCheckout(t);
    const request = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n`;
    const slowHeaders = await flood(t, '127.0.0.3', 100);
    for (const c of slowHeaders) dribble(c, request, 200);
    const slowBodies = await flood(t, '127.0.0.4', 100);
    for (const c of slowBodies) {
      c.socket.write(request);
      dribble(c, '{'.repeat(1000), 200);
    }
    const silent = await flood(t, '127.0.0.5', 100);
    // The authenticated client is served while they hang on.
    expect((await readCheckout(t, id)).body.data?.checkout?.id).toBe(id);

    // The test's timeout bounds the wait: without the deadlines these sockets would live for minutes
    // (headers at one byte per 200 ms take 20 s, the bodies 200 s).
    const all = [...slowHeaders, ...slowBodies, ...silent];
    await Promise.all(all.map((c) => c.done));
    for (const c of all) expect(c.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  }, 30_000);

  it('an SSE stream and a WebSocket subscription outlive the request deadline, and still deliver the change', async () => {
    const id = await openCheckout(t);
    const controller = new AbortController();
    const sse = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${t.keys.a}` },
      body: JSON.stringify({ query: print(CheckoutStatusChangedDocument), variables: { id } }),
      signal: controller.signal,
    });
    expect(sse.status).toBe(200);
    let streamed = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
        streamed += decoder.decode(chunk, { stream: true });
      }
    })().catch(() => undefined);
    const ws = recordSubscription(scopedWsClient(t.url, t.keys.a!), CheckoutStatusChangedDocument, { id });
    await expect.poll(() => streamed.includes('"status":"OPEN"') && ws.events.length === 1).toBe(true);

    // Past the request deadline, and past node's next check of it.
    await new Promise((resolve) => setTimeout(resolve, REQUEST_MS + 2_000));
    const outcome = await t.request(RecordCheckoutOutcomeDocument, { input: { id, status: 'COMPLETED' } });
    expect(outcome.data?.recordCheckoutOutcome.__typename).toBe('RecordCheckoutOutcomeSuccess');
    await expect.poll(() => streamed.includes('"status":"COMPLETED"')).toBe(true);
    await ws.done;
    expect(ws.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['OPEN', 'COMPLETED']);
    controller.abort();
    await reading;
  }, 30_000);
});

/** Opens a raw graphql-ws socket, sends `connection_init` with `payload`, resolves with its close code (or 'acked'). */
function keylessSocket(
  t: TestApp,
  payload: Record<string, unknown> = {},
): { acked: Promise<void>; closed: Promise<number>; socket: WebSocket } {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  let ack: () => void;
  const acked = new Promise<void>((resolve) => (ack = resolve));
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
  socket.on('message', (data) => {
    if ((JSON.parse(String(data)) as { type: string }).type === 'connection_ack') ack();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  return { acked, closed, socket };
}

describe('WebSockets without a key in production', () => {
  const production = useTestApp({ NODE_ENV: 'production' });

  it('300 connection_init without a key are refused with 4403 at once; a socket with a key is served', async () => {
    const id = await openCheckout(production);
    const before = await metricOf(production, REFUSED, { reason: 'websocket_no_key' });
    const sockets = Array.from({ length: 300 }, () => keylessSocket(production));
    const codes = await Promise.all(sockets.map((s) => s.closed));
    expect(new Set(codes)).toEqual(new Set([4403]));
    await expect.poll(() => production.app.webSocket.clientCount).toBe(0);
    expect(await metricOf(production, REFUSED, { reason: 'websocket_no_key' })).toBe(before + 300);

    // A wrong key too (4403, counted apart); a right one is served.
    expect(await keylessSocket(production, { authorization: 'Bearer not-a-key-at-all' }).closed).toBe(4403);
    expect(await metricOf(production, REFUSED, { reason: 'websocket_bad_key' })).toBeGreaterThanOrEqual(1);
    const watched = recordSubscription(
      scopedWsClient(production.url, production.keys.a!),
      CheckoutStatusChangedDocument,
      { id },
    );
    await expect.poll(() => watched.events.length).toBe(1);
    expect((await readCheckout(production, id)).body.data?.checkout?.id).toBe(id);
    watched.dispose();
  }, 30_000);
});

describe('WebSockets without a key with GraphiQL on: closed unless an operation authenticates in time', () => {
  // Long enough that an operation sent right after the ack starts in time on a loaded machine.
  const AUTH_MS = 1_500;
  const t = useTestApp({ NODE_ENV: 'production', GRAPHIQL: 'on', LIMIT_WS_AUTH_TIMEOUT_MS: String(AUTH_MS) });

  it('a keyless socket that runs nothing is closed with 4401; one whose operation brings a key stays', async () => {
    const idle = keylessSocket(t);
    await idle.acked;
    expect(await idle.closed).toBe(4401);
    expect(await metricOf(t, REFUSED, { reason: 'websocket_auth_timeout' })).toBeGreaterThanOrEqual(1);

    const id = await openCheckout(t);
    const graphiql = keylessSocket(t);
    await graphiql.acked;
    const answers: string[] = [];
    graphiql.socket.on('message', (data) => answers.push(String(data)));
    const subscribe = (opId: string, authorization: string) =>
      graphiql.socket.send(
        JSON.stringify({
          id: opId,
          type: 'subscribe',
          payload: { query: print(CheckoutDocument), variables: { id }, extensions: { headers: { authorization } } },
        }),
      );
    subscribe('1', `Bearer ${t.keys.a}`);
    await expect.poll(() => answers.some((a) => a.includes('"id":"1"') && a.includes(id))).toBe(true);
    // Well past the deadline: still open, and still serving.
    await new Promise((resolve) => setTimeout(resolve, AUTH_MS * 2));
    expect(graphiql.socket.readyState).toBe(WebSocket.OPEN);
    subscribe('2', `Bearer ${t.keys.a}`);
    await expect.poll(() => answers.some((a) => a.includes('"id":"2"') && a.includes(id))).toBe(true);
    graphiql.socket.close();
    await graphiql.closed;
  }, 30_000);

  it('a keyless socket whose operations bring only wrong keys is closed with 4401 too', async () => {
    const s = keylessSocket(t);
    await s.acked;
    s.socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: '{ __typename }', extensions: { headers: { authorization: 'Bearer wrong-wrong-wrong' } } },
      }),
    );
    expect(await s.closed).toBe(4401);
  }, 30_000);
});

describe('the HTTP deadlines are what node:http is given', () => {
  it('an app started with other values uses them (configuration reaches the server)', async () => {
    const t = await startScopedTestApp({ HTTP_HEADERS_TIMEOUT_MS: '700', HTTP_REQUEST_TIMEOUT_MS: '900' });
    const c = rawConnection(t, '127.0.0.6');
    await c.connected;
    await c.done;
    expect(c.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  }, 30_000);
});
