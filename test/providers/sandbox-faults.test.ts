import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ProviderName } from '../../src/domain/checkout.js';
import { PayerVaultClient } from '../../src/providers/payervault/client.js';
import { startPayerVaultSandbox } from '../../src/providers/payervault/sandbox.js';
import { ProviderResilience } from '../../src/providers/resilience.js';
import {
  isLoopbackAddress,
  SANDBOX_FAULT_KINDS,
  type SandboxFaultKind,
  type SandboxFaultsState,
} from '../../src/providers/sandbox-faults.js';
import type { RunningSandbox } from '../../src/providers/sandbox-http.js';
import { startSandboxes } from '../../src/providers/sandboxes.js';
import { SmartcheckoutClient } from '../../src/providers/smartcheckout/client.js';
import { startSmartcheckoutSandbox } from '../../src/providers/smartcheckout/sandbox.js';
import { StanClient } from '../../src/providers/stan/client.js';
import { startStanSandbox } from '../../src/providers/stan/sandbox.js';
import { pause } from '../support/async.js';
import { providerErrorOf } from '../support/errors.js';

const SC_KEY = 'sk_faults_key';
const PV = { accessKey: 'pv-faults-key', accessSecret: 'pv-faults-secret' };
const STAN = { clientId: 'stan-faults-client', clientSecret: 'stan-faults-secret' };
const STAN_AUTH = `Basic ${Buffer.from(`${STAN.clientId}:${STAN.clientSecret}`).toString('base64')}`;
const STAN_BODY = {
  return_url: 'https://shop.example/return',
  line_items: [{ product_id: 'p1', quantity: 2, unit_price: 1500 }],
};
const SC_BODY = { url: 'https://store.test/item', user_data: { email: 'buyer@example.com' } };

let smartcheckout: RunningSandbox;
let payervault: RunningSandbox;
let stan: RunningSandbox;
/** A Smartcheckout checkout created up front, the target of the `status` operation. */
let checkoutId: string;

beforeAll(async () => {
  [smartcheckout, payervault, stan] = await Promise.all([
    startSmartcheckoutSandbox({ apiKey: SC_KEY, faults: true }),
    startPayerVaultSandbox({ ...PV, faults: true }),
    startStanSandbox({ ...STAN, faults: true }),
  ]);
  checkoutId = (await scClient().createCheckout(SC_BODY)).checkout_id;
});
afterAll(() => Promise.all([smartcheckout, payervault, stan].map((sandbox) => sandbox.close())));

// One request per call, and no breaker opening after a run of injected failures: these tests are
// about what the sandbox sends, not about the clients' retry policy.
const singleAttempt = (provider: ProviderName) =>
  new ProviderResilience(provider, { getRetries: 0, breakerThreshold: 1_000_000 });
const scClient = (timeoutMs = 2000) =>
  new SmartcheckoutClient({
    baseUrl: smartcheckout.url,
    apiKey: SC_KEY,
    timeoutMs,
    resilience: singleAttempt('SMARTCHECKOUT'),
  });
const pvClient = (timeoutMs = 2000) =>
  new PayerVaultClient({ baseUrl: payervault.url, ...PV, timeoutMs, resilience: singleAttempt('PAYERVAULT') });
const stanClient = (timeoutMs = 2000) =>
  new StanClient({ baseUrl: stan.url, ...STAN, timeoutMs, resilience: singleAttempt('STAN') });

/** One documented operation of one sandbox, driven by the real client or by raw HTTP. */
interface Target {
  name: string;
  operation: string;
  sandbox(): RunningSandbox;
  /** The operation through the provider's real client. */
  call(timeoutMs?: number): Promise<unknown>;
  /** The same operation as a raw HTTP request. */
  raw(): { method: string; path: string; headers: Record<string, string>; body?: string };
}

