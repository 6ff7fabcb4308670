import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { CheckoutDocument } from './generated/graphql.js';
import { isolatedDatabase, startTestApp, type TestApp } from './support/app.js';
import { chromiumAvailable, launchChromium } from './support/chromium.js';
import { newTenant } from './support/env.js';
import { freePort } from './support/net.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from './support/process.js';
import { clean } from './support/seed.js';

// The storefront example (examples/storefront) as a shopper uses it: its Vite build served by its
// own server (serve.ts, as `npm run storefront` runs it) in Debian's chromium, against a real API
// with real provider sandboxes, a real database and the real poller; live status over graphql-ws.
// The API runs TRUSTED_DOCUMENTS=required, as production should: the page sends only the hashes of
// its documents, published beforehand with `npm run documents -- publish` (as a deployment would).
const HAS_CHROMIUM = chromiumAvailable('storefront test');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = join(ROOT, 'test-results/storefront');
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const run = promisify(execFile);
/** The storefront's manifest (codegen's persisted-documents.json): hash -> document. */
const MANIFEST_FILE = join(ROOT, 'examples/storefront/src/gql/persisted-documents.json');
const MANIFEST = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as Record<string, string>;
/** The hash (hex, as the page sends it) of the storefront's operation `name`. */
function hashOf(name: string): string {
  const [id] = Object.entries(MANIFEST).find(([, body]) =>
    new RegExp(`(query|mutation|subscription) ${name}\\b`).test(body),
  )!;
  return id.replace(/^sha256:/, '');
}

