import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { count } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { checkoutEvents, checkouts, webhookDeliveries } from '../src/db/schema.js';
import { CreateWebhookEndpointDocument, RefreshCheckoutDocument } from './generated/graphql.js';
import { expectType, startScopedTestApp, useTestApp, type TestApp } from './support/app.js';
import { pause } from './support/async.js';
import { providersAt, TEST_PROVIDER_CREDENTIALS } from './support/env.js';
import { closedOrigin } from './support/net.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from './support/recording-server.js';
import { checkoutOf, clean, listedIds, payerVaultResult, smartResult, stanResult } from './support/seed.js';

/*
 * Resilient provider calls end to end over HTTP: the circuit breaker (threshold, fail fast with
 * nothing leaving the process and nothing written, half-open probe that closes or re-opens it),
 * retries of GETs only and never against Retry-After, and the connect timeout. Claims are counts of
 * the requests a recording server received and of rows; the only waits are the breaker's half-open delay.
 */

const SMART_ID = '0b6c1e52-8f0f-4d7c-a3c4-6f3a2f0e9b21';
// Long enough that seven creates in a row on a loaded CI machine all fall inside the open window.
const HALF_OPEN_MS = 4000;

type Recorder = Awaited<ReturnType<typeof startRecordingServer>>;

const ok = {
  smartPost: { status: 200, body: { checkout_id: SMART_ID, status: 'processing' } },
  smartGet: { status: 200, body: { id: SMART_ID, status: 'processing' } },
  stanPost: { status: 200, body: { id: 'stan_co_res', is_testmode: false } },
  payerVaultGet: { status: 200, body: { url: 'https://pay.example/res' } },
} satisfies Record<string, CannedResponse>;

const unavailable: CannedResponse = { status: 503, body: { message: 'Service unavailable' } };

function isSmartPost(r: RecordedRequest) {
  return r.method === 'POST' && r.path === '/v0/checkout';
}
function isSmartGet(r: RecordedRequest) {
  return r.method === 'GET' && r.path === `/v0/checkout/${SMART_ID}`;
}
function isStanPost(r: RecordedRequest) {
  return r.method === 'POST' && r.path === '/v1/checkouts';
}
function isPayerVaultGet(r: RecordedRequest) {
  return r.method === 'GET' && r.path.startsWith('/api/v1/checkout-link/');
}

/** Documented answers for everything unless `override` has something to say. */
function docs(override: (request: RecordedRequest) => CannedResponse | undefined = () => undefined) {
  return (request: RecordedRequest): CannedResponse => {
    const special = override(request);
    if (special) return special;
    if (isSmartPost(request)) return ok.smartPost;
    if (isSmartGet(request)) return ok.smartGet;
    if (isStanPost(request)) return ok.stanPost;
    if (isPayerVaultGet(request)) return ok.payerVaultGet;
    return { status: 404, body: { message: 'not found' } };
  };
}

/** `refreshCheckout`'s result union. */
const refreshResult = (t: TestApp, id: string) =>
  t.request(RefreshCheckoutDocument, { id }).then((r) => clean(r).refreshCheckout);

/** Runs one create and returns its result and the one checkout row it left. */
async function createAndFindRow<R>(t: TestApp, create: () => Promise<R>) {
  const before = await listedIds(t);
  const result = await create();
  const created = (await listedIds(t)).filter((id) => !before.includes(id));
  expect(created).toHaveLength(1);
  return { result, row: (await checkoutOf(t, created[0]!))! };
}

/** Every checkout, status event and webhook delivery in the app's database (one of its own: see `isolate`). */
async function writtenRows(t: TestApp) {
  const { db } = t.app.database;
  const [[rows], [events], [deliveries]] = await Promise.all([
    db.select({ n: count() }).from(checkouts),
    db.select({ n: count() }).from(checkoutEvents),
    db.select({ n: count() }).from(webhookDeliveries),
  ]);
  return { checkouts: rows!.n, events: events!.n, deliveries: deliveries!.n };
}

/**
 * Gives tenant `a` a webhook endpoint, so every status change it records also writes a delivery:
 * a create that wrote anything would show in the deliveries count. The endpoint is a closed port;
 * its deliveries fail and are retried, which adds attempts, never deliveries.
 */
