import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ApiKeyRepository } from '../src/db/api-keys.js';
import { webhookEndpoints } from '../src/db/schema.js';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  RecordCheckoutOutcomeDocument,
  RedeliverWebhookDocument,
  RotateWebhookSecretDocument,
  UpdateWebhookEndpointDocument,
  WebhookEndpointsDocument,
  WebhookNodeDocument,
  type CreateWebhookEndpointInput,
  type WebhookDeliveryFieldsFragment,
} from './generated/graphql.js';
import { pause, waitFor } from './support/async.js';
import { expectType, startScopedTestApp, useTestApp, type TestApp } from './support/app.js';
import { globalId, rowIdOf } from './support/ids.js';
import { metricOf } from './support/metrics.js';
import { freePort } from './support/net.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from './support/recording-server.js';
import { clean, createPayerVault, createStan } from './support/seed.js';

/*
 * Webhooks out, end to end: real receiving HTTP servers, the real API over HTTP, the real
 * dispatcher and database. Signatures are checked with the `standardwebhooks` package, as a
 * receiver would.
 */

const FAST_RETRIES = {
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_MAX_ATTEMPTS: '4',
  WEBHOOK_TIMEOUT_MS: '2000',
  WEBHOOK_DISABLE_AFTER_MS: '1500',
  WEBHOOK_MAX_ENDPOINTS: '3',
};

/** A receiving server for the running test, answering with `respond` (200 by default). */
async function receiver(
  respond: (request: RecordedRequest, index: number) => CannedResponse = () => ({ status: 200 }),
) {
  let index = 0;
  const server = await startRecordingServer((request) => respond(request, index++));
  onTestFinished(() => server.close());
  return server;
}

/** Creates an endpoint of tenant `a` (or `apiKey`'s), deleted when the test finishes. */
async function createEndpoint(t: TestApp, input: CreateWebhookEndpointInput, apiKey?: string) {
  const result = clean(await t.request(CreateWebhookEndpointDocument, { input }, { apiKey })).createWebhookEndpoint;
  const created = expectType(result, 'CreateWebhookEndpointSuccess');
  onTestFinished(async () => {
    await t.request(DeleteWebhookEndpointDocument, { id: created.endpoint.id }, { apiKey });
  });
  return created;
}

/** The deliveries of one endpoint, newest first, as the API lists them. */
async function deliveriesOf(t: TestApp, endpointId: string, apiKey?: string): Promise<WebhookDeliveryFieldsFragment[]> {
  const { webhookEndpoints: endpoints } = clean(await t.request(WebhookEndpointsDocument, { first: 50 }, { apiKey }));
  return endpoints.find((endpoint) => endpoint.id === endpointId)?.deliveries.edges.map((edge) => edge.node) ?? [];
}

/** The verified body of a recorded delivery (throws when its signature does not verify with `secret`). */
function verified(secret: string, request: RecordedRequest) {
  return new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as {
    type: string;
    data: { checkout: Record<string, unknown> & { id: string; status: string; previousStatus: string | null } };
  };
}

