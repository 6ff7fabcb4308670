import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  CreateWebhookEndpointDocument,
  DeleteWebhookEndpointDocument,
  UpdateWebhookEndpointDocument,
} from './generated/graphql.js';
import { waitFor } from './support/async.js';
import { expectType, useTestApp } from './support/app.js';
import { freePort } from './support/net.js';
import { clean, createStan } from './support/seed.js';

/* `npm run webhook:listen`: the development receiver, fed by the real API. */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Starts the listener process; resolves once it listens, with its output lines. */
async function startListener(secret: string) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/webhook-listen.ts', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, WEBHOOK_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => void child.kill('SIGKILL'));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
  await waitFor(() => lines.some((line) => line.startsWith('listening for webhooks')), { what: 'the listener' });
  return { url: `http://127.0.0.1:${port}`, lines };
}

describe('npm run webhook:listen', () => {
  const t = useTestApp({ WEBHOOK_RETRY_BASE_MS: '100' }, { isolate: 'webhooks_listen' });

  it('prints verified deliveries from the API and refuses bad signatures with 400', async () => {
    // The listener needs the secret, which exists once the endpoint does: create it pointing at a
    // closed port, start the listener with the secret, then point the endpoint at the listener.
    const created = expectType(
      clean(await t.request(CreateWebhookEndpointDocument, { input: { url: `http://127.0.0.1:${await freePort()}/` } }))
        .createWebhookEndpoint,
      'CreateWebhookEndpointSuccess',
    );
    onTestFinished(async () => void (await t.request(DeleteWebhookEndpointDocument, { id: created.endpoint.id })));
    const listener = await startListener(created.secret);
    await t.request(UpdateWebhookEndpointDocument, { id: created.endpoint.id, input: { url: listener.url } });

    const checkout = await createStan(t);
    await waitFor(() => listener.lines.some((line) => line.includes(`${checkout.id}: PENDING -> OPEN`)), {
      what: 'the OPEN event printed',
    });
    expect(listener.lines.some((line) => /^verified msg_\S+ checkout\.status_changed STAN /.test(line))).toBe(true);

    const body = JSON.stringify({ type: 'checkout.status_changed' });
    const forged = new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
    const timestamp = new Date();
    const response = await fetch(listener.url, {
      method: 'POST',
      headers: {
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
        'webhook-signature': forged.sign('msg_forged', timestamp, body),
      },
      body,
    });
    expect(response.status).toBe(400);
    await waitFor(() => listener.lines.some((line) => line.startsWith('refused POST /')));
  });
});