async function subscribeToWebhooks(t: TestApp) {
  const result = clean(
    await t.request(CreateWebhookEndpointDocument, { input: { url: `${await closedOrigin()}/hooks` } }),
  ).createWebhookEndpoint;
  expectType(result, 'CreateWebhookEndpointSuccess');
}

/** Waits out the breaker's half-open delay (the one wait this scenario needs). */
const halfOpenDelay = () => pause(HALF_OPEN_MS + 150);

describe('circuit breaker on Stan create (threshold 3, half-open after 1 s)', () => {
  let recorder: Recorder;
  let respond: (request: RecordedRequest) => CannedResponse;
  const stanCount = () => recorder.requests.filter(isStanPost).length;

  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
  });
  afterAll(async () => {
    await recorder?.close();
  });

  /**
   * A fresh app (fresh breakers, a database of its own) whose Stan answers 503; returns it after
   * tripping the breaker, with the idempotency keys of the three creates that tripped it.
   */
  async function trippedApp(): Promise<{ t: TestApp; keys: string[] }> {
    recorder.requests.length = 0;
    respond = docs((r) => (isStanPost(r) ? unavailable : undefined));
    const t = await startScopedTestApp(
      providersAt(recorder.url, {
        PROVIDER_BREAKER_THRESHOLD: '3',
        PROVIDER_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
      }),
      { isolate: 'resilience' },
    );
    await subscribeToWebhooks(t);
    const keys: string[] = [];
    for (let i = 1; i <= 3; i++) {
      keys.push(`trip-${randomUUID()}`);
      const { result, row } = await createAndFindRow(t, () => stanResult(t, { idempotencyKey: keys.at(-1) }));
      expect(expectType(result, 'ProviderError')).toMatchObject({
        provider: 'STAN',
        retryable: false,
        httpStatus: 503,
        providerMessage: 'Service unavailable',
      });
      expect(stanCount()).toBe(i);
      // The 503 came from the provider after it received the POST: ambiguous, so UNKNOWN, and not
      // retryable (a retry under a new key could buy twice).
      expect(row.status).toBe('UNKNOWN');
      expect(row.notes).toMatch(/may have created/);
    }
    return { t, keys };
  }

  it('fails the 4th..10th calls fast with a retryable ProviderError, sending and writing nothing; a successful probe closes it', async () => {
    const { t, keys } = await trippedApp();
    const before = await writtenRows(t);
    // What a create writes is counted: each tripping create wrote its row, two events and their deliveries.
    expect(before).toEqual({ checkouts: 3, events: 6, deliveries: 6 });
    const rejectedLines = () =>
      t.logs.filter((line) => /"provider":"STAN","method":"POST","outcome":"rejected"/.test(line)).length;
    expect(rejectedLines()).toBe(0);
    for (let i = 4; i <= 10; i++) {
      const error = expectType(await stanResult(t, { idempotencyKey: `fast-${randomUUID()}` }), 'ProviderError');
      expect(error).toMatchObject({ provider: 'STAN', retryable: true, httpStatus: null, providerMessage: null });
      expect(error.message).toMatch(/^Stan is unavailable: 3 calls in a row failed/);
      // Nothing left the process, and nothing was recorded: no checkout, event or webhook delivery.
      expect(error.leftBehind).toBeNull();
      expect(stanCount()).toBe(3);
    }
    expect(await writtenRows(t)).toEqual(before);
    // Operators still see each refusal as a call the breaker rejected (its log line and metric).
    expect(rejectedLines()).toBe(7);
    // A key that has an answer still replays it while the breaker is open (the 503, not the breaker's error).
    expect(expectType(await stanResult(t, { idempotencyKey: keys[0] }), 'ProviderError')).toMatchObject({
      retryable: false,
      httpStatus: 503,
    });
    expect(await writtenRows(t)).toEqual(before);
    // One breaker per provider: the others are unaffected.
    expectType(await payerVaultResult(t), 'CreatePayerVaultCheckoutSuccess');
    expectType(await smartResult(t), 'CreateSmartCheckoutSuccess');
    expect(recorder.requests.filter(isPayerVaultGet)).toHaveLength(1);
    expect(recorder.requests.filter(isSmartPost)).toHaveLength(1);

    await halfOpenDelay();
    respond = docs();
    // The probe is recorded first, like every request that may reach the provider.
    const { result, row } = await createAndFindRow(t, () => stanResult(t));
    expect(expectType(result, 'CreateStanCheckoutSuccess').checkout.status).toBe('OPEN');
    expect(row.events.map((e) => e.status)).toEqual(['PENDING', 'OPEN']);
    expect(stanCount()).toBe(4);
    // Closed again: calls flow to the provider.
    for (let i = 5; i <= 7; i++) {
      expectType(await stanResult(t), 'CreateStanCheckoutSuccess');
      expect(stanCount()).toBe(i);
    }
  });

  it('re-opens when the half-open probe fails', async () => {
    const { t } = await trippedApp();
    expect(expectType(await stanResult(t), 'ProviderError').httpStatus).toBeNull();
    expect(stanCount()).toBe(3);

    await halfOpenDelay();
    // The probe reaches the (still failing) provider...
    expect(expectType(await stanResult(t), 'ProviderError')).toMatchObject({ retryable: false, httpStatus: 503 });
    expect(stanCount()).toBe(4);
    // ...and the breaker opens again at once: the next calls send nothing.
    for (let i = 0; i < 3; i++) {
      const error = expectType(await stanResult(t), 'ProviderError');
      expect(error).toMatchObject({ retryable: true, httpStatus: null });
      expect(error.message).toMatch(/unavailable/);
    }
    expect(stanCount()).toBe(4);

    // A second probe after another delay succeeds and closes it.
    await halfOpenDelay();
    respond = docs();
    expectType(await stanResult(t), 'CreateStanCheckoutSuccess');
    expectType(await stanResult(t), 'CreateStanCheckoutSuccess');
    expect(stanCount()).toBe(6);
  });
});