const TARGETS: Target[] = [
  {
    name: 'Smartcheckout create',
    operation: 'create',
    sandbox: () => smartcheckout,
    call: (timeoutMs) => scClient(timeoutMs).createCheckout(SC_BODY),
    raw: () => ({
      method: 'POST',
      path: '/v0/checkout',
      headers: { authorization: `Bearer ${SC_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(SC_BODY),
    }),
  },
  {
    name: 'Smartcheckout status',
    operation: 'status',
    sandbox: () => smartcheckout,
    call: (timeoutMs) => scClient(timeoutMs).getCheckout(checkoutId),
    raw: () => ({ method: 'GET', path: `/v0/checkout/${checkoutId}`, headers: { authorization: `Bearer ${SC_KEY}` } }),
  },
  {
    name: 'PayerVault link',
    operation: 'link',
    sandbox: () => payervault,
    call: (timeoutMs) => pvClient(timeoutMs).getCheckoutLink('customer-42'),
    raw: () => ({
      method: 'GET',
      path: '/api/v1/checkout-link/customer-42',
      headers: { accessKey: PV.accessKey, accessSecret: PV.accessSecret },
    }),
  },
  {
    name: 'Stan create',
    operation: 'create',
    sandbox: () => stan,
    call: (timeoutMs) => stanClient(timeoutMs).createCheckout(STAN_BODY),
    raw: () => ({
      method: 'POST',
      path: '/v1/checkouts',
      headers: { authorization: STAN_AUTH, 'content-type': 'application/json' },
      body: JSON.stringify(STAN_BODY),
    }),
  },
];

async function admin(sandbox: RunningSandbox, method: string, body?: unknown): Promise<Response> {
  return fetch(`${sandbox.url}/__faults`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function addFault(
  sandbox: RunningSandbox,
  spec: Record<string, unknown>,
): Promise<{ id: string; remaining: number }> {
  const response = await admin(sandbox, 'POST', spec);
  const body = (await response.json()) as { id: string; remaining: number };
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function stateOf(sandbox: RunningSandbox): Promise<SandboxFaultsState> {
  const response = await admin(sandbox, 'GET');
  expect(response.status).toBe(200);
  return (await response.json()) as SandboxFaultsState;
}

async function clear(sandbox: RunningSandbox): Promise<void> {
  expect((await admin(sandbox, 'DELETE')).status).toBe(204);
}

/** Counter changes of `operation` while `action` runs. */
async function countersDuring(
  target: Target,
  action: () => Promise<void>,
): Promise<{ received: number; processed: number }> {
  const before = (await stateOf(target.sandbox())).requests[target.operation]!;
  await action();
  const after = (await stateOf(target.sandbox())).requests[target.operation]!;
  return { received: after.received - before.received, processed: after.processed - before.processed };
}

/** What one raw HTTP exchange produced on the wire. */
interface RawExchange {
  bytes: Buffer;
  /** Socket error code (ECONNRESET...), null if the connection ended cleanly or is still open. */
  error: string | null;
  /** False when `waitMs` ran out with the connection still open. */
  closed: boolean;
  status: number | null;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends one request on a fresh socket and records every byte until the server closes it or `waitMs` passes. */
function rawExchange(target: Target, waitMs = 3000): Promise<RawExchange> {
  const { method, path, headers, body } = target.raw();
  const { hostname, port } = new URL(target.sandbox().url);
  const lines = [
    `${method} ${path} HTTP/1.1`,
    `host: ${hostname}:${port}`,
    'connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let error: string | null = null;
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      const bytes = Buffer.concat(chunks);
      const split = bytes.indexOf('\r\n\r\n');
      const head = split >= 0 ? bytes.subarray(0, split).toString('latin1').split('\r\n') : [];
      const parsedHeaders: Record<string, string> = {};
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        parsedHeaders[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        bytes,
        error,
        closed,
        status: head[0] ? Number(head[0].split(' ')[1]) : null,
        headers: parsedHeaders,
        body: split >= 0 ? bytes.subarray(split + 4) : Buffer.alloc(0),
      });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => finish(true));
    socket.write(`${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
  });
}

/** The fault spec used for each kind in the client-level table, and the processed count it implies. */
const KIND_CASES: Record<SandboxFaultKind, { spec: Record<string, unknown>; processed: 0 | 1; timeoutMs?: number }> = {
  latency: { spec: { latencyMs: 300 }, processed: 1 },
  status: { spec: { status: 502 }, processed: 0 },
  rate_limit: { spec: { retryAfterSeconds: 7 }, processed: 0 },
  reset: { spec: {}, processed: 1 },
  hang: { spec: {}, processed: 1, timeoutMs: 300 },
  malformed_json: { spec: {}, processed: 1 },
  wrong_content_type: { spec: {}, processed: 1 },
  truncated_body: { spec: {}, processed: 1 },
};

/** What the real client makes of each fault. */
async function expectClientEffect(kind: SandboxFaultKind, outcome: Promise<unknown>, startedAt: number): Promise<void> {
  switch (kind) {
    case 'latency':
      await expect(outcome).resolves.toBeTruthy();
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
      return;
    case 'status': {
      const error = await providerErrorOf(outcome);
      expect(error).toMatchObject({
        httpStatus: 502,
        retryable: true,
        providerMessage: 'Sandbox fault: injected HTTP 502',
      });
      return;
    }
    case 'rate_limit': {
      const error = await providerErrorOf(outcome);
      expect(error).toMatchObject({ httpStatus: 429, retryable: true, retryAfterMs: 7000 });
      return;
    }
    case 'reset': {
      const error = await providerErrorOf(outcome);
      expect(error).toMatchObject({ httpStatus: null, retryable: true, delivery: 'maybe' });
      expect(error.message).toMatch(/could not be reached \(ECONNRESET\)/);
      return;
    }
    case 'hang': {
      const error = await providerErrorOf(outcome);
      expect(error).toMatchObject({ httpStatus: null, retryable: true, delivery: 'maybe' });
      expect(error.message).toMatch(/did not answer within 300 ms/);
      expect(Date.now() - startedAt).toBeLessThan(2000);
      return;
    }
    case 'malformed_json':
    case 'wrong_content_type': {
      const error = await providerErrorOf(outcome);
      expect(error).toMatchObject({ httpStatus: 200, retryable: false });
      expect(error.message).toMatch(/without a JSON body/);
      return;
    }
    case 'truncated_body': {
      // The headers arrived, then the connection died mid-body: a network failure after delivery.
      const error = await providerErrorOf(outcome);
      expect(error).toMatchObject({ httpStatus: null, retryable: true, delivery: 'maybe' });
      expect(error.message).toMatch(/could not be reached/);
      return;
    }
  }
}

describe('every fault against every operation, through the real clients', () => {
  for (const target of TARGETS) {
    for (const kind of SANDBOX_FAULT_KINDS) {
      const { spec, processed, timeoutMs } = KIND_CASES[kind];
      it(`${target.name}: ${kind} breaks exactly one request (processed: ${processed}), then normal answers`, async () => {
        const sandbox = target.sandbox();
        await clear(sandbox);
        await addFault(sandbox, { operation: target.operation, fault: kind, ...spec });

        const faulty = await countersDuring(target, async () => {
          const startedAt = Date.now();
          await expectClientEffect(kind, target.call(timeoutMs ?? 2000), startedAt);
        });
        expect(faulty).toStrictEqual({ received: 1, processed });
        expect((await stateOf(sandbox)).faults).toStrictEqual([]);

        const normal = await countersDuring(target, async () => {
          await expect(target.call()).resolves.toBeTruthy();
        });
        expect(normal).toStrictEqual({ received: 1, processed: 1 });
      });
    }
  }
});

describe('what each fault puts on the wire', () => {
  for (const target of TARGETS) {
    describe(target.name, () => {
      it('reset: the connection is reset before any byte of the answer', async () => {
        await clear(target.sandbox());
        await addFault(target.sandbox(), { operation: target.operation, fault: 'reset' });
        const exchange = await rawExchange(target);
        expect(exchange).toMatchObject({ closed: true, error: 'ECONNRESET' });
        expect(exchange.bytes.length).toBe(0);
      });

      it('truncated_body: content-length of the whole body, half of it, then the connection closes', async () => {
        await clear(target.sandbox());
        const normal = await rawExchange(target);
        await addFault(target.sandbox(), { operation: target.operation, fault: 'truncated_body' });
        const exchange = await rawExchange(target);
        expect(exchange.closed).toBe(true);
        expect(exchange.status).toBe(200);
        const length = Number(exchange.headers['content-length']);
        expect(length).toBeGreaterThan(10);
        // The same body as a normal answer (ids differ, lengths barely): the sandbox cut its real answer.
        expect(Math.abs(length - normal.body.length)).toBeLessThan(10);
        expect(exchange.body.length).toBe(Math.floor(length / 2));
        expect(normal.body.toString().startsWith(exchange.body.toString().slice(0, 2))).toBe(true);
      });

      it('malformed_json: a 200 JSON answer whose body does not parse', async () => {
        await clear(target.sandbox());
        await addFault(target.sandbox(), { operation: target.operation, fault: 'malformed_json' });
        const exchange = await rawExchange(target);
        expect(exchange.status).toBe(200);
        expect(exchange.headers['content-type']).toMatch(/^application\/json/);
        expect(Number(exchange.headers['content-length'])).toBe(exchange.body.length);
        expect(exchange.body.toString()).toMatch(/^\{"[a-z_]+": $/);
        expect(() => JSON.parse(exchange.body.toString())).toThrow();
      });

      it('wrong_content_type: text/html and an HTML page quoting the real answer', async () => {
        await clear(target.sandbox());
        await addFault(target.sandbox(), { operation: target.operation, fault: 'wrong_content_type' });
        const exchange = await rawExchange(target);
        expect(exchange.status).toBe(200);
        expect(exchange.headers['content-type']).toBe('text/html; charset=utf-8');
        const html = exchange.body.toString();
        expect(Number(exchange.headers['content-length'])).toBe(exchange.body.length);
        expect(html).toMatch(/^<!doctype html>/);
        expect(html).toContain('<pre>{&#34;');
      });

      it('status and rate_limit defaults: 503 with {message}, 429 with Retry-After: 1', async () => {
        const sandbox = target.sandbox();
        await clear(sandbox);
        await addFault(sandbox, { operation: target.operation, fault: 'status' });
        await addFault(sandbox, { operation: target.operation, fault: 'rate_limit' });
        const unavailable = await rawExchange(target);
        expect(unavailable.status).toBe(503);
        expect(unavailable.headers['content-type']).toMatch(/^application\/json/);
        expect(JSON.parse(unavailable.body.toString())).toStrictEqual({ message: 'Sandbox fault: injected HTTP 503' });
        const limited = await rawExchange(target);
        expect(limited.status).toBe(429);
        expect(limited.headers['retry-after']).toBe('1');
        expect(JSON.parse(limited.body.toString())).toHaveProperty('message');
      });

      it('hang: no byte at all while the client waits', async () => {
        await clear(target.sandbox());
        await addFault(target.sandbox(), { operation: target.operation, fault: 'hang' });
        const exchange = await rawExchange(target, 400);
        expect(exchange).toMatchObject({ closed: false, error: null });
        expect(exchange.bytes.length).toBe(0);
      });
    });
  }

  it('latency defaults to 1000 ms and the request is processed before the answer leaves', async () => {
    const target = TARGETS[3]!;
    await clear(stan);
    await addFault(stan, { operation: 'create', fault: 'latency' });
    const before = (await stateOf(stan)).requests.create!;
    const startedAt = Date.now();
    const pending = fetch(`${stan.url}/v1/checkouts`, {
      method: 'POST',
      headers: target.raw().headers,
      body: target.raw().body,
    });
    await pause(300);
    // The checkout already exists while its answer is still held back.
    const during = await stateOf(stan);
    expect(during.requests.create).toStrictEqual({ received: before.received + 1, processed: before.processed + 1 });
    expect(during.faults).toStrictEqual([]);
    const response = await pending;
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(990);
    expect(response.status).toBe(200);
    expect(await response.json()).toHaveProperty('is_testmode', true);
    expect((await stateOf(stan)).requests.create).toStrictEqual(during.requests.create);
  });

  it('latency longer than the client timeout: the client times out, yet the checkout was created', async () => {
    const target = TARGETS[0]!;
    await clear(smartcheckout);
    await addFault(smartcheckout, { operation: 'create', fault: 'latency', latencyMs: 1500 });
    const counters = await countersDuring(target, async () => {
      const error = await providerErrorOf(target.call(300));
      expect(error.message).toMatch(/did not answer within 300 ms/);
    });
    expect(counters).toStrictEqual({ received: 1, processed: 1 });
  });
});

describe('the fault queue', () => {
  const [scCreate, scStatus] = TARGETS as [Target, Target];

  it('count N breaks exactly N requests, then answers normally; remaining counts down', async () => {
    await clear(smartcheckout);
    const fault = await addFault(smartcheckout, { operation: 'status', fault: 'status', count: 3 });
    expect(fault).toMatchObject({ operation: 'status', fault: 'status', remaining: 3 });
    for (const remaining of [2, 1]) {
      expect((await providerErrorOf(scStatus.call())).httpStatus).toBe(503);
      expect((await stateOf(smartcheckout)).faults).toStrictEqual([
        { id: fault.id, operation: 'status', fault: 'status', remaining },
      ]);
    }
    expect((await providerErrorOf(scStatus.call())).httpStatus).toBe(503);
    expect((await stateOf(smartcheckout)).faults).toStrictEqual([]);
    await expect(scStatus.call()).resolves.toHaveProperty('id', checkoutId);
    await expect(scStatus.call()).resolves.toHaveProperty('id', checkoutId);
  });

  it('faults of one operation do not touch the other', async () => {
    await clear(smartcheckout);
    await addFault(smartcheckout, { operation: 'create', fault: 'status', status: 500 });
    await expect(scStatus.call()).resolves.toHaveProperty('id', checkoutId);
    expect((await stateOf(smartcheckout)).faults).toHaveLength(1);
    expect((await providerErrorOf(scCreate.call())).httpStatus).toBe(500);
  });

  it('serves faults of one operation in FIFO order', async () => {
    await clear(smartcheckout);
    await addFault(smartcheckout, { operation: 'create', fault: 'status', status: 500, count: 2 });
    await addFault(smartcheckout, { operation: 'create', fault: 'rate_limit', retryAfterSeconds: 3 });
    await addFault(smartcheckout, { operation: 'create', fault: 'status', status: 504 });
    const seen = [];
    for (let i = 0; i < 4; i += 1) seen.push((await providerErrorOf(scCreate.call())).httpStatus);
    expect(seen).toStrictEqual([500, 500, 429, 504]);
    await expect(scCreate.call()).resolves.toHaveProperty('status', 'processing');
  });

  it('"*" matches every operation, and an exact operation goes first even when queued later', async () => {
    await clear(smartcheckout);
    await addFault(smartcheckout, { operation: '*', fault: 'status', status: 501, count: 2 });
    await addFault(smartcheckout, { operation: 'create', fault: 'status', status: 502 });
    expect((await providerErrorOf(scCreate.call())).httpStatus).toBe(502);
    expect((await providerErrorOf(scCreate.call())).httpStatus).toBe(501);
    expect((await providerErrorOf(scStatus.call())).httpStatus).toBe(501);
    await expect(scStatus.call()).resolves.toBeTruthy();
    await expect(scCreate.call()).resolves.toBeTruthy();
  });

  it('"*" on single-operation sandboxes', async () => {
    for (const target of [TARGETS[2]!, TARGETS[3]!]) {
      await clear(target.sandbox());
      await addFault(target.sandbox(), { operation: '*', fault: 'status', status: 500 });
      expect((await providerErrorOf(target.call())).httpStatus).toBe(500);
      await expect(target.call()).resolves.toBeTruthy();
    }
  });

  it('DELETE clears queued faults and keeps the counters', async () => {
    await clear(payervault);
    await addFault(payervault, { operation: 'link', fault: 'reset', count: 5 });
    await addFault(payervault, { operation: '*', fault: 'hang' });
    const before = await stateOf(payervault);
    expect(before.faults.map((f) => f.fault)).toStrictEqual(['reset', 'hang']);
    const response = await admin(payervault, 'DELETE');
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    const after = await stateOf(payervault);
    expect(after).toStrictEqual({ faults: [], requests: before.requests });
    await expect(TARGETS[2]!.call()).resolves.toHaveProperty('url');
  });

  it('lists counters for every documented operation from the start', async () => {
    const fresh = await startStanSandbox({ ...STAN, faults: true });
    onTestFinished(() => fresh.close());
    expect(await stateOf(fresh)).toStrictEqual({ faults: [], requests: { create: { received: 0, processed: 0 } } });
    const scFresh = await startSmartcheckoutSandbox({ apiKey: SC_KEY, faults: true });
    onTestFinished(() => scFresh.close());
    const state = await stateOf(scFresh);
    expect(state.requests).toStrictEqual({
      create: { received: 0, processed: 0 },
      status: { received: 0, processed: 0 },
    });
  });

  it('auth-rejected requests count as received, not processed, and consume no fault', async () => {
    const wrongCredentials: Record<string, () => Promise<unknown>> = {
      'Smartcheckout create': () =>
        new SmartcheckoutClient({
          baseUrl: smartcheckout.url,
          apiKey: 'sk_wrong',
          timeoutMs: 2000,
          resilience: singleAttempt('SMARTCHECKOUT'),
        }).createCheckout(SC_BODY),
      'Smartcheckout status': () =>
        new SmartcheckoutClient({
          baseUrl: smartcheckout.url,
          apiKey: 'sk_wrong',
          timeoutMs: 2000,
          resilience: singleAttempt('SMARTCHECKOUT'),
        }).getCheckout(checkoutId),
      'PayerVault link': () =>
        new PayerVaultClient({
          baseUrl: payervault.url,
          accessKey: PV.accessKey,
          accessSecret: 'wrong',
          timeoutMs: 2000,
          resilience: singleAttempt('PAYERVAULT'),
        }).getCheckoutLink('c1'),
      'Stan create': () =>
        new StanClient({
          baseUrl: stan.url,
          clientId: STAN.clientId,
          clientSecret: 'wrong',
          timeoutMs: 2000,
          resilience: singleAttempt('STAN'),
        }).createCheckout(STAN_BODY),
    };
    for (const target of TARGETS) {
      await clear(target.sandbox());
      await addFault(target.sandbox(), { operation: target.operation, fault: 'status', status: 500 });
      const counters = await countersDuring(target, async () => {
        expect((await providerErrorOf(wrongCredentials[target.name]!())).httpStatus).toBe(401);
      });
      expect(counters, target.name).toStrictEqual({ received: 1, processed: 0 });
      expect((await stateOf(target.sandbox())).faults, target.name).toMatchObject([{ remaining: 1 }]);
      expect((await providerErrorOf(target.call())).httpStatus, target.name).toBe(500);
    }
  });

  it('requests the provider refuses count as received, not processed; a processed-kind fault keeps their status', async () => {
    await clear(stan);
    await addFault(stan, { operation: 'create', fault: 'malformed_json' });
    const counters = await countersDuring(TARGETS[3]!, async () => {
      const response = await fetch(`${stan.url}/v1/checkouts`, {
        method: 'POST',
        headers: { authorization: STAN_AUTH, 'content-type': 'application/json' },
        body: JSON.stringify({ return_url: 'https://shop.example/return', line_items: [] }),
      });
      expect(response.status).toBe(400);
      await expect(response.text()).resolves.toMatch(/^\{"message": $/);
    });
    expect(counters).toStrictEqual({ received: 1, processed: 0 });
    // The refused request consumed the fault.
    expect((await stateOf(stan)).faults).toStrictEqual([]);

    await clear(payervault);
    await addFault(payervault, { operation: 'link', fault: 'reset' });
    const empty = await countersDuring(TARGETS[2]!, async () => {
      await expect(pvClient().getCheckoutLink('empty-cart')).rejects.toThrow();
    });
    expect(empty).toStrictEqual({ received: 1, processed: 0 });
  });

  it('requests outside the documented operations pass through, uncounted, consuming nothing', async () => {
    await clear(smartcheckout);
    await clear(payervault);
    await addFault(smartcheckout, { operation: '*', fault: 'reset' });
    await addFault(payervault, { operation: '*', fault: 'reset' });
    const scBefore = await stateOf(smartcheckout);
    const pvBefore = await stateOf(payervault);
    expect((await fetch(`${smartcheckout.url}/v0/other`)).status).toBe(404);
    expect(
      (await fetch(`${smartcheckout.url}/v0/checkout`, { headers: { authorization: `Bearer ${SC_KEY}` } })).status,
    ).toBe(405);
    expect((await fetch(`${smartcheckout.url}/v0/checkout/${checkoutId}`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${payervault.url}/checkout/customer-42`)).status).toBe(200);
    expect((await fetch(`${payervault.url}/api/v1/checkout-link/`)).status).toBe(404);
    expect((await fetch(`${payervault.url}/api/v1/checkout-link/c1`, { method: 'POST' })).status).toBe(405);
    expect(await stateOf(smartcheckout)).toStrictEqual(scBefore);
    expect(await stateOf(payervault)).toStrictEqual(pvBefore);
    await clear(smartcheckout);
    await clear(payervault);
  });
});

describe('the admin endpoint', () => {
  it('POST answers 201 with the queued fault', async () => {
    await clear(stan);
    const response = await admin(stan, 'POST', { operation: 'create', fault: 'hang', count: 10_000 });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toStrictEqual({ id: expect.any(String), operation: 'create', fault: 'hang', remaining: 10_000 });
    expect((await stateOf(stan)).faults).toStrictEqual([body]);
    await clear(stan);
  });

  const INVALID: [string, unknown][] = [
    ['not JSON', '{"operation":'],
    ['an array', [{ operation: 'create', fault: 'hang' }]],
    ['no fault', { operation: 'create' }],
    ['no operation', { fault: 'hang' }],
    ['an unknown kind', { operation: 'create', fault: 'explode' }],
    ['an operation of another provider', { operation: 'link', fault: 'hang' }],
    ['count 0', { operation: 'create', fault: 'hang', count: 0 }],
    ['count 10001', { operation: 'create', fault: 'hang', count: 10_001 }],
    ['a fractional count', { operation: 'create', fault: 'hang', count: 1.5 }],
    ['a count as a string', { operation: 'create', fault: 'hang', count: '2' }],
    ['status 302', { operation: 'create', fault: 'status', status: 302 }],
    ['status 600', { operation: 'create', fault: 'status', status: 600 }],
    ['negative latency', { operation: 'create', fault: 'latency', latencyMs: -1 }],
    ['latency over 10 minutes', { operation: 'create', fault: 'latency', latencyMs: 600_001 }],
    ['negative Retry-After', { operation: 'create', fault: 'rate_limit', retryAfterSeconds: -1 }],
    ['latencyMs on a status fault', { operation: 'create', fault: 'status', latencyMs: 10 }],
    ['status on a rate_limit fault', { operation: 'create', fault: 'rate_limit', status: 500 }],
    ['retryAfterSeconds on a hang', { operation: 'create', fault: 'hang', retryAfterSeconds: 1 }],
    ['an unknown field', { operation: 'create', fault: 'hang', counts: 2 }],
  ];
  for (const [what, body] of INVALID) {
    it(`POST with ${what} answers 400 {message} and queues nothing`, async () => {
      await clear(stan);
      const response = await admin(stan, 'POST', body);
      expect(response.status).toBe(400);
      const json = (await response.json()) as { message: unknown };
      expect(typeof json.message).toBe('string');
      expect((await stateOf(stan)).faults).toStrictEqual([]);
    });
  }

  it('accepts 4xx statuses as well as 5xx', async () => {
    await clear(stan);
    await addFault(stan, { operation: 'create', fault: 'status', status: 409 });
    const error = await providerErrorOf(TARGETS[3]!.call());
    expect(error).toMatchObject({ httpStatus: 409, retryable: false });
  });

  it('other methods get 405 with Allow', async () => {
    const response = await admin(stan, 'PUT', {});
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('is a 404 like any unknown path when faults are off, and the sandboxes behave as before', async () => {
    const plain = await Promise.all([
      startSmartcheckoutSandbox({ apiKey: SC_KEY }),
      startPayerVaultSandbox(PV),
      startStanSandbox(STAN),
      startStanSandbox({ ...STAN, faults: false }),
    ]);
    onTestFinished(async () => {
      await Promise.all(plain.map((sandbox) => sandbox.close()));
    });
    for (const sandbox of plain) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const response = await admin(
          sandbox,
          method,
          method === 'POST' ? { operation: '*', fault: 'hang' } : undefined,
        );
        expect(response.status).toBe(404);
      }
    }
    const client = new StanClient({
      baseUrl: plain[2]!.url,
      ...STAN,
      timeoutMs: 2000,
      resilience: singleAttempt('STAN'),
    });
    await expect(client.createCheckout(STAN_BODY)).resolves.toHaveProperty('is_testmode', true);
  });

  it('startSandboxes passes the option to every sandbox', async () => {
    const config = {
      providers: {
        SMARTCHECKOUT: { credentials: { apiKey: SC_KEY } },
        PAYERVAULT: { credentials: PV },
        STAN: { credentials: STAN },
      },
    };
    const on = await startSandboxes(config, ['SMARTCHECKOUT', 'PAYERVAULT', 'STAN'], { faults: true });
    const off = await startSandboxes(config, ['SMARTCHECKOUT', 'PAYERVAULT', 'STAN']);
    onTestFinished(async () => {
      await Promise.all([on.close(), off.close()]);
    });
    for (const url of Object.values(on.urls)) expect((await fetch(`${url}/__faults`)).status).toBe(200);
    for (const url of Object.values(off.urls)) expect((await fetch(`${url}/__faults`)).status).toBe(404);
  });
});

describe('loopback only', () => {
  it('recognises loopback addresses in every spelling Node reports', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.0.9',
      '::1',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      '::FFFF:127.1.2.3',
      '::ffff:7f00:1',
    ]) {
      expect(isLoopbackAddress(address), address).toBe(true);
    }
    for (const address of [
      undefined,
      '',
      '10.0.0.1',
      '192.0.2.2',
      '128.0.0.1',
      '::2',
      '::',
      '::ffff:10.0.0.1',
      'fe80::1',
      'fe80::1%eth0',
      'localhost',
      '1::1',
    ]) {
      expect(isLoopbackAddress(address), String(address)).toBe(false);
    }
  });
  // Only loopback traffic is allowed on these machines, so the 403 path is shown through the
  // predicate the endpoint uses rather than by connecting from another address.
});

describe('close() while faults hold connections', () => {
  async function waitForProcessed(sandbox: RunningSandbox, operation: string, processed: number): Promise<void> {
    for (let i = 0; i < 100; i += 1) {
      if ((await stateOf(sandbox)).requests[operation]!.processed >= processed) return;
      await pause(20);
    }
    throw new Error('the request was never processed');
  }

  for (const [kind, spec] of [
    ['hang', {}],
    ['latency', { latencyMs: 60_000 }],
  ] as const) {
    it(`returns promptly with a ${kind} request open, and the client sees the connection end`, async () => {
      const sandbox = await startStanSandbox({ ...STAN, faults: true });
      await addFault(sandbox, { operation: 'create', fault: kind, count: 3, ...spec });
      const timers = () => process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;
      const timersBefore = timers();
      // No client timeout: only close() can end these requests.
      const pending = [1, 2].map(() =>
        fetch(`${sandbox.url}/v1/checkouts`, {
          method: 'POST',
          headers: { authorization: STAN_AUTH, 'content-type': 'application/json' },
          body: JSON.stringify(STAN_BODY),
        }).then(
          () => 'answered',
          () => 'failed',
        ),
      );
      await waitForProcessed(sandbox, 'create', 2);
      const startedAt = Date.now();
      await sandbox.close();
      expect(Date.now() - startedAt).toBeLessThan(1000);
      expect(await Promise.all(pending)).toStrictEqual(['failed', 'failed']);
      // A held-back answer's timer goes with its connection instead of keeping the process alive.
      await new Promise((resolve) => setImmediate(resolve));
      expect(timers()).toBeLessThanOrEqual(timersBefore);
    });
  }
});
