import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/index.js';
import { CheckoutsDocument } from './generated/graphql.js';
import { DATABASE_KIND, PUBSUB_KIND, startScopedTestApp, startTestApp, useTestApp } from './support/app.js';
import { pause } from './support/async.js';
import { freePort } from './support/net.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const t = useTestApp();

async function postRaw(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.a!}`, ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('HTTP endpoints', () => {
  it('/health answers 200 with the database kind', async () => {
    const response = await fetch(`${t.url}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({
      status: 'ok',
      database: DATABASE_KIND,
      bus: { kind: PUBSUB_KIND, connected: true },
    });

    const head = await fetch(`${t.url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('serves GraphiQL at GET /graphql to a browser, without an API key', async () => {
    const response = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html.toLowerCase()).toContain('graphiql');
    expect(html).toContain('<title>Checkout graph</title>');
    // The default query in the editor is the documented first steps.
    expect(html).toContain('createSmartCheckout');
  });

  it('does not serve GraphiQL in production', async () => {
    const production = await startScopedTestApp({ NODE_ENV: 'production' });
    const response = await fetch(`${production.url}/graphql`, { headers: { accept: 'text/html' } });
    expect((await response.text()).toLowerCase()).not.toContain('graphiql');
  });

  it('answers unknown paths with 404', async () => {
    const response = await fetch(`${t.url}/nothing-here`);
    expect(response.status).toBe(404);
  });

  it('answers / with where everything is, in plain text', async () => {
    const response = await fetch(`${t.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    for (const path of ['POST /graphql', 'GET  /graphql    GraphiQL', 'WS   /graphql', 'GET  /health', 'GET  /metrics'])
      expect(text).toContain(path);
    expect(text).toContain('content-type: application/json');
  });

  it('tells a client refused by CSRF prevention what to send (curl -d posts a form by default)', async () => {
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${t.keys.a!}` },
      body: '{"query":"{ __typename }"}',
    });
    expect(response.status).toBe(403);
    const { errors } = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toContain('"Content-Type: application/json"');
    expect(errors[0]!.message).toContain('"x-graphql-yoga-csrf: 1"');
    expect(errors[0]!.extensions.code).toBe('CSRF_HEADER_REQUIRED');
  });

  it('echoes x-request-id and generates one when absent or unusable', async () => {
    const given = `req-${Date.now()}`;
    const echoed = await t.request(CheckoutsDocument, { first: 1 }, { headers: { 'x-request-id': given } });
    expect(echoed.status).toBe(200);
    expect(echoed.headers.get('x-request-id')).toBe(given);

    const generated = await t.request(CheckoutsDocument, { first: 1 });
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const another = await t.request(CheckoutsDocument, { first: 1 });
    expect(another.headers.get('x-request-id')).not.toBe(id);

    // Header injection or an absurd length is not echoed: a fresh id replaces it.
    for (const bad of ['has spaces in it', 'x'.repeat(129), '<script>']) {
      const replaced = await t.request(CheckoutsDocument, { first: 1 }, { headers: { 'x-request-id': bad } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }

    // A refused request carries it too, so a client can quote it.
    const refused = await t.request(
      CheckoutsDocument,
      { first: 1 },
      { apiKey: 'wrong-key-123', headers: { 'x-request-id': `${given}-401` } },
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get('x-request-id')).toBe(`${given}-401`);
  });

  it('echoes x-request-id on a request that fails validation', async () => {
    const given = `req-invalid-${Date.now()}`;
    const answer = await postRaw(JSON.stringify({ query: '{ noSuchField }' }), { 'x-request-id': given });
    expect(answer.headers.get('x-request-id')).toBe(given);
  });

  it('an unknown field is a GraphQL validation error (200 or 400), never a 500', async () => {
    for (const accept of [
      'application/json',
      'application/graphql-response+json',
      'application/graphql-response+json, application/json',
    ]) {
      const answer = await postRaw(
        JSON.stringify({ query: '{ checkouts(first: 1) { edges { node { id noSuchField } } } }' }),
        { accept },
      );
      expect([200, 400]).toContain(answer.status);
      const body = JSON.parse(answer.text) as {
        data?: unknown;
        errors: { message: string; extensions?: { code?: string } }[];
      };
      expect(body.data ?? null).toBeNull();
      expect(body.errors[0]!.message).toContain('Cannot query field "noSuchField"');
      expect(body.errors[0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    // With the GraphQL-over-HTTP media type the spec wants 400.
    const strict = await postRaw(JSON.stringify({ query: '{ noSuchField }' }), {
      accept: 'application/graphql-response+json',
    });
    expect(strict.status).toBe(400);
  });

  it('malformed requests are 4xx with a JSON error, never a 500 or a stack trace', async () => {
    const cases = [
      '{not json',
      JSON.stringify({ query: '{ checkouts(first: 1) { ' }),
      JSON.stringify({}),
      JSON.stringify({ query: 42 }),
      JSON.stringify({
        query: 'query Q($first: Int) { checkouts(first: $first) { edges { cursor } } }',
        variables: { first: 'ten' },
      }),
    ];
    for (const body of cases) {
      const answer = await postRaw(body, { accept: 'application/graphql-response+json' });
      expect({ body, status: answer.status }).toEqual({ body, status: expect.any(Number) });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      const parsed = JSON.parse(answer.text) as { errors: unknown[] };
      expect(parsed.errors.length).toBeGreaterThan(0);
      expect(answer.text).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules/);
    }
  });
});

describe('unexpected failures', () => {
  it('masks a database failure, answers 503 on /health, and logs the error with the request id', async () => {
    const broken = await startTestApp();
    // Its database is closed on purpose: stopping it may then fail, which is no failure of the test.
    onTestFinished(() => broken.stop().catch(() => undefined));
    await broken.app.database.close();
    const requestId = `req-db-down-${Date.now()}`;
    const answer = await broken.request(CheckoutsDocument, { first: 1 }, { headers: { 'x-request-id': requestId } });
    expect(answer.status).toBeLessThan(500);
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors![0]!.message).toBe('Unexpected error.');
    expect(answer.errors![0]!.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(JSON.stringify(answer.errors)).not.toMatch(/select |Failed query|PGlite|pool|tenant-/i);

    const health = await fetch(`${broken.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({
      status: 'unavailable',
      database: DATABASE_KIND,
      bus: { kind: PUBSUB_KIND, connected: true },
    });

    const logged = broken.logs
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === 'unexpected error in a GraphQL operation');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe(50);
    // An unexpected error is logged with the request id, so an operator can find it from the client's report.
    expect(JSON.stringify(logged[0])).toContain(requestId);
  });
});

