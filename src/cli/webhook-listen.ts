import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/**
 * `npm run webhook:listen -- --secret whsec_… [--port 4400]` (or WEBHOOK_SECRET, WEBHOOK_LISTEN_PORT):
 * a receiver for development. It verifies each delivery's Standard Webhooks signature with the
 * `standardwebhooks` package, prints the verified ones readably and answers 204; anything that does
 * not verify gets 400 and is printed as refused.
 */
const USAGE =
  'usage: npm run webhook:listen -- --secret whsec_... [--port 4400]   (or WEBHOOK_SECRET, WEBHOOK_LISTEN_PORT)';

/** Largest body read; a bigger one is refused (413). */
const MAX_BODY_BYTES = 1_048_576;

/** Options of the development receiver. */
interface WebhookListenerOptions {
  /** The endpoint's secret, `whsec_…`. */
  secret: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Where lines are printed (default stdout). */
  print?: (line: string) => void;
}

/** Starts the receiver; resolves once it listens, with its URL and server. */
async function startWebhookListener(options: WebhookListenerOptions): Promise<{ url: string; server: Server }> {
  const webhook = new Webhook(options.secret);
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    if (body === null) {
      response.writeHead(413).end();
      return;
    }
    try {
      const event = webhook.verify(body, request.headers as Record<string, string>);
      print(describe(request.headers['webhook-id'], event));
      response.writeHead(204).end();
    } catch (error) {
      const reason = error instanceof WebhookVerificationError ? error.message : 'not a webhook';
      print(`refused ${request.method} ${request.url}: ${reason}`);
      response.writeHead(400, { 'content-type': 'text/plain' }).end(`${reason}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    // A taken port is one line from main, not an unhandled 'error' event with its stack.
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://${options.host ?? '127.0.0.1'}:${port}`, server };
}

/** One readable line per verified event, then its JSON. */
function describe(id: string | string[] | undefined, event: unknown): string {
  const checkout = (event as { data?: { checkout?: Record<string, unknown> } }).data?.checkout;
  const type = (event as { type?: string }).type ?? 'event';
  const summary = checkout
    ? ` ${checkout.provider} ${checkout.id}: ${checkout.previousStatus ?? '(new)'} -> ${checkout.status}`
    : '';
  return `verified ${String(id)} ${type}${summary}\n${JSON.stringify(event, null, 2)}`;
}

async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * What is wrong with the secret, in words, or null when the receiver can verify with it. The
 * secret itself is never repeated: it is a credential, and the terminal may be shared or logged.
 */
function secretProblem(secret: string | undefined): string | null {
  if (!secret)
    return 'No secret: pass --secret whsec_… or set WEBHOOK_SECRET (createWebhookEndpoint and rotateWebhookSecret return it, once).';
  if (!secret.startsWith(SECRET_PREFIX))
    return `The secret does not start with ${SECRET_PREFIX} (${secret.length} characters given): pass the whole secret the API returned, prefix included.`;
  if (!SECRET_KEY.test(secret.slice(SECRET_PREFIX.length)))
    return `The secret is not ${SECRET_PREFIX} and 44 base64 characters, as the API makes them (${secret.length} characters given): it may have been cut short when copied.`;
  return null;
}

/** What every Standard Webhooks secret starts with. */
const SECRET_PREFIX = 'whsec_';
/**
 * What follows the prefix in the API's secrets: 32 random bytes in base64 (src/webhooks/signing.ts).
 * Checked exactly because the decoder accepts a secret cut short, and every signature would then
 * be refused with nothing to say why.
 */
const SECRET_KEY = /^[A-Za-z0-9+/]{43}=$/;

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { secret: { type: 'string' }, port: { type: 'string' } } });
  const secret = values.secret ?? process.env.WEBHOOK_SECRET;
  const portText = values.port ?? process.env.WEBHOOK_LISTEN_PORT ?? '4400';
  const port = Number(portText);
  const problem =
    secretProblem(secret) ??
    (/^\d+$/.test(portText) && port <= 65535
      ? null
      : `The port must be an integer from 0 to 65535, not "${portText}".`);
  if (problem !== null || secret === undefined) {
    process.stderr.write(`${problem}\n${USAGE}\n`);
    return 2;
  }
  const { url } = await startWebhookListener({ secret, port });
  process.stdout.write(`listening for webhooks on ${url} (signatures checked with your secret)\n`);
  return new Promise(() => undefined);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