describe.runIf(HAS_CHROMIUM)('the storefront in Chromium', () => {
  // The API is restarted on the same port and data by the reconnect test, so its data lives in a
  // folder (PGlite) or a database of its own (PostgreSQL), not in memory.
  const tenant = newTenant('storefront');
  let dataDir: string;
  let distDir: string;
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;
  let apiPort: number;
  let api: TestApp;
  /** False while the reconnect test has the API stopped, so that it is not stopped twice. */
  let apiRunning = false;
  let storefront: ServerProcess;
  let browser: Browser;
  const operatorKey = `operator-${randomUUID()}`;
  /** A key of the tenant with the any-document scope: the test's own typed requests are text. */
  let anyDocumentKey: string;

  const apiEnv = () => ({
    PORT: String(apiPort),
    API_KEYS: `${tenant.name}:${tenant.key}`,
    DATA_DIR: dataDir,
    DATABASE_URL: database.url,
    POLLER: 'on',
    POLL_INTERVAL_MS: '300',
    POLL_MAX_INTERVAL_MS: '600',
    TRUSTED_DOCUMENTS: 'required',
    OPERATOR_KEY: operatorKey,
  });
  const as = () => ({ apiKey: anyDocumentKey });

  beforeAll(async () => {
    [dataDir, distDir] = await Promise.all([
      mkdtemp(join(tmpdir(), 'storefront-data-')),
      mkdtemp(join(tmpdir(), 'storefront-dist-')),
    ]);
    database = await isolatedDatabase('storefront');
    apiPort = await freePort();
    // The build `npm run storefront` makes, into a folder of this run (other runs may build meanwhile).
    const build = run(
      process.execPath,
      [
        join(ROOT, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'examples/storefront/vite.config.ts',
        '--outDir',
        distDir,
        '--emptyOutDir',
      ],
      { cwd: ROOT },
    );
    const launched = launchChromium();
    [api, browser] = await Promise.all([startTestApp(apiEnv()), launched, build]);
    apiRunning = true;
    // As an operator deploys it: the page's documents published for its tenant (on PGlite the
    // command goes through the running API, which holds the folder), and a key for the test's text.
    const env = cliEnv({ DATA_DIR: dataDir, DATABASE_URL: database.url });
    const cli = (script: string, args: string[]) =>
      run(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { cwd: ROOT, env });
    const [published, created] = await Promise.all([
      cli('documents', ['publish', '--tenant', tenant.name, '--app', 'storefront', '--version', 'test', MANIFEST_FILE]),
      cli('apikey', ['create', '--tenant', tenant.name, '--any-document', '--label', 'storefront test']),
    ]);
    expect(published.stdout).toContain(`published storefront test for ${tenant.name}`);
    anyDocumentKey = created.stdout.trim();
    const storefrontPort = await freePort();
    storefront = await startServerProcess(
      'storefront',
      {
        STOREFRONT_PORT: String(storefrontPort),
        API_URL: api.url,
        STOREFRONT_API_KEY: tenant.key,
        STOREFRONT_DIST: distDir,
      },
      30_000,
      { args: ['--import', 'tsx', 'examples/storefront/serve.ts'], port: storefrontPort, healthPath: '/config.js' },
    );
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stopServerProcess(storefront);
    if (apiRunning) await api.stop();
    await database?.drop();
    await Promise.all([dataDir, distDir].map((dir) => dir && rm(dir, { recursive: true, force: true })));
  });

  /** A fresh browser context on the storefront, live updates connected; fails the test on any page error or any document sent as text. */
  async function openStorefront(viewport = DESKTOP, path = '/'): Promise<{ page: Page; sockets: string[] }> {
    const context = await browser.newContext({ viewport, locale: 'en-US' });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    const sockets: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    /** Every GraphQL request and graphql-ws subscribe the page sent. */
    const sent: string[] = [];
    page.on('websocket', (socket) => {
      sockets.push(socket.url());
      socket.on('framesent', ({ payload }) => {
        if (String(payload).includes('"subscribe"')) sent.push(`ws ${String(payload)}`);
      });
    });
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql')
        sent.push(`${request.method()} ${request.url()} ${request.postData() ?? ''}`);
    });
    onTestFailed(async () => {
      mkdirSync(RESULTS_DIR, { recursive: true });
      await page.screenshot({ path: join(RESULTS_DIR, 'failure.png'), fullPage: true }).catch(() => undefined);
    });
    onTestFinished(async () => {
      await context.close();
      expect(pageErrors).toEqual([]);
      // Hashes only: no request carried a document's text, and queries went by GET.
      expect(sent.filter((line) => /query \w|mutation \w|subscription \w|[?&]query=/.test(line))).toEqual([]);
      expect(sent.some((line) => line.startsWith(`GET `) && line.includes('extensions='))).toBe(true);
    });
    await page.goto(new URL(path, storefront.url).href);
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('live');
    return { page, sockets };
  }

  /** Picks a provider the way a shopper does: its label, then the option. */
  const choose = (page: Page, provider: 'SMARTCHECKOUT' | 'PAYERVAULT' | 'STAN') =>
    page.getByLabel('Pay with').selectOption(provider);

  /** The id of the checkout the panel shows, once it shows one. */
  async function shownCheckoutId(page: Page): Promise<string> {
    await page.getByTestId('checkout').waitFor();
    return (await page.getByTestId('checkout').getAttribute('data-id'))!;
  }

  /** The GraphQL request the page sends for `operation` (by its hash) while `action` runs. */
  async function requestOf(page: Page, operation: string, action: () => Promise<void>): Promise<Request> {
    const hash = hashOf(operation);
    const sent = page.waitForRequest((request) => request.postData()?.includes(hash) === true);
    await action();
    return sent;
  }

  it('Smartcheckout: buys, then follows PROCESSING to COMPLETED live, with the total in dollars and the history', async () => {
    const { page, sockets } = await openStorefront(DESKTOP);
    // Every status the panel shows, in order (the poller may complete the purchase within a second).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seenStatuses: string[] }).seenStatuses = seen;
      const status = document.querySelector('[data-testid="status"]')!;
      new MutationObserver(() => {
        if (status.textContent && seen.at(-1) !== status.textContent) seen.push(status.textContent);
      }).observe(status, { childList: true, characterData: true, subtree: true });
    });
    await choose(page, 'SMARTCHECKOUT');
    await page.getByLabel('Product page').fill('https://shop.example/item?sandbox_after_polls=2&sandbox_amount=49.99');
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByTestId('buy').click();

    const id = await shownCheckoutId(page);
    // Focus follows the purchase to its status, for keyboard and screen-reader users.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('checkout-heading');
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 15_000 }).toBe('COMPLETED');
    expect(await page.evaluate(() => (window as unknown as { seenStatuses: string[] }).seenStatuses)).toEqual([
      'PROCESSING',
      'COMPLETED',
    ]);
    expect(await page.getByTestId('total').textContent()).toBe('$49.99');
    expect(await page.getByTestId('status-explanation').textContent()).toContain('the purchase went through');
    const events = await page.getByTestId('event').allTextContents();
    expect(events.map((text) => text.split(' · ')[0])).toEqual(['PENDING', 'PROCESSING', 'COMPLETED']);
    expect(await page.getByTestId('checkout-link').isHidden()).toBe(true);

    // The recent list has the row, updated live too, and it agrees with the API.
    const row = page.locator(`[data-testid="checkout-row"][data-id="${id}"]`);
    expect(await row.getByTestId('row-status').textContent()).toBe('COMPLETED');
    const stored = clean(await api.request(CheckoutDocument, { id }, as())).checkout;
    expect(stored?.status).toBe('COMPLETED');
    expect(stored?.total).toMatchObject({ amount: 4999, currency: 'USD' });
    // Live over the API's WebSocket, not by polling.
    expect(sockets).toEqual([`${api.url.replace(/^http/, 'ws')}/graphql`]);

    mkdirSync(RESULTS_DIR, { recursive: true });
    const screenshot = join(RESULTS_DIR, 'desktop.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  }, 30_000);

  it('follows a purchase live over SSE with ?live=sse: by hash, no WebSocket', async () => {
    const { page, sockets } = await openStorefront(DESKTOP, '/?live=sse');
    const streams: string[] = [];
    page.on('request', (request) => {
      if (request.headers().accept === 'text/event-stream') streams.push(request.url());
    });
    await choose(page, 'SMARTCHECKOUT');
    await page.getByLabel('Product page').fill('https://shop.example/item?sandbox_after_polls=2&sandbox_amount=5.00');
    await page.getByLabel('Email').fill('sse@example.com');
    await page.getByTestId('buy').click();
    await shownCheckoutId(page);
    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 15_000 }).toBe('COMPLETED');
    expect(sockets).toEqual([]);
    expect(streams).toHaveLength(1);
    expect(new URL(streams[0]!).searchParams.get('extensions')).toContain(hashOf('WatchCheckout'));
  }, 30_000);

  it('PayerVault: shows the link to the hosted checkout page the API returned', async () => {
    const { page } = await openStorefront(DESKTOP);
    await choose(page, 'PAYERVAULT');
    await page.getByLabel('PayerVault customer id').fill('cust-storefront-1');
    await page.getByTestId('buy').click();

    const id = await shownCheckoutId(page);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('OPEN');
    const stored = clean(await api.request(CheckoutDocument, { id }, as())).checkout;
    expect(stored?.checkoutUrl).toMatch(/^https?:\/\//);
    const link = page.getByTestId('checkout-link');
    expect(await link.isVisible()).toBe(true);
    expect(await link.getAttribute('href')).toBe(stored?.checkoutUrl);
    expect(await page.getByTestId('status-explanation').textContent()).toContain('open the checkout page');
  });

  it('Stan at phone width: computes subtotal, discount, tax and total, sends them, and shows the API’s total', async () => {
    const { page } = await openStorefront(PHONE);
    await choose(page, 'STAN');
    await page.getByTestId('line-product-id').fill('sku-1');
    await page.getByTestId('line-quantity').fill('2');
    await page.getByTestId('line-unit-price').fill('12.50');
    await page.getByTestId('add-line').click();
    const second = page.getByTestId('line-item').nth(1);
    // "Add an item" puts the keyboard in the new line.
    await expect
      .poll(() => second.getByTestId('line-product-id').evaluate((input) => input === document.activeElement))
      .toBe(true);
    await second.getByTestId('line-product-id').fill('sku-2');
    await second.getByTestId('line-unit-price').fill('3.99');
    await page.getByLabel('Discount').fill('1.00');
    await page.getByLabel('Tax rate (%)').fill('20');

    // 2 × 12.50 + 3.99 = 28.99; 20% of 27.99 = 5.598, rounded half up to 5.60; total 33.59.
    const shown = async () =>
      Object.fromEntries(
        await Promise.all(
          ['subtotal', 'discount', 'tax', 'total'].map(async (part) => [
            part,
            await page.getByTestId(`stan-${part}`).textContent(),
          ]),
        ),
      );
    expect(await shown()).toEqual({ subtotal: '€28.99', discount: '€1.00', tax: '€5.60', total: '€33.59' });

    const sent = await requestOf(page, 'BuyStanCheckout', () => page.getByTestId('buy').click());
    const { input } = (sent.postDataJSON() as { variables: { input: Record<string, unknown> } }).variables;
    expect(input).toMatchObject({
      lineItems: [
        { productId: 'sku-1', quantity: 2, unitPrice: 1250 },
        { productId: 'sku-2', quantity: 1, unitPrice: 399 },
      ],
      discountAmount: 100,
      taxRate: 20,
      subtotalAmount: 2899,
      totalAmount: 3359,
    });
    const id = await shownCheckoutId(page);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('OPEN');
    expect(await page.getByTestId('total').textContent()).toBe('€33.59');
    const stored = clean(await api.request(CheckoutDocument, { id }, as())).checkout;
    expect(stored?.total).toMatchObject({ amount: 3359, currency: 'EUR' });
    // Stan's documented answer has no page address, only its checkout id: the page links only
    // to an address the API has, and otherwise shows Stan's reference.
    expect(stored?.checkoutUrl).toBeNull();
    expect(await page.getByTestId('checkout-link').isHidden()).toBe(true);
    expect(await page.getByTestId('provider-reference').textContent()).toBe(
      `Stan reference: ${stored?.providerCheckoutId}`,
    );

    // Usable on a phone: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const screenshot = join(RESULTS_DIR, 'phone.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  });

  it('PayerVault with an empty cart: explains it in words and creates no checkout', async () => {
    const { page } = await openStorefront(DESKTOP);
    await choose(page, 'PAYERVAULT');
    await page.getByLabel('PayerVault customer id').fill('empty-cart-1');
    const sent = await requestOf(page, 'BuyPayerVaultCheckout', () => page.getByTestId('buy').click());
    expect(await (await sent.response())!.text()).toContain('"EmptyCartError"');

    const problem = page.getByTestId('problem');
    await problem.waitFor();
    expect(await problem.textContent()).toBe(
      'This customer’s cart at PayerVault is empty: add products to the cart, then buy again.',
    );
    expect(await problem.getAttribute('role')).toBe('alert');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('problem');
    expect(await page.getByTestId('checkout').isHidden()).toBe(true);
  });

  it('shows a ValidationError next to the field its path names', async () => {
    const { page } = await openStorefront(DESKTOP);
    await choose(page, 'SMARTCHECKOUT');
    await page.getByLabel('Product page').fill('https://shop.example/item');
    await page.getByLabel('Email').fill('not-an-email');
    const sent = await requestOf(page, 'BuySmartCheckout', () => page.getByTestId('buy').click());
    // The API refused it (the page does not validate the email itself).
    const answer = await (await sent.response())!.text();
    expect(answer).toContain('"ValidationError"');
    expect(answer).toContain('["input","email"]');

    const email = page.getByLabel('Email');
    await expect.poll(() => email.getAttribute('aria-invalid')).toBe('true');
    const errorId = (await email.getAttribute('aria-describedby'))!;
    const error = page.locator(`#${errorId}`);
    expect(await error.textContent()).toBe('must be a valid email address');
    // It is the email field's own error, and the only one.
    expect(await page.locator('#email-error').isVisible()).toBe(true);
    expect(await page.getByTestId('field-error').filter({ visible: true }).count()).toBe(1);
    expect(await page.getByLabel('Product page').getAttribute('aria-invalid')).toBeNull();
    expect(await email.evaluate((input) => input === document.activeElement)).toBe(true);
  });

  it('reconnects after the API restarts and shows the change made while it was down', async () => {
    const { page, sockets } = await openStorefront(DESKTOP);
    await choose(page, 'PAYERVAULT');
    await page.getByLabel('PayerVault customer id').fill('cust-storefront-reconnect');
    await page.getByTestId('buy').click();
    const id = await shownCheckoutId(page);
    await expect.poll(() => page.getByTestId('status').textContent()).toBe('OPEN');

    apiRunning = false;
    await api.stop();
    await expect.poll(() => page.getByTestId('connection').getAttribute('data-state')).toBe('reconnecting');
    // While no API runs, an operator records what PayerVault reported (npm run checkout:resolve).
    await run(
      process.execPath,
      ['--import', 'tsx', 'src/cli/resolve-checkout.ts', id, '--status', 'COMPLETED', '--note', 'Paid at PayerVault'],
      { cwd: ROOT, env: cliEnv({ DATA_DIR: dataDir, DATABASE_URL: database.url }) },
    );
    api = await startTestApp(apiEnv());
    apiRunning = true;
    expect(api.url).toBe(`http://127.0.0.1:${apiPort}`);

    await expect.poll(() => page.getByTestId('status').textContent(), { timeout: 20_000 }).toBe('COMPLETED');
    expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('live');
    const events = await page.getByTestId('event').allTextContents();
    expect(events.at(-1)).toMatch(/^COMPLETED · operator · .*Paid at PayerVault$/);
    const row = page.locator(`[data-testid="checkout-row"][data-id="${id}"]`);
    expect(await row.getByTestId('row-status').textContent()).toBe('COMPLETED');
    // A final status: the link to pay is gone.
    expect(await page.getByTestId('checkout-link').isHidden()).toBe(true);
    expect(sockets.length).toBeGreaterThanOrEqual(2);
  }, 45_000);
});

/** The environment of the operator's CLI: this run's database, no DATABASE_URL when on PGlite. */
function cliEnv(vars: { DATA_DIR: string; DATABASE_URL: string | undefined }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', DATA_DIR: vars.DATA_DIR };
  if (vars.DATABASE_URL) env.DATABASE_URL = vars.DATABASE_URL;
  else delete env.DATABASE_URL;
  return env;
}