describe('loadConfig', () => {
  function failure(env: Record<string, string>): string {
    try {
      loadConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message;
    }
    throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
  }

  it('names the bad variable in one line', () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: 'abc' }, 'PORT'],
      [{ PORT: '70000' }, 'PORT'],
      [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
      [{ SMARTCHECKOUT_BASE_URL: 'https://api.smartcheckout.dev' }, 'SMARTCHECKOUT_API_KEY'],
      [
        { PAYERVAULT_BASE_URL: 'https://merchant.payervault.com', PAYERVAULT_ACCESS_KEY: 'k'.repeat(10) },
        'PAYERVAULT_ACCESS_SECRET',
      ],
      [{ STAN_BASE_URL: 'https://api.stan-app.fr', STAN_CLIENT_SECRET: 's'.repeat(10) }, 'STAN_CLIENT_ID'],
      [{ NODE_ENV: 'production' }, 'API_KEYS'],
      [{ NODE_ENV: 'production', API_KEYS: '' }, 'API_KEYS'],
      [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
      [
        { SMARTCHECKOUT_BASE_URL: 'https://api.smartcheckout.dev/v0', SMARTCHECKOUT_API_KEY: 'k'.repeat(10) },
        'SMARTCHECKOUT_BASE_URL',
      ],
      [{ POLL_INTERVAL_MS: '5000', POLL_MAX_INTERVAL_MS: '1000' }, 'POLL_MAX_INTERVAL_MS'],
      [{ API_KEYS: 'no-colon-here' }, 'API_KEYS'],
    ];
    for (const [env, name] of cases) {
      const message = failure(env);
      expect({ env, message }).toEqual({ env, message: expect.stringContaining(name) });
      expect(message).not.toContain('\n');
      expect(message.length).toBeLessThan(300);
    }
    expect(failure({ PORT: 'abc' })).toMatch(/^Invalid configuration: PORT /);
    expect(failure({ NODE_ENV: 'production' })).toBe(
      'Invalid configuration: API_KEYS is required when NODE_ENV is production',
    );
  });

  it('never echoes a secret value', () => {
    const secrets: Record<string, string>[] = [
      { DATABASE_URL: 'mysql://admin:hunter2-secret@db.example/app' },
      { REDIS_URL: 'memcached://user:hunter2-secret@cache' },
      { API_KEYS: 'tenant:hunter2' },
      { API_KEYS: 'alpha:hunter2-secret-key,beta:hunter2-secret-key' },
      { API_KEYS: 'bad tenant name:hunter2-secret-key' },
      { SMARTCHECKOUT_API_KEY: 'hunter2-secret', SMARTCHECKOUT_BASE_URL: 'not a url' },
    ];
    for (const env of secrets) {
      const message = failure(env);
      expect({ env, message }).not.toEqual({ env, message: expect.stringContaining('hunter2') });
    }
  });

  it('treats an empty value as unset, and accepts the documented defaults', () => {
    const config = loadConfig({ API_KEYS: '', DATABASE_URL: '', SMARTCHECKOUT_BASE_URL: ' ' });
    expect(config.apiKeys).toBeUndefined();
    expect(config.databaseUrl).toBeUndefined();
    expect(config.providers.SMARTCHECKOUT.baseUrl).toBeUndefined();
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      dataDir: '.data',
      pollIntervalMs: 1000,
      pollMaxIntervalMs: 30000,
    });
    const keyed = loadConfig({ API_KEYS: 'shop-1:key-one-1234, shop-2:key-two-1234' });
    expect([...keyed.apiKeys!]).toEqual([
      ['key-one-1234', 'shop-1'],
      ['key-two-1234', 'shop-2'],
    ]);
  });
});