describe('circuit breaker on Smartcheckout status GETs (refreshCheckout)', () => {
  let recorder: Recorder;
  let respond: (request: RecordedRequest) => CannedResponse;
  const statusGets = () => recorder.requests.filter(isSmartGet).length;
  const posts = () => recorder.requests.filter(isSmartPost).length;

  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
    respond = docs();
  });
  afterAll(async () => {
    await recorder?.close();
  });
  const t = useTestApp(() =>
    providersAt(recorder.url, { PROVIDER_BREAKER_THRESHOLD: '3', PROVIDER_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS) }),
  );

  it('opens after 3 failed GETs, fails refreshes and creates fast, and closes after a good probe', async () => {
    const created = expectType(await smartResult(t), 'CreateSmartCheckoutSuccess').checkout;
    expect(created.status).toBe('PROCESSING');
    expect(posts()).toBe(1);

    respond = docs((r) => (isSmartGet(r) ? unavailable : undefined));
    for (let i = 1; i <= 3; i++) {
      expect(expectType(await refreshResult(t, created.id), 'ProviderError')).toMatchObject({
        provider: 'SMARTCHECKOUT',
        retryable: true,
        httpStatus: 503,
      });
      expect(statusGets()).toBe(i);
    }
    for (let i = 0; i < 4; i++) {
      const error = expectType(await refreshResult(t, created.id), 'ProviderError');
      expect(error).toMatchObject({ provider: 'SMARTCHECKOUT', retryable: true, httpStatus: null });
      expect(error.message).toMatch(/Smartcheckout is unavailable/);
    }
    expect(statusGets()).toBe(3);
    // The breaker is per provider, shared by GETs and POSTs: a create fails fast too, sending nothing
    // and recording nothing.
    const listed = await listedIds(t);
    const failedFast = expectType(await smartResult(t), 'ProviderError');
    expect(failedFast).toMatchObject({ retryable: true, httpStatus: null, leftBehind: null });
    expect(failedFast.message).toMatch(/Smartcheckout is unavailable/);
    expect(await listedIds(t)).toEqual(listed);
    expect(posts()).toBe(1);
    // The failed refreshes changed nothing on the checkout.
    expect(await checkoutOf(t, created.id)).toMatchObject({
      status: 'PROCESSING',
      events: [{ status: 'PENDING' }, { status: 'PROCESSING' }],
    });

    await halfOpenDelay();
    respond = docs((r) =>
      isSmartGet(r)
        ? { status: 200, body: { id: SMART_ID, status: 'completed', amount_str: '12.50', currency: 'USD' } }
        : undefined,
    );
    const probed = expectType(await refreshResult(t, created.id), 'RefreshCheckoutSuccess');
    expect(probed.checkout).toMatchObject({ status: 'COMPLETED', total: { amount: 1250, currency: 'USD' } });
    expect(statusGets()).toBe(4);
    // Closed: creates reach the provider again.
    expectType(await smartResult(t), 'CreateSmartCheckoutSuccess');
    expect(posts()).toBe(2);
  });
});

