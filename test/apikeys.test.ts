import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyRepository, hashApiKey } from '../src/db/api-keys.js';
import { apiKeys } from '../src/db/schema.js';
import {
  CheckoutStatusChangedDocument,
  CheckoutsDocument,
  CreatePayerVaultCheckoutDocument,
  CreateSmartCheckoutDocument,
} from './generated/graphql.js';
import { expectType, isolatedDatabase, useTestApp } from './support/app.js';
import { recordSubscription, scopedWsClient } from './support/subscriptions.js';

describe('stored API keys and scopes', () => {
  const t = useTestApp();
  let keys: ApiKeyRepository;
  beforeAll(() => {
    keys = new ApiKeyRepository(t.app.database.db);
  });

  it('stores only a hash: the key is shown once and never kept in clear', async () => {
    const { key, record: row } = await keys.create('acme-hash', 'write');
    expect(key).toMatch(/^cg_[A-Za-z0-9_-]{32}$/);
    const [stored] = await t.app.database.db.select().from(apiKeys).where(eq(apiKeys.id, row.id));
    expect(stored!.keyHash).toBe(hashApiKey(key));
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(JSON.stringify(await keys.list('acme-hash'))).not.toContain(stored!.keyHash);
  });

  it('a write key may mutate and read its own tenant; a read key may query and subscribe but not mutate', async () => {
    const tenant = `acme-${Date.now()}`;
    const writer = (await keys.create(tenant, 'write')).key;
    const reader = (await keys.create(tenant, 'read')).key;
    const created = await t.request(
      CreateSmartCheckoutDocument,
      { input: { productUrl: 'https://shop.example/x', email: 'a@b.co' } },
      { apiKey: writer },
    );
    const checkout = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;

    const refused = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-1' } },
      { apiKey: reader },
    );
    expect(refused.data?.createPayerVaultCheckout ?? null).toBeNull();
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    const listed = await t.request(CheckoutsDocument, { first: 10 }, { apiKey: reader });
    expect(listed.data?.checkouts.edges.map((edge) => edge.node.id)).toEqual([checkout.id]);

    const client = scopedWsClient(t.url, reader);
    const watched = recordSubscription(client, CheckoutStatusChangedDocument, { id: checkout.id });
    await expect.poll(() => watched.events.length).toBe(1);
    expect(watched.events[0]!.checkoutStatusChanged.status).toBe('PROCESSING');
    watched.dispose();
  });

  it('a revoked key is refused (within the 5 s cache) over HTTP and WebSocket', async () => {
    const { key, record: row } = await keys.create(`revoked-${Date.now()}`, 'write');
    expect((await t.request(CheckoutsDocument, { first: 1 }, { apiKey: key })).status).toBe(200);
    expect(await keys.revoke(row.prefix)).toMatchObject({ id: row.id });
    await expect
      .poll(async () => (await t.request(CheckoutsDocument, { first: 1 }, { apiKey: key })).status, {
        timeout: 8_000,
        interval: 250,
      })
      .toBe(401);
    const refused = recordSubscription(scopedWsClient(t.url, key), CheckoutStatusChangedDocument, { id: 'x' });
    await refused.done;
    expect(refused.errors?.[0]?.extensions?.closeCode).toBe(4403);
  });
});

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const SHARED = Boolean(process.env.DATABASE_URL);
if (!SHARED)
  console.log(
    'apikeys.test.ts: the `npm run apikey` command test is skipped: it needs a database shared with the server (set DATABASE_URL).',
  );

// Seven command processes, each starting tsx and its module graph: seconds apiece on a busy machine.
describe.runIf(SHARED)('npm run apikey', { timeout: 90_000 }, () => {
  // A database of its own, named here because the command line tool is pointed at it too.
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  beforeAll(async () => {
    database = await isolatedDatabase('apikey');
  });
  afterAll(() => database?.drop());
  const t = useTestApp(() => ({ DATABASE_URL: database.url }));
  const apikey = (args: string[]) =>
    run('node', ['--import', 'tsx', 'src/cli/apikey.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url },
    }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  it('creates a key printed once, lists keys without secrets, and revokes them', async () => {
    const created = await apikey(['create', '--tenant', 'acme', '--scope', 'read', '--label', 'dashboard']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^cg_/);
    const read = await t.request(CheckoutsDocument, { first: 1 }, { apiKey: key });
    expect(read.status).toBe(200);
    const write = await t.request(
      CreatePayerVaultCheckoutDocument,
      { input: { customerId: 'cust-1' } },
      { apiKey: key },
    );
    expect(write.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const listed = await apikey(['list', '--tenant', 'acme']);
    expect(listed.stdout).toContain('acme  read  active');
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain(hashApiKey(key));

    const prefix = key.slice(0, 10);
    expect((await apikey(['revoke', prefix])).code).toBe(0);
    expect((await apikey(['list'])).stdout).toContain('revoked');
    expect((await apikey(['revoke', prefix])).code).toBe(1);
    expect((await apikey(['create', '--tenant', 'bad tenant'])).code).toBe(2);
    expect((await apikey(['create', '--tenant', 'acme', '--scope', 'admin'])).code).toBe(2);
  });
});