describe('webhook deliveries', () => {
  const t = useTestApp(FAST_RETRIES, { isolate: 'webhooks' });

  it('POSTs every status change of a checkout, in order, signed so that standardwebhooks verifies it', async () => {
    const server = await receiver();
    const { endpoint, secret } = await createEndpoint(t, { url: `${server.url}/hooks`, description: 'orders' });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint).toMatchObject({ enabled: true, events: ['CHECKOUT_STATUS_CHANGED'], description: 'orders' });
    const checkout = await createStan(t);
    await waitFor(() => server.requests.length >= 2, { what: 'two deliveries' });

    const bodies = server.requests.map((request) => verified(secret, request));
    expect(bodies.map((body) => [body.data.checkout.previousStatus, body.data.checkout.status])).toEqual([
      [null, 'PENDING'],
      ['PENDING', 'OPEN'],
    ]);
    expect(bodies[1]).toMatchObject({
      type: 'checkout.status_changed',
      data: {
        checkout: {
          id: checkout.id,
          provider: 'STAN',
          providerCheckoutId: checkout.providerCheckoutId,
          total: { amount: 2500, currency: 'EUR', decimal: '25.00' },
          testMode: true,
        },
      },
    });
    const [first] = server.requests;
    expect(first).toMatchObject({ method: 'POST', path: '/hooks' });
    expect(first!.headers['content-type']).toBe('application/json');
    expect(first!.headers['user-agent']).toMatch(/^checkout-graph-webhooks\/\d+\.\d+\.\d+$/);
    expect(first!.headers['webhook-id']).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(() => verified(secret.replace(/.{4}=$/, 'AAAA='), first!)).toThrow();

    await waitFor(async () => (await deliveriesOf(t, endpoint.id)).every((d) => d.status === 'SUCCEEDED'));
    const deliveries = await deliveriesOf(t, endpoint.id);
    expect(deliveries).toHaveLength(2);
    expect(deliveries[0]).toMatchObject({
      eventType: 'CHECKOUT_STATUS_CHANGED',
      attemptCount: 1,
      lastResponseStatus: 200,
      nextAttemptAt: null,
      checkout: { id: checkout.id, status: 'OPEN' },
    });
    expect(deliveries[0]!.deliveredAt).not.toBeNull();
    // One log line per attempt, naming the delivery; the secret in none of them.
    const attemptLines = t.logs.filter((line) => line.includes('"webhook attempt"'));
    expect(attemptLines.some((line) => line.includes(rowIdOf(deliveries[0]!.id)))).toBe(true);
    // ... and its checkout by the id the API returns.
    expect(attemptLines.every((line) => (JSON.parse(line) as { checkoutId?: string }).checkoutId === checkout.id)).toBe(
      true,
    );
    expect(t.logs.join('\n')).not.toContain(secret.slice(6));
    expect(await metricOf(t, 'checkout_webhook_deliveries_total', { outcome: 'succeeded' })).toBeGreaterThanOrEqual(2);
  });

  it('retries a receiver answering 500 twice with the same webhook-id; the log shows 3 attempts, and the next change waits', async () => {
    const server = await receiver((_request, index) =>
      index < 2 ? { status: 500, rawBody: `boom ${'x'.repeat(2000)}` } : { status: 204 },
    );
    const { endpoint, secret } = await createEndpoint(t, { url: server.url });
    await createPayerVault(t);
    await waitFor(() => server.requests.length >= 4, { what: 'three attempts and the next event' });

    const ids = server.requests.map((request) => request.headers['webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[1]).toBe(ids[2]);
    expect(ids[3]).not.toBe(ids[0]);
    // Ordering per checkout: OPEN went out only once PENDING had succeeded.
    expect(server.requests.map((request) => verified(secret, request).data.checkout.status)).toEqual([
      'PENDING',
      'PENDING',
      'PENDING',
      'OPEN',
    ]);
    await waitFor(async () => (await deliveriesOf(t, endpoint.id)).every((d) => d.status === 'SUCCEEDED'));
    const first = (await deliveriesOf(t, endpoint.id)).find((d) => d.eventId === ids[0])!;
    expect(first.attemptCount).toBe(3);
    expect(first.attempts.map((attempt) => attempt.responseStatus)).toEqual([500, 500, 204]);
    expect(first.attempts[0]!.responseBody).toHaveLength(1024);
    expect(await metricOf(t, 'checkout_webhook_deliveries_total', { outcome: 'retry' })).toBeGreaterThanOrEqual(2);
  });

  it('honours Retry-After before trying again', async () => {
    const server = await receiver((_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    await createEndpoint(t, { url: server.url });
    const arrivals: number[] = [];
    const watch = setInterval(() => {
      while (arrivals.length < server.requests.length) arrivals.push(Date.now());
    }, 5);
    onTestFinished(() => clearInterval(watch));
    await createPayerVault(t);
    await waitFor(() => server.requests.length >= 2, { what: 'the retry' });
    await pause(10);
    // Without Retry-After the retry would follow within the 100 ms base (plus one scan of 1 s at most).
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(1_950);
    expect(server.requests[1]!.headers['webhook-id']).toBe(server.requests[0]!.headers['webhook-id']);
  });

  it('tells of a change the merchant records, like any other', async () => {
    const server = await receiver();
    const { secret } = await createEndpoint(t, { url: server.url });
    const checkout = await createPayerVault(t);
    const recorded = await t.request(RecordCheckoutOutcomeDocument, {
      input: { id: checkout.id, status: 'COMPLETED', note: 'paid at the till' },
    });
    expectType(clean(recorded).recordCheckoutOutcome, 'RecordCheckoutOutcomeSuccess');
    await waitFor(() => server.requests.length >= 3, { what: 'three events' });
    expect(verified(secret, server.requests[2]!).data.checkout).toMatchObject({
      id: checkout.id,
      previousStatus: 'OPEN',
      status: 'COMPLETED',
      notes: 'paid at the till',
    });
  });

  it('redeliverWebhook sends a new attempt of a delivered event', async () => {
    const server = await receiver();
    const { endpoint } = await createEndpoint(t, { url: server.url });
    await createPayerVault(t);
    await waitFor(async () => {
      const deliveries = await deliveriesOf(t, endpoint.id);
      return deliveries.length === 2 && deliveries.every((d) => d.status === 'SUCCEEDED');
    });
    const [latest] = await deliveriesOf(t, endpoint.id);
    const before = server.requests.length;
    const redelivered = clean(await t.request(RedeliverWebhookDocument, { deliveryId: latest!.id })).redeliverWebhook;
    expect(expectType(redelivered, 'RedeliverWebhookSuccess').delivery.status).toBe('PENDING');
    await waitFor(() => server.requests.length > before, { what: 'the redelivery' });
    expect(server.requests.at(-1)!.headers['webhook-id']).toBe(latest!.eventId);
    await waitFor(async () => (await deliveriesOf(t, endpoint.id))[0]!.attemptCount === 2);
  });

  it('signs with the old and the new secret after a rotation', async () => {
    const server = await receiver();
    const { endpoint, secret: oldSecret } = await createEndpoint(t, { url: server.url });
    const rotated = expectType(
      clean(await t.request(RotateWebhookSecretDocument, { id: endpoint.id })).rotateWebhookSecret,
      'RotateWebhookSecretSuccess',
    );
    expect(rotated.secret).not.toBe(oldSecret);
    await createPayerVault(t);
    await waitFor(() => server.requests.length >= 1);
    const [request] = server.requests;
    const signatures = String(request!.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    expect(verified(rotated.secret, request!).type).toBe('checkout.status_changed');
    expect(verified(oldSecret, request!).type).toBe('checkout.status_changed');
  });

  it('disables an endpoint whose attempts keep failing, with the reason, and re-enables it on request', async () => {
    const server = await receiver(() => ({ status: 500 }));
    const { endpoint } = await createEndpoint(t, { url: server.url });
    await createPayerVault(t);
    const listed = async () =>
      clean(await t.request(WebhookEndpointsDocument, {})).webhookEndpoints.find((e) => e.id === endpoint.id)!;
    await waitFor(async () => !(await listed()).enabled, { what: 'the endpoint disabled', timeoutMs: 10_000 });
    expect((await listed()).disabledReason).toMatch(/every attempt failed for \d+ minutes \(last: HTTP 500\)/);
    const sent = server.requests.length;
    await pause(1_200);
    expect(server.requests.length).toBe(sent);
    const enabled = clean(
      await t.request(UpdateWebhookEndpointDocument, { id: endpoint.id, input: { enabled: true } }),
    );
    expect(expectType(enabled.updateWebhookEndpoint, 'UpdateWebhookEndpointSuccess').endpoint).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
  });

  it('a delivery that fails every attempt ends FAILED', async () => {
    // An app whose endpoints are not disabled within the test: the delivery itself must give up.
    const t = await startScopedTestApp(
      { ...FAST_RETRIES, WEBHOOK_DISABLE_AFTER_MS: '86400000' },
      { isolate: 'webhooks' },
    );
    const server = await receiver((_request, index) => (index < 4 ? { status: 502 } : { status: 200 }));
    const { endpoint } = await createEndpoint(t, { url: server.url, description: 'flaky' });
    await createPayerVault(t);
    await waitFor(async () => (await deliveriesOf(t, endpoint.id)).some((d) => d.status === 'FAILED'), {
      timeoutMs: 10_000,
      what: 'a FAILED delivery',
    });
    const failed = (await deliveriesOf(t, endpoint.id)).find((d) => d.status === 'FAILED')!;
    expect(failed).toMatchObject({ attemptCount: 4, lastResponseStatus: 502, nextAttemptAt: null });
  });
});

describe('webhook endpoints', () => {
  const t = useTestApp(FAST_RETRIES, { isolate: 'webhooks' });

  it('are invisible to other tenants, exactly like missing ones, and receive nothing of theirs', async () => {
    const server = await receiver();
    const { endpoint } = await createEndpoint(t, { url: server.url });
    await createPayerVault(t);
    await waitFor(() => server.requests.length >= 2);
    const [delivery] = await deliveriesOf(t, endpoint.id);
    const missingEndpoint = globalId('WebhookEndpoint', '00000000-0000-4000-8000-000000000000');
    const missingDelivery = globalId('WebhookDelivery', '00000000-0000-4000-8000-000000000000');
    const asB = { apiKey: t.keys.b };

    expect(clean(await t.request(WebhookEndpointsDocument, {}, asB)).webhookEndpoints).toEqual([]);
    // node(id:) finds both for their owner, and nothing for another tenant.
    const nodeOf = async (id: string, options?: { apiKey?: string }) =>
      clean(await t.request(WebhookNodeDocument, { id }, options)).node;
    expect(await nodeOf(endpoint.id)).toEqual({ __typename: 'WebhookEndpoint', id: endpoint.id, url: server.url });
    expect(await nodeOf(delivery!.id)).toEqual({
      __typename: 'WebhookDelivery',
      id: delivery!.id,
      eventId: delivery!.eventId,
    });
    expect([await nodeOf(endpoint.id, asB), await nodeOf(delivery!.id, asB)]).toEqual([null, null]);
    const answers = async (endpointId: string, deliveryId: string) => [
      clean(await t.request(UpdateWebhookEndpointDocument, { id: endpointId, input: { enabled: false } }, asB))
        .updateWebhookEndpoint,
      clean(await t.request(RotateWebhookSecretDocument, { id: endpointId }, asB)).rotateWebhookSecret,
      clean(await t.request(DeleteWebhookEndpointDocument, { id: endpointId }, asB)).deleteWebhookEndpoint,
      clean(await t.request(RedeliverWebhookDocument, { deliveryId }, asB)).redeliverWebhook,
    ];
    const foreign = await answers(endpoint.id, delivery!.id);
    const missing = await answers(missingEndpoint, missingDelivery);
    expect(foreign.map((answer) => answer.__typename)).toEqual(Array(4).fill('NotFoundError'));
    const normalised = (list: typeof foreign, ids: string[]) =>
      JSON.stringify(list).replaceAll(ids[0]!, '<endpoint>').replaceAll(ids[1]!, '<delivery>');
    expect(normalised(foreign, [endpoint.id, delivery!.id])).toBe(
      normalised(missing, [missingEndpoint, missingDelivery]),
    );
    // Still there and untouched for its owner; tenant B's checkouts are not sent to it.
    const sent = server.requests.length;
    await createPayerVault(t, {}, asB);
    await pause(1_200);
    expect(server.requests.length).toBe(sent);
    expect((await deliveriesOf(t, endpoint.id)).length).toBe(2);
  });

  it('refuses bad input with field paths, and more endpoints than WEBHOOK_MAX_ENDPOINTS', async () => {
    const bad = clean(
      await t.request(CreateWebhookEndpointDocument, { input: { url: 'ftp://x', events: [] } }),
    ).createWebhookEndpoint;
    expect(expectType(bad, 'ValidationError').fieldErrors.map((error) => error.path)).toEqual([
      ['input', 'url'],
      ['input', 'events'],
    ]);
    const port = await freePort();
    for (let i = 0; i < 3; i++) await createEndpoint(t, { url: `http://127.0.0.1:${port}/${i}` }, t.keys.b);
    const tooMany = clean(
      await t.request(
        CreateWebhookEndpointDocument,
        { input: { url: `http://127.0.0.1:${port}/4` } },
        { apiKey: t.keys.b },
      ),
    ).createWebhookEndpoint;
    expect(expectType(tooMany, 'ValidationError').message).toContain('at most 3 webhook endpoints');
  });

  it('need a write key to change, a read key may list', async () => {
    const keys = new ApiKeyRepository(t.app.database.db);
    const tenant = `hooks-${Date.now()}`;
    const reader = (await keys.create(tenant, 'read')).key;
    const refused = await t.request(
      CreateWebhookEndpointDocument,
      { input: { url: 'http://127.0.0.1:1/' } },
      { apiKey: reader },
    );
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(clean(await t.request(WebhookEndpointsDocument, {}, { apiKey: reader })).webhookEndpoints).toEqual([]);
  });
});

describe('webhook targets in production', () => {
  it('refuses http, loopback, metadata and names resolving to loopback at creation', async () => {
    const t = await startScopedTestApp({ NODE_ENV: 'production', ...FAST_RETRIES }, { isolate: 'webhooks' });
    const refusal = async (url: string) => {
      const result = clean(await t.request(CreateWebhookEndpointDocument, { input: { url } })).createWebhookEndpoint;
      const error = expectType(result, 'ValidationError');
      expect(error.fieldErrors[0]!.path).toEqual(['input', 'url']);
      return error.fieldErrors[0]!.message;
    };
    expect(await refusal('http://127.0.0.1/hooks')).toBe('must be an https URL');
    expect(await refusal('http://example.com/hooks')).toBe('must be an https URL');
    expect(await refusal('https://127.0.0.1/hooks')).toContain('loopback');
    expect(await refusal('https://169.254.169.254/latest/meta-data')).toContain('linkLocal');
    expect(await refusal('https://[::ffff:10.0.0.1]/')).toContain('private');
    expect(await refusal('https://localhost/hooks')).toMatch(/host localhost resolves to a loopback address/);
    expect(clean(await t.request(WebhookEndpointsDocument, {})).webhookEndpoints).toEqual([]);
  });

  it('refuses at send time a target that resolves to loopback by then (DNS rebinding)', async () => {
    const t = await startScopedTestApp({ NODE_ENV: 'production', ...FAST_RETRIES }, { isolate: 'webhooks' });
    const server = await receiver();
    const port = new URL(server.url).port;
    // Saved while its name resolved elsewhere: written as is, past the create-time check.
    const tenant = await tenantOf(t);
    await t.app.database.db.insert(webhookEndpoints).values([
      { tenant, url: `https://localhost:${port}/hooks`, secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` },
      { tenant, url: `https://127.0.0.1:${port}/hooks`, secret: `whsec_${Buffer.alloc(32, 2).toString('base64')}` },
    ]);
    await createPayerVault(t);
    const endpoints = async () => clean(await t.request(WebhookEndpointsDocument, {})).webhookEndpoints;
    await waitFor(
      async () => (await endpoints()).every((e) => e.deliveries.edges.some((d) => d.node.attemptCount > 0)),
      {
        what: 'attempts to both endpoints',
      },
    );
    for (const endpoint of await endpoints()) {
      const attempt = endpoint.deliveries.edges.flatMap((edge) => edge.node.attempts)[0]!;
      expect(attempt.responseStatus).toBeNull();
      expect(attempt.error).toMatch(/loopback/);
    }
    expect(server.requests).toHaveLength(0);
  });
});

/** The tenant behind tenant `a`'s key, read from a checkout it created. */
async function tenantOf(t: TestApp): Promise<string> {
  const checkout = await createPayerVault(t);
  const rows = await t.app.database.db.query.checkouts.findFirst({
    where: (checkouts, { eq }) => eq(checkouts.id, rowIdOf(checkout.id)),
  });
  return rows!.tenant;
}