describe('retries of safe requests only (PROVIDER_GET_RETRIES=2)', () => {
  let recorder: Recorder;
  let respond: (request: RecordedRequest) => CannedResponse;
  let processing: string;

  beforeAll(async () => {
    recorder = await startRecordingServer((request) => respond(request));
    respond = docs();
  });
  afterAll(async () => {
    await recorder?.close();
  });
  const t = useTestApp(() => providersAt(recorder.url, { PROVIDER_GET_RETRIES: '2' }));
  // biome-ignore lint/suspicious/noDuplicateTestHooks: the checkout needs the app, which useTestApp starts between the two hooks.
  beforeAll(async () => {
    processing = expectType(await smartResult(t), 'CreateSmartCheckoutSuccess').checkout.id;
  });
  beforeEach(() => {
    recorder.requests.length = 0;
  });

  /** Answers `failure` to the first `n` matching requests, then the documented answer. */
  function failFirst(match: (r: RecordedRequest) => boolean, n: number, failure: CannedResponse) {
    let seen = 0;
    return docs((r) => (match(r) && seen++ < n ? failure : undefined));
  }

  it('a status GET answered 503 twice, then 200: refresh succeeds after exactly 3 GETs', async () => {
    respond = failFirst(isSmartGet, 2, unavailable);
    const result = expectType(await refreshResult(t, processing), 'RefreshCheckoutSuccess');
    expect(result.checkout.status).toBe('PROCESSING');
    expect(recorder.requests.filter(isSmartGet)).toHaveLength(3);
    expect(recorder.requests).toHaveLength(3);
  });

  it('a status GET failing every time is tried 1 + 2 times, then reported', async () => {
    respond = docs((r) => (isSmartGet(r) ? unavailable : undefined));
    expect(expectType(await refreshResult(t, processing), 'ProviderError')).toMatchObject({
      retryable: true,
      httpStatus: 503,
    });
    expect(recorder.requests.filter(isSmartGet)).toHaveLength(3);
  });

  it('a 503 with Retry-After is not retried (1 GET)', async () => {
    respond = failFirst(isSmartGet, 1, { ...unavailable, headers: { 'retry-after': '1' } });
    expect(expectType(await refreshResult(t, processing), 'ProviderError')).toMatchObject({
      retryable: true,
      httpStatus: 503,
    });
    expect(recorder.requests.filter(isSmartGet)).toHaveLength(1);
  });

  it('a 429 and a 404 are not retried (1 GET each)', async () => {
    respond = failFirst(isSmartGet, 1, { status: 429, body: { message: 'slow down' } });
    expect(expectType(await refreshResult(t, processing), 'ProviderError')).toMatchObject({
      retryable: true,
      httpStatus: 429,
    });
    expect(recorder.requests.filter(isSmartGet)).toHaveLength(1);

    recorder.requests.length = 0;
    respond = failFirst(isSmartGet, 1, { status: 404, body: { message: 'no such checkout' } });
    expect(expectType(await refreshResult(t, processing), 'ProviderError')).toMatchObject({
      retryable: false,
      httpStatus: 404,
    });
    expect(recorder.requests.filter(isSmartGet)).toHaveLength(1);
  });

  it('a create POST answered 503 is sent exactly once (Smartcheckout and Stan)', async () => {
    respond = docs((r) => (isSmartPost(r) || isStanPost(r) ? unavailable : undefined));
    expect(expectType(await smartResult(t), 'ProviderError')).toMatchObject({ retryable: false, httpStatus: 503 });
    expect(expectType(await stanResult(t), 'ProviderError')).toMatchObject({ retryable: false, httpStatus: 503 });
    expect(recorder.requests.filter(isSmartPost)).toHaveLength(1);
    expect(recorder.requests.filter(isStanPost)).toHaveLength(1);
    expect(recorder.requests).toHaveLength(2);
  });

  it("PayerVault's link GET is retried too: 503 twice then a link after 3 GETs; an empty cart is an answer (1 GET)", async () => {
    respond = failFirst(isPayerVaultGet, 2, unavailable);
    const link = expectType(await payerVaultResult(t), 'CreatePayerVaultCheckoutSuccess');
    expect(link.checkout).toMatchObject({ status: 'OPEN', checkoutUrl: 'https://pay.example/res' });
    expect(recorder.requests.filter(isPayerVaultGet)).toHaveLength(3);

    recorder.requests.length = 0;
    respond = () => ({ status: 404, body: { message: 'No products in cart' } });
    expectType(await payerVaultResult(t, { customerId: 'cust-empty' }), 'EmptyCartError');
    expect(recorder.requests.filter(isPayerVaultGet)).toHaveLength(1);
  });
});

