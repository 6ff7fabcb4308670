import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse, validate } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { schema } from '../src/schema/index.js';
import { backoffMs } from '../src/workers/backoff.js';
import { startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/async.js';
import { freePort } from './support/net.js';
import { scopedNodeProcess } from './support/process.js';

/*
 * The README runs as written: its examples are extracted and run against a started server, so an
 * example that stops working fails here.
 *
 * What runs, by fence:
 * - ```graphql: every block is parsed and validated against the served schema; queries and mutations
 *   are also executed (tenant `sandbox`, no key, as in the quick start) and must answer without
 *   GraphQL errors (a typed error result is an answer). Subscriptions are validated only: the SSE
 *   curl and the graphql-ws snippet run them.
 * - ```sh: the `curl` commands (with their `\` continuation lines) run against the test server:
 *   `localhost:4000` is the server, `localhost:4100` the Smartcheckout sandbox it started; each must
 *   exit 0 and print no GraphQL `errors`. Other commands (npm, docker) are not run.
 * - ```js: a block importing graphql-ws is run with Node as `node watch.mjs <id>`, for a checkout that
 *   completes, an unknown id and a refused key; the webhook receiver (the block importing
 *   standardwebhooks) is run with Node on a free port instead of 4400, given the secret of an endpoint
 *   pointing at it, and must print the deliveries of a new checkout and refuse an unsigned one.
 * - The quick start: its create comes back PROCESSING, and its subscription then sees PROCESSING
 *   before COMPLETED; the time it stays PROCESSING with the default poll interval (the README's
 *   "about N seconds") follows from its `sandbox_after_polls` and the poller's backoff.
 * Placeholders `<id from above>`, `<checkout id>` and `<id>` become the id of a checkout the test
 * created. A block that is not meant to run (it needs Docker, several processes, or a supergraph)
 * is marked on the line before its fence with `<!-- readme-test: skip (why) -->`.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const run = promisify(execFile);

interface Block {
  lang: string;
  code: string;
  line: number;
  skip: boolean;
}

/** Every fenced block (indented ones inside lists too), with its language and skip mark. */
function blocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w+)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    const previous = lines
      .slice(0, start)
      .reverse()
      .find((line) => line.trim() !== '');
    found.push({
      lang: open[2]!,
      code: body.join('\n'),
      line: start + 1,
      skip: /<!--\s*readme-test:\s*skip\b/.test(previous ?? ''),
    });
  }
  return found;
}

/** The `curl` commands of a shell block, continuation lines joined, comments after them dropped. */
function curlCommands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('curl '));
}

const all = blocks(README);
/** Where the README's scripts are written: inside the repository, so their imports resolve to its node_modules. */
const SNIPPETS = join(ROOT, 'node_modules', '.readme-test');
const runnable = (lang: string) => all.filter((block) => block.lang === lang && !block.skip);
const PLACEHOLDERS = /<id from above>|<checkout id>|<id>/g;

