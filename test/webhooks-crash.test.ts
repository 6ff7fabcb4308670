import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  CreatePayerVaultCheckoutDocument,
  CreateWebhookEndpointDocument,
  WebhookEndpointsDocument,
} from './generated/graphql.js';
import { waitFor } from './support/async.js';
import { DATABASE_KIND, expectType, isolatedDatabase, startTestApp } from './support/app.js';
import { newTenant } from './support/env.js';
import { gql, killAllServerProcesses, startServerProcess, stopServerProcess } from './support/process.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from './support/recording-server.js';
import { createPayerVault } from './support/seed.js';

/*
 * Webhook deliveries across processes: a SIGKILLed instance's leased delivery is taken over after
 * a restart, and two instances sharing PostgreSQL send each event once.
 */

afterAll(() => killAllServerProcesses());

async function receiver(respond: (request: RecordedRequest, index: number) => CannedResponse) {
  let index = 0;
  const server = await startRecordingServer((request) => respond(request, index++));
  onTestFinished(() => server.close());
  return server;
}

/** Where a server process keeps its data: a PostgreSQL database of its own, or a PGlite folder. */
async function storage(): Promise<Record<string, string>> {
  if (DATABASE_KIND === 'postgres') {
    const database = await isolatedDatabase('webhooks_crash');
    onTestFinished(() => database.drop());
    return { DATABASE_URL: database.url! };
  }
  const dir = await mkdtemp(join(tmpdir(), 'webhooks-crash-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return { DATA_DIR: dir };
}

describe('a SIGKILLed instance', () => {
  it('leaves its delivery in flight to the next instance, which delivers it once its lease lapses', async () => {
    // The first attempt never gets an answer: the instance is killed while it waits.
    const server = await receiver((_request, index) =>
      index === 0 ? { status: 200, delayMs: 60_000 } : { status: 200 },
    );
    const tenant = newTenant('hooks');
    const env = {
      ...(await storage()),
      API_KEYS: `${tenant.name}:${tenant.key}`,
      POLLER: 'off',
      WEBHOOK_TIMEOUT_MS: '1000',
      WEBHOOK_RETRY_BASE_MS: '100',
      ...(process.env.REDIS_URL && { REDIS_URL: process.env.REDIS_URL }),
    };
    const first = await startServerProcess('webhooks-a', env);
    const created = await gql(first, tenant.key, CreateWebhookEndpointDocument, { input: { url: server.url } });
    expectType(created.data?.createWebhookEndpoint, 'CreateWebhookEndpointSuccess');
    await gql(first, tenant.key, CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-crash' } });
    await waitFor(() => server.requests.length === 1, { what: 'the first attempt' });
    first.kill('SIGKILL');
    await first.exit;

    const second = await startServerProcess('webhooks-b', env);
    onTestFinished(() => stopServerProcess(second).then(() => undefined));
    await waitFor(() => server.requests.length >= 3, { what: 'the redelivery and the next event', timeoutMs: 20_000 });
    const ids = server.requests.map((request) => request.headers['webhook-id']);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).not.toBe(ids[0]);
    await waitFor(async () => {
      const answer = await gql(second, tenant.key, WebhookEndpointsDocument, {});
      return answer.data!.webhookEndpoints[0]!.deliveries.edges.every((edge) => edge.node.status === 'SUCCEEDED');
    });
    const listed = await gql(second, tenant.key, WebhookEndpointsDocument, {});
    const deliveries = listed.data!.webhookEndpoints[0]!.deliveries.edges.map((edge) => edge.node);
    expect(deliveries.find((delivery) => delivery.eventId === ids[0])!.attempts.length).toBe(1);
  }, 60_000);
});

describe.skipIf(DATABASE_KIND !== 'postgres')('two instances on one PostgreSQL', () => {
  it('send each event once in the normal case, both taking part', async () => {
    const server = await receiver(() => ({ status: 200, delayMs: 20 }));
    const database = await isolatedDatabase('webhooks_two');
    onTestFinished(() => database.drop());
    const env = { DATABASE_URL: database.url!, WEBHOOK_RETRY_BASE_MS: '100' };
    const apps = [await startTestApp(env), await startTestApp(env)];
    onTestFinished(() => Promise.all(apps.map((app) => app.stop())).then(() => undefined));
    for (const app of apps) {
      const created = await app.request(CreateWebhookEndpointDocument, { input: { url: server.url } });
      expectType(created.data?.createWebhookEndpoint, 'CreateWebhookEndpointSuccess');
    }
    await Promise.all(
      apps.map(async (app) => {
        for (let i = 0; i < 10; i++) await createPayerVault(app);
      }),
    );
    // 2 apps × 10 checkouts × 2 status changes (PENDING, OPEN).
    await waitFor(() => new Set(server.requests.map((request) => request.headers['webhook-id'])).size === 40, {
      what: '40 events delivered',
      timeoutMs: 20_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(server.requests).toHaveLength(40);
    const attemptsBy = apps.map((app) => app.logs.filter((line) => line.includes('"webhook attempt"')).length);
    expect(attemptsBy[0]! + attemptsBy[1]!).toBe(40);
    expect(attemptsBy.every((count) => count > 0)).toBe(true);
  }, 60_000);
});

if (DATABASE_KIND !== 'postgres') {
  console.log('webhooks-crash: the two-instance test needs PostgreSQL (set DATABASE_URL); skipped on PGlite');
}