describe('the real entry point (node --import tsx src/main.ts)', () => {
  /** Environment of a child process: nothing of ours leaks in except PATH and the database choice. */
  function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...extra,
    };
  }

  function run(env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString('utf8')));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, out, exited };
  }

  it('exits 1 with one line naming PORT when PORT is invalid', async () => {
    const { out, exited } = run(childEnv({ PORT: 'abc' }));
    const { code } = await exited;
    expect(code).toBe(1);
    // stdout has only the 'starting' line written before the configuration is read.
    const started = out.stdout.split('\n').filter((line) => line.trim() !== '');
    expect(started.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['starting checkout graph …']);
    const lines = out.stderr.split('\n').filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('PORT');
    expect(lines[0]).toMatch(/^Invalid configuration: PORT/);
  }, 30_000);

  it('exits 1 with one line, and no stack trace, when the port is taken', async () => {
    const holder = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => void holder.close());
    const { port } = holder.address() as AddressInfo;
    const { out, exited } = run(childEnv({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: 'memory://' }));
    expect((await exited).code).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([
      `Start-up failed: 127.0.0.1:${port} is already in use (EADDRINUSE): stop what listens there, or choose another PORT`,
    ]);
    // Only pino's lines on stdout (what opened, then what was closed): no error logged with its stack.
    expect(out.stdout).not.toContain('"stack"');
  }, 30_000);

  it('refuses to start in production without API_KEYS', async () => {
    const { out, exited } = run(childEnv({ NODE_ENV: 'production', PORT: '0' }));
    expect((await exited).code).toBe(1);
    expect(out.stderr.trim()).toBe('Invalid configuration: API_KEYS is required when NODE_ENV is production');
  }, 30_000);

  it('starts, serves /health, and stops gracefully on SIGTERM', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'checkout-graph-main-'));
    const { child, out, exited } = run(
      childEnv({ PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' }),
    );
    onTestFinished(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    });
    const deadline = Date.now() + 25_000;
    let health: Response | undefined;
    while (Date.now() < deadline) {
      health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      if (health) break;
      if (child.exitCode !== null) throw new Error(`main exited early: ${out.stderr}${out.stdout}`);
      await pause(100);
    }
    expect(health?.status).toBe(200);
    expect(await health!.json()).toEqual({
      status: 'ok',
      database: DATABASE_KIND,
      bus: { kind: 'memory', connected: true },
    });
    // The child's stdout reaches this process through a pipe, possibly after /health answered;
    // only complete lines are read.
    const listening = () =>
      out.stdout
        .split('\n')
        .slice(0, -1)
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    await expect
      .poll(() => listening().find((line) => String(line.msg).startsWith('checkout graph listening')), {
        timeout: 5_000,
        interval: 50,
      })
      .toMatchObject({
        msg: `checkout graph listening on 127.0.0.1:${port}`,
        address: `127.0.0.1:${port}`,
        url: `http://127.0.0.1:${port}/graphql`,
      });

    const sentAt = Date.now();
    child.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    const result = await Promise.race([exited, timeout]);
    expect(result).toEqual({ code: 0, signal: null });
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    const messages = out.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { msg?: string }).msg);
    expect(messages).toContain('stopping');
    expect(messages.at(-1)).toBe('checkout graph stopped');
    expect(out.stderr).toBe('');
    // The port is free again.
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 45_000);
});