/**
 * A listener that never completes a TCP handshake: a child process listens with a backlog of 1
 * and then blocks its event loop, so it never accepts. Once its accept queue is full, Linux drops
 * further SYNs and a connect hangs until the client's connect timeout.
 */
async function unresponsiveListener(): Promise<{ url: string; close(): void }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').createServer();
       s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
  });
  // Fill the accept queue: connect until one connection no longer completes.
  const sockets: Socket[] = [];
  for (let i = 0; i < 10; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    sockets.push(socket);
    const connected = await Promise.race([
      new Promise<boolean>((resolve) => socket.once('connect', () => resolve(true))),
      pause(500).then(() => false),
    ]);
    if (!connected) break;
    if (i === 9) throw new Error('the accept queue never filled up');
  }
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      for (const socket of sockets) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}

describe('connection failures', () => {
  it('a connect that never completes fails at PROVIDER_CONNECT_TIMEOUT_MS, not the total timeout: retryable, and FAILED (nothing was sent)', async () => {
    const listener = await unresponsiveListener();
    onTestFinished(() => listener.close());
    // The total budget is far longer than the connect budget: only the connect timeout can end this call.
    const t = await startScopedTestApp({
      ...TEST_PROVIDER_CREDENTIALS,
      STAN_BASE_URL: listener.url,
      PROVIDER_CONNECT_TIMEOUT_MS: '200',
      PROVIDER_TIMEOUT_MS: '15000',
    });
    const { result, row } = await createAndFindRow(t, () => stanResult(t));
    const error = expectType(result, 'ProviderError');
    expect(error).toMatchObject({ provider: 'STAN', retryable: true, httpStatus: null });
    expect(error.message).toMatch(/could not be reached \(UND_ERR_CONNECT_TIMEOUT\)/);
    expect(row.status).toBe('FAILED');
    expect(row.notes).not.toMatch(/may have created/);
  });

  it('a refused connection gives a retryable ProviderError and a FAILED row (nothing was sent)', async () => {
    const origin = await closedOrigin();
    const t = await startScopedTestApp({
      ...TEST_PROVIDER_CREDENTIALS,
      SMARTCHECKOUT_BASE_URL: origin,
      STAN_BASE_URL: origin,
    });
    const creates: (() => Promise<Awaited<ReturnType<typeof smartResult>> | Awaited<ReturnType<typeof stanResult>>>)[] =
      [() => smartResult(t), () => stanResult(t)];
    for (const create of creates) {
      const { result, row } = await createAndFindRow(t, create);
      const error = expectType(result, 'ProviderError');
      expect(error).toMatchObject({ retryable: true, httpStatus: null });
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(row.status).toBe('FAILED');
    }
  });
});
