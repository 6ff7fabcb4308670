import { execFile } from 'node:child_process';
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
import { scopedNodeProcess } from './support/process.js';
import { clean, createStan } from './support/seed.js';

/* `npm run webhook:listen`: the development receiver, fed by the real API. */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Starts the listener process; resolves once it listens, with its output lines. */
async function startListener(secret: string) {
  const port = await freePort();
  const { lines } = scopedNodeProcess(['--import', 'tsx', 'src/cli/webhook-listen.ts', '--port', String(port)], {
    ...process.env,
    WEBHOOK_SECRET: secret,
  });
  await waitFor(() => lines.some((line) => line.startsWith('listening for webhooks')), { what: 'the listener' });
  return { url: `http://127.0.0.1:${port}`, lines };
}

/** Runs the listener to its exit (it exits at once when its arguments are refused). */
function runListener(env: Record<string, string>, args: string[] = []) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/webhook-listen.ts', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, timeout: 20_000 },
      (error, _stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stderr }),
    );
  });
}

describe('npm run webhook:listen, given a secret it cannot use', () => {
  const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
  it.each([
    ['none', {}, 'No secret: pass --secret whsec_… or set WEBHOOK_SECRET'],
    ['one without its prefix', { WEBHOOK_SECRET: secret.slice('whsec_'.length) }, 'does not start with whsec_'],
    ['one cut short when copied', { WEBHOOK_SECRET: secret.slice(0, -3) }, 'may have been cut short'],
  ])(
    'says what is wrong with %s, never echoing it, and exits 2',
    async (_label, env, expected) => {
      const { code, stderr } = await runListener(env as Record<string, string>, ['--port', '0']);
      expect(code).toBe(2);
      const [problem, usage] = stderr.trim().split('\n');
      expect(problem).toContain(expected);
      expect(usage).toMatch(/^usage: npm run webhook:listen/);
      expect(stderr).not.toContain(secret.slice(10, 30));
    },
    30_000,
  );

  it('says what is wrong with the port', async () => {
    const { code, stderr } = await runListener({ WEBHOOK_SECRET: secret }, ['--port', 'http']);
    expect(code).toBe(2);
    expect(stderr).toContain('The port must be an integer from 0 to 65535, not "http".');
  }, 30_000);
});

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
