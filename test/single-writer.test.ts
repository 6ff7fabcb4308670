import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { DataDirLockedError, LOCK_FILE_NAME, lockDataDir, readHolder } from '../src/db/data-dir-lock.js';
import { ApiKeyAuthenticator } from '../src/http/auth.js';
import {
  ApiKeysDocument,
  CheckoutDocument,
  CheckoutStatusChangedDocument,
  CheckoutsDocument,
  CreateApiKeyDocument,
  CreatePayerVaultCheckoutDocument,
  ResolveCheckoutDocument,
  RevokeApiKeyDocument,
} from './generated/graphql.js';
import { expectType, startScopedTestApp, useTestApp } from './support/app.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from './support/process.js';
import { recordSubscription, scopedWsClient } from './support/subscriptions.js';

/*
 * One writer per embedded data folder, and keys that mean what they say: real server processes
 * on one folder, the operator commands run as processes beside a running server, and the
 * authentication rules over HTTP and graphql-ws.
 */

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

async function temporaryFolder(label: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), `checkout-graph-${label}-`));
  onTestFinished(() => rm(folder, { recursive: true, force: true }));
  return folder;
}

/** Runs a command of package.json's (`src/cli/<file>`) on the embedded database in `dataDir`. */
function command(file: string, dataDir: string, args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  return run(process.execPath, ['--import', 'tsx', `src/cli/${file}`, ...args], { cwd: ROOT, env }).then(
    (result) => ({ code: 0, ...result }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

/** A GraphQL POST as a GraphQL client library sends it, with a key or none. */
async function post<TResult, TVariables>(
  baseUrl: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  apiKey: string | null,
): Promise<{ status: number; data?: TResult | null; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  return { status: response.status, ...(await response.json()) };
}

describe('one process per data folder', () => {
  it('a second lock on a folder is refused with the holder; a released lock is free again and leaves no credential', async () => {
    const folder = await temporaryFolder('lock');
    const lock = await lockDataDir(folder, 'server');
    await lock.announce({ url: 'http://127.0.0.1:1', operatorKey: 'cgop_secret' });
    expect((await stat(join(folder, LOCK_FILE_NAME))).mode & 0o777).toBe(0o600);

    const refused = await lockDataDir(folder, 'apikey').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DataDirLockedError);
    expect((refused as DataDirLockedError).holder).toMatchObject({ pid: process.pid, role: 'server' });
    expect((refused as Error).message).toContain(`${folder} is in use by PID ${process.pid} (server)`);

    await lock.release();
    expect(await readFile(join(folder, LOCK_FILE_NAME), 'utf8')).toBe('');
    const again = await lockDataDir(folder, 'apikey');
    expect(await readHolder(join(folder, LOCK_FILE_NAME))).toMatchObject({ pid: process.pid, role: 'apikey' });
    await again.release();
  });

  it('a second server on the folder exits 1 at once naming the holder; after a SIGKILL the next server takes over with every purchase', async () => {
    const folder = await temporaryFolder('two-servers');
    const first = await startServerProcess('first', { DATA_DIR: folder });
    onTestFinished(() => void first.kill('SIGKILL'));
    const created = await post(first.url, CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-1' } }, null);
    const checkout = expectType(created.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;

    const env: Record<string, string | undefined> = { ...process.env, DATA_DIR: folder, PORT: '0', HOST: '127.0.0.1' };
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
    const second = await run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env,
      timeout: 20_000,
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(second.code).toBe(1);
    // Only what it set out to do reached stdout (it said it was starting and opening the folder);
    // it never listened.
    const said = second.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(
      said.every((msg) => msg.startsWith('starting checkout graph') || msg.startsWith('opening the database')),
    ).toBe(true);
    expect(second.stderr.trim().split('\n')).toEqual([
      `Start-up failed: The data folder ${folder} is in use by PID ${first.pid} (server): one process at a time may open it. Stop that process, or use another DATA_DIR.`,
    ]);
    // The refused server touched nothing: the first still serves its checkout.
    expect((await post(first.url, CheckoutDocument, { id: checkout.id }, null)).data?.checkout?.status).toBe('OPEN');

    first.kill('SIGKILL');
    await first.exit;
    const next: ServerProcess = await startServerProcess('next', { DATA_DIR: folder });
    onTestFinished(async () => void (await stopServerProcess(next)));
    const found = await post(next.url, CheckoutDocument, { id: checkout.id }, null);
    expect(found.data?.checkout).toMatchObject({ id: checkout.id, status: 'OPEN' });
  }, 90_000);
});

describe('operator commands beside a running server on the embedded database', () => {
  let folder: string;
  let server: ServerProcess;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'checkout-graph-operator-'));
    server = await startServerProcess('holder', { DATA_DIR: folder });
  }, 60_000);
  afterAll(async () => {
    await stopServerProcess(server);
    await rm(folder, { recursive: true, force: true });
  });

  it('apikey create, list and revoke go through the server: the key works at once with its scope, and stops at once', async () => {
    const tenant = `acme-${Date.now()}`;
    const created = await command('apikey.ts', folder, [
      'create',
      '--tenant',
      tenant,
      '--scope',
      'read',
      '--label',
      'dash',
    ]);
    expect(created).toMatchObject({
      code: 0,
      stderr: expect.stringContaining(`through the server at ${server.url} (PID ${server.pid}`),
    });
    const key = created.stdout.trim();
    expect(key).toMatch(/^cg_/);

    // Its own tenant (no sandbox checkout visible), read only: the scope holds from the first request.
    const read = await post(server.url, CheckoutsDocument, { first: 5 }, key);
    expect(read.status).toBe(200);
    expect(read.data?.checkouts.edges).toEqual([]);
    const write = await post(server.url, CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-1' } }, key);
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const listed = await command('apikey.ts', folder, ['list', '--tenant', tenant]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`${tenant}  read  active`);
    expect(listed.stdout).not.toContain(key);

    expect((await command('apikey.ts', folder, ['revoke', key.slice(0, 10)])).code).toBe(0);
    expect((await post(server.url, CheckoutsDocument, { first: 1 }, key)).status).toBe(401);
    const again = await command('apikey.ts', folder, ['revoke', key.slice(0, 10)]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`No active API key with id or prefix ${key.slice(0, 10)}`);
  }, 60_000);

  it('checkout:resolve goes through the server: subscribers and readers see the operator event at once', async () => {
    const created = await post(server.url, CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-2' } }, null);
    const checkout = expectType(created.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;
    const watched = recordSubscription(scopedWsClient(server.url, null), CheckoutStatusChangedDocument, {
      id: checkout.id,
    });
    await expect.poll(() => watched.events.length).toBe(1);

    const resolved = await command('resolve-checkout.ts', folder, [
      checkout.id,
      '--status',
      'FAILED',
      '--note',
      'Customer abandoned at PayerVault',
    ]);
    expect(resolved).toMatchObject({ code: 0, stdout: expect.stringMatching(/: OPEN -> FAILED\n$/) });
    const after = (await post(server.url, CheckoutDocument, { id: checkout.id }, null)).data?.checkout;
    expect(after).toMatchObject({ status: 'FAILED', notes: 'Customer abandoned at PayerVault' });
    expect(after?.events.at(-1)).toMatchObject({ status: 'FAILED', source: 'operator' });
    await watched.done;
    expect(watched.events.map((event) => event.checkoutStatusChanged.status)).toEqual(['OPEN', 'FAILED']);

    const missing = await command('resolve-checkout.ts', folder, [
      '00000000-0000-4000-8000-000000000000',
      '--status',
      'FAILED',
      '--note',
      'n',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('No checkout with id 00000000-0000-4000-8000-000000000000');
  }, 60_000);

  it('with the server stopped, a command opens the folder itself', async () => {
    const folderOfItsOwn = await temporaryFolder('no-server');
    const listed = await command('apikey.ts', folderOfItsOwn, ['create', '--tenant', 'solo']);
    expect(listed.code).toBe(0);
    expect(listed.stderr).toContain('through the data folder (no server holds it)');
    expect((await command('apikey.ts', folderOfItsOwn, ['list'])).stdout).toContain('solo  write  active');
  }, 60_000);
});

describe('the operator fields', () => {
  const operatorKey = `op-${'x'.repeat(30)}`;
  const t = useTestApp({ OPERATOR_KEY: operatorKey });

  it('need the operator credential, which may use nothing else', async () => {
    const byTenant = await t.request(ApiKeysDocument, {});
    expect(byTenant.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect(byTenant.errors?.[0]?.message).toMatch(/^Operator fields need an operator credential/);
    const asTenant = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'c' } },
      { apiKey: operatorKey },
    );
    expect(asTenant.errors?.[0]).toMatchObject({
      message: 'An operator credential may use only the operator fields',
      extensions: { code: 'FORBIDDEN' },
    });
  });

  it('create, list and revoke keys with typed errors for bad input', async () => {
    const tenant = `fields-${Date.now()}`;
    const created = await t.request(
      CreateApiKeyDocument,
      { input: { tenant, scope: 'READ' } },
      { apiKey: operatorKey },
    );
    const success = expectType(created.data?.createApiKey, 'CreateApiKeySuccess');
    expect(success.apiKey).toMatchObject({ tenant, scope: 'READ', revokedAt: null });
    expect((await t.request(CheckoutsDocument, { first: 1 }, { apiKey: success.key })).status).toBe(200);
    const listed = await t.request(ApiKeysDocument, { tenant }, { apiKey: operatorKey });
    expect(listed.data?.apiKeys.map((key) => key.id)).toEqual([success.apiKey.id]);

    const bad = await t.request(CreateApiKeyDocument, { input: { tenant: 'not a tenant' } }, { apiKey: operatorKey });
    expect(expectType(bad.data?.createApiKey, 'ValidationError').code).toBe('VALIDATION_FAILED');

    const revoked = await t.request(RevokeApiKeyDocument, { idOrPrefix: success.apiKey.id }, { apiKey: operatorKey });
    expect(expectType(revoked.data?.revokeApiKey, 'RevokeApiKeySuccess').apiKey.revokedAt).not.toBeNull();
    expect((await t.request(CheckoutsDocument, { first: 1 }, { apiKey: success.key })).status).toBe(401);
    const unknown = await t.request(RevokeApiKeyDocument, { idOrPrefix: success.apiKey.id }, { apiKey: operatorKey });
    expect(expectType(unknown.data?.revokeApiKey, 'ApiKeyNotFoundError').code).toBe('NOT_FOUND');
  });

  it('resolve any tenant’s checkout, refusing an empty note and an unknown id', async () => {
    const created = await t.request(CreatePayerVaultCheckoutDocument, { input: { customerId: 'cust-op' } });
    const checkout = expectType(created.data?.createPayerVaultCheckout, 'CreatePayerVaultCheckoutSuccess').checkout;
    const input = { id: checkout.id, status: 'COMPLETED' as const, note: 'Paid, seen in the PayerVault dashboard' };
    const resolved = await t.request(ResolveCheckoutDocument, { input }, { apiKey: operatorKey });
    expect(expectType(resolved.data?.resolveCheckout, 'ResolveCheckoutSuccess')).toMatchObject({
      checkoutId: checkout.id,
      previousStatus: 'OPEN',
      status: 'COMPLETED',
      followed: false,
    });
    const empty = await t.request(ResolveCheckoutDocument, { input: { ...input, note: ' ' } }, { apiKey: operatorKey });
    expectType(empty.data?.resolveCheckout, 'ValidationError');
    const missing = await t.request(
      ResolveCheckoutDocument,
      { input: { ...input, id: '00000000-0000-4000-8000-000000000000' } },
      { apiKey: operatorKey },
    );
    expectType(missing.data?.resolveCheckout, 'NotFoundError');
  });

  it('an operator credential from another machine is refused unless OPERATOR_ALLOW_REMOTE', async () => {
    const options = { requireKey: true, operatorKeys: [operatorKey] };
    const local = new ApiKeyAuthenticator(options);
    await expect(local.authenticate(`Bearer ${operatorKey}`, '::ffff:127.0.0.1')).resolves.toMatchObject({
      scope: 'operator',
    });
    await expect(local.authenticate(`Bearer ${operatorKey}`, '192.0.2.7')).rejects.toMatchObject({
      message: 'Operator credentials are accepted from this machine only (see OPERATOR_ALLOW_REMOTE)',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    const remote = new ApiKeyAuthenticator({ ...options, operatorAllowRemote: true });
    await expect(remote.authenticate(`Bearer ${operatorKey}`, '192.0.2.7')).resolves.toMatchObject({
      scope: 'operator',
    });
  });
});

describe('keys mean what they say without API_KEYS', () => {
  const t = useTestApp({ API_KEYS: undefined });

  it('no key is tenant sandbox; a key that matches nothing is 401 over HTTP and graphql-ws', async () => {
    expect((await t.request(CheckoutsDocument, { first: 1 }, { apiKey: null })).status).toBe(200);
    const unknown = await t.request(CheckoutsDocument, { first: 1 }, { apiKey: 'cg_matches_nothing_at_all' });
    expect(unknown.status).toBe(401);
    expect(unknown.errors?.[0]).toMatchObject({ message: 'Invalid API key', extensions: { code: 'UNAUTHENTICATED' } });
    const basic = await t.request(
      CheckoutsDocument,
      { first: 1 },
      { apiKey: null, headers: { authorization: 'Basic eDp5' } },
    );
    expect(basic.status).toBe(401);

    const refused = recordSubscription(
      scopedWsClient(t.url, 'cg_matches_nothing_at_all'),
      CheckoutStatusChangedDocument,
      {
        id: 'x',
      },
    );
    await refused.done;
    expect(refused.errors?.[0]?.extensions?.closeCode).toBe(4403);
  });
});

describe('loopback by default', () => {
  it('HOST is 127.0.0.1 without API_KEYS, every interface with them, and what HOST says when set', () => {
    expect(loadConfig({}).host).toBe('127.0.0.1');
    expect(loadConfig({ API_KEYS: 'acme:key-acme-123' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '::1', API_KEYS: 'acme:key-acme-123' }).host).toBe('::1');
  });

  it('the start-up line names the address bound; every interface without keys is warned about', async () => {
    const open = await startScopedTestApp({ HOST: '0.0.0.0', API_KEYS: undefined });
    const port = new URL(open.url).port;
    const lines = open.logs.map((line) => JSON.parse(line) as { level: number; msg: string; address?: string });
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: `checkout graph listening on 0.0.0.0:${port}`, address: `0.0.0.0:${port}` }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: `listening on 0.0.0.0:${port} without API_KEYS: anyone who can reach it creates checkouts as tenant sandbox; set API_KEYS or HOST=127.0.0.1`,
      }),
    );
    const keyed = await startScopedTestApp({ HOST: '0.0.0.0' });
    expect(keyed.logs.some((line) => line.includes('without API_KEYS'))).toBe(false);
  });
});