describe('the README, run as written', () => {
  let t: TestApp;
  let checkoutId: string;
  const fill = (text: string) => text.replace(PLACEHOLDERS, checkoutId);

  async function post(query: string): Promise<{ data?: unknown; errors?: unknown[] }> {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: unknown; errors?: unknown[] };
  }

  beforeAll(async () => {
    // As the quick start runs: no API_KEYS (tenant `sandbox`), the sandboxes, the poller on.
    t = await startTestApp({ API_KEYS: undefined, POLLER: 'on', POLL_INTERVAL_MS: '200', POLL_MAX_INTERVAL_MS: '400' });
    const first = runnable('graphql').find((block) => block.code.includes('createSmartCheckout'));
    const created = (await post(first!.code)) as {
      data: { createSmartCheckout: { checkout: { id: string } } };
    };
    checkoutId = created.data.createSmartCheckout.checkout.id;
  }, 60_000);

  afterAll(async () => {
    rmSync(SNIPPETS, { recursive: true, force: true });
    await t?.stop();
  });

  it('has examples of each kind', () => {
    expect(runnable('graphql').length).toBeGreaterThan(5);
    expect(runnable('sh').filter((block) => curlCommands(block.code).length > 0).length).toBeGreaterThanOrEqual(2);
    expect(runnable('js').some((block) => block.code.includes("from 'graphql-ws'"))).toBe(true);
    expect(runnable('js').some((block) => block.code.includes("from 'standardwebhooks'"))).toBe(true);
  });

  it('validates every GraphQL block against the schema', () => {
    for (const block of runnable('graphql')) {
      const errors = validate(schema, parse(fill(block.code)));
      expect(
        errors.map((error) => error.message),
        `README.md:${block.line}`,
      ).toEqual([]);
    }
  });

  it('answers every query and mutation block without GraphQL errors', async () => {
    for (const block of runnable('graphql')) {
      if (/^\s*subscription\b/.test(block.code)) continue;
      const result = await post(fill(block.code));
      expect(result.errors, `README.md:${block.line}`).toBeUndefined();
      expect(result.data, `README.md:${block.line}`).toBeTruthy();
    }
  }, 60_000);

  it('runs every curl command', async () => {
    const server = new URL(t.url).host;
    const sandbox = new URL(t.app.sandboxUrls.SMARTCHECKOUT!).host;
    for (const block of runnable('sh')) {
      for (const command of curlCommands(block.code)) {
        const local = fill(command).replaceAll('localhost:4000', server).replaceAll('localhost:4100', sandbox);
        const { stdout } = await run('sh', ['-c', local], { timeout: 30_000 });
        expect(stdout, `README.md:${block.line}: ${command}`).not.toMatch(/"errors"/);
        expect(stdout.trim(), `README.md:${block.line}: ${command}`).not.toBe('');
        if (command.includes('text/event-stream')) {
          // The SSE example: the current state, then the change, then the end of the stream.
          expect(stdout).toContain('event: next');
          expect(stdout).toContain('COMPLETED');
          expect(stdout).toContain('event: complete');
        }
      }
    }
  }, 90_000);

  it('shows PROCESSING before COMPLETED in the quick start', async () => {
    const create = runnable('graphql').find((block) => block.code.includes('createSmartCheckout'))!;
    const watch = runnable('graphql').find((block) => /^\s*subscription\b/.test(block.code))!;
    const created = (await post(create.code)) as {
      data: { createSmartCheckout: { checkout: { id: string; status: string } } };
    };
    const { id, status } = created.data.createSmartCheckout.checkout;
    expect(status, `README.md:${create.line}`).toBe('PROCESSING');
    // The README's subscription, as GraphiQL's second tab would send it (over SSE here).
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: watch.code.replace(PLACEHOLDERS, id) }),
    });
    const statuses = [...(await response.text()).matchAll(/"status":"(\w+)"/g)].map((match) => match[1]);
    expect(statuses, `README.md:${watch.line}`).toEqual(['PROCESSING', 'COMPLETED']);

    // How long a person has for that second tab, from the documented defaults: the first poll comes
    // POLL_INTERVAL_MS after the create, each later one after the poller's backoff.
    const afterPolls = Number(/sandbox_after_polls=(\d+)/.exec(create.code)?.[1]);
    const claimed = Number(/stays `PROCESSING` for about (\d+) seconds/.exec(README)?.[1]) * 1000;
    expect(afterPolls, 'the quick start names sandbox_after_polls').toBeGreaterThan(1);
    expect(claimed, 'the README says how long it stays PROCESSING').toBeGreaterThan(0);
    const { pollIntervalMs, pollMaxIntervalMs } = loadConfig({});
    const completesAfter = (random: number) => {
      let total = pollIntervalMs;
      for (let attempt = 1; attempt < afterPolls; attempt++)
        total += backoffMs(attempt, {
          baseMs: pollIntervalMs,
          minMs: pollIntervalMs,
          maxMs: pollMaxIntervalMs,
          random: () => random,
        });
      return total;
    };
    expect(completesAfter(0), 'with the least jitter, still time to open a second tab').toBeGreaterThanOrEqual(20_000);
    expect(Math.abs(completesAfter(0.5) - claimed) / claimed, 'the README says about how long').toBeLessThan(0.15);
  }, 30_000);

  it('runs the webhook receiver snippet: verified deliveries printed, an unsigned one refused', async () => {
    const receiver = runnable('js').find((block) => block.code.includes("from 'standardwebhooks'"))!;
    expect(receiver.code, `README.md:${receiver.line}`).toContain('.listen(4400)');
    const port = await freePort();
    const endpoint = (await post(
      `mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:${port}/" }) { ... on CreateWebhookEndpointSuccess { secret endpoint { id } } } }`,
    )) as { data: { createWebhookEndpoint: { secret: string; endpoint: { id: string } } } };
    const { secret, endpoint: created } = endpoint.data.createWebhookEndpoint;
    onTestFinished(
      async () => void (await post(`mutation { deleteWebhookEndpoint(id: "${created.id}") { __typename } }`)),
    );

    mkdirSync(SNIPPETS, { recursive: true });
    const script = join(SNIPPETS, 'receiver.mjs');
    writeFileSync(script, receiver.code.replace('.listen(4400)', `.listen(${port})`));
    const { lines } = scopedNodeProcess([script], { ...process.env, WEBHOOK_SECRET: secret });
    const unsigned = async () =>
      fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{"type":"checkout.status_changed"}' }).then(
        (response) => response.status,
        () => 0,
      );
    await waitFor(async () => (await unsigned()) !== 0, { what: 'the receiver listening' });
    expect(await unsigned()).toBe(400);

    const checkout = (await post(
      'mutation { createPayerVaultCheckout(input: { customerId: "cust-readme" }) { ... on CreatePayerVaultCheckoutSuccess { checkout { id } } } }',
    )) as { data: { createPayerVaultCheckout: { checkout: { id: string } } } };
    const { id } = checkout.data.createPayerVaultCheckout.checkout;
    // The snippet prints `<webhook-id> <checkout id> <status>` per verified delivery.
    await waitFor(() => lines.some((line) => line.startsWith('msg_') && line.endsWith(`${id} OPEN`)), {
      what: `the receiver printing ${id} OPEN`,
    }).catch((error: Error) => {
      throw new Error(`${error.message}; it printed: ${lines.join(' | ')}`);
    });
  }, 40_000);

  describe('the graphql-ws snippet, on this Node', () => {
    const dir = SNIPPETS;
    const script = join(dir, 'watch.mjs');
    const snippet = () => runnable('js').find((block) => block.code.includes("from 'graphql-ws'"))!;
    const watch = (id: string, env: Record<string, string> = {}) =>
      run(process.execPath, [script, id], {
        env: { ...process.env, GRAPHQL_WS_URL: `${t.url.replace(/^http/, 'ws')}/graphql`, ...env },
        timeout: 30_000,
      }).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: number; stdout?: string; stderr?: string; killed?: boolean }) => ({
          code: error.killed ? 'timeout' : (error.code ?? -1),
          stdout: error.stdout ?? '',
          stderr: error.stderr ?? '',
        }),
      );

    beforeAll(() => {
      // Inside the repository, so that its imports resolve to this repository's node_modules.
      mkdirSync(dir, { recursive: true });
      writeFileSync(script, snippet().code);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('prints each status of a checkout until it completes', async () => {
      // Completes on its 8th poll (a few seconds at this app's poll interval): after the script has subscribed.
      const created = (await post(
        'mutation { createSmartCheckout(input: { productUrl: "https://shop.example/item?sandbox_after_polls=8", email: "ada@example.com" }) { ... on CreateSmartCheckoutSuccess { checkout { id } } } }',
      )) as { data: { createSmartCheckout: { checkout: { id: string } } } };
      const result = await watch(created.data.createSmartCheckout.checkout.id);
      expect(result, result.stderr).toMatchObject({ code: 0 });
      expect(result.stdout.trim().split('\n')).toEqual(['PROCESSING', 'COMPLETED', 'final status reached']);
    }, 40_000);

    it('says NOT_FOUND for an unknown id, and fails', async () => {
      const unknown = Buffer.from('SmartCheckout:00000000-0000-4000-8000-000000000000').toString('base64');
      const result = await watch(unknown);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('NOT_FOUND');
    }, 40_000);

    it('reports a refused key (4403) at once instead of retrying', async () => {
      const started = Date.now();
      const result = await watch(checkoutId, { API_KEY: 'not-a-key' });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('the API key was refused (4403)');
      expect(Date.now() - started).toBeLessThan(10_000);
    }, 40_000);
  });
});
