import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkouts } from '../src/db/schema.js';
import { CheckoutDocument, CreateSmartCheckoutDocument } from './generated/graphql.js';
import { expectType, isolatedDatabase, useTestApp } from './support/app.js';
import { globalId } from './support/ids.js';
import { startRecordingServer } from './support/recording-server.js';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;

// The operator's tool opens the database itself: with an in-memory PGlite there is nothing to share.
const SHARED = Boolean(process.env.DATABASE_URL);
if (!SHARED)
  console.log('cli.test.ts skipped: checkout:resolve needs a database shared with the server (set DATABASE_URL).');

describe.runIf(SHARED)('npm run checkout:resolve', () => {
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let provider: Awaited<ReturnType<typeof startRecordingServer>>;

  beforeAll(async () => {
    database = await isolatedDatabase('cli');
    // A provider that never answers in time: every create ends UNKNOWN.
    provider = await startRecordingServer(() => ({
      status: 200,
      body: { checkout_id: 'late', status: 'processing' },
      delayMs: 1_500,
    }));
  });
  // Registered before the app's: run after the app stopped.
  afterAll(async () => {
    await provider?.close();
    await database?.drop();
  });
  const t = useTestApp(() => ({
    DATABASE_URL: database.url,
    PROVIDER_TIMEOUT_MS: '300',
    SMARTCHECKOUT_BASE_URL: provider.url,
    SMARTCHECKOUT_API_KEY: 'sk-cli-test-key',
  }));

  const resolve = (args: string[]) =>
    run('node', ['--import', 'tsx', 'src/cli/resolve-checkout.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' },
    }).then(
      (result) => ({ code: 0, ...result }),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

  it('records the outcome an operator found for an UNKNOWN checkout, with an operator event', async () => {
    const created = await t.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/a', email: 'a@b.co' },
    });
    expectType(created.data?.createSmartCheckout, 'ProviderError');
    const [row] = await t.app.database.db
      .select({ id: checkouts.id, status: checkouts.status })
      .from(checkouts)
      .where(eq(checkouts.provider, 'SMARTCHECKOUT'))
      .orderBy(desc(checkouts.seq))
      .limit(1);
    if (!row) throw new Error('the create left no row');
    expect(row.status).toBe('UNKNOWN');
    const id = globalId('SmartCheckout', row.id);

    const result = await resolve([
      id,
      '--status',
      'FAILED',
      '--note',
      'Not in the Smartcheckout dashboard: never created',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('UNKNOWN -> FAILED');

    const after = (await t.request(CheckoutDocument, { id })).data!.checkout!;
    expect(after.status).toBe('FAILED');
    expect(after.notes).toBe('Not in the Smartcheckout dashboard: never created');
    expect(after.events.at(-1)).toMatchObject({ status: 'FAILED', source: 'operator' });
  });

  it('refuses a missing note, an unknown status and an id that is not a checkout, changing nothing', async () => {
    expect((await resolve(['x', '--status', 'FAILED'])).code).toBe(2);
    expect((await resolve(['00000000-0000-4000-8000-000000000000', '--status', 'NOPE', '--note', 'n'])).code).toBe(2);
    const missing = await resolve(['00000000-0000-4000-8000-000000000000', '--status', 'FAILED', '--note', 'n']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No checkout');
  });
});
