import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { useTestApp } from './support/app.js';
import { chromiumAvailable, launchChromium } from './support/chromium.js';

// Subscriptions work from GraphiQL over WebSocket, as a developer trying the API would use them:
// checked in a real browser (Debian's chromium driven by playwright-core) through GraphiQL's own
// editor, run button and result pane.
const HAS_CHROMIUM = chromiumAvailable('browser test');

const RESULTS_DIR = fileURLToPath(new URL('../test-results/', import.meta.url));
const SCREENSHOT = `${RESULTS_DIR}graphiql-subscription.png`;
const QUERY_EDITOR = '.graphiql-query-editor .monaco-editor';
const RESULT_PANE = '.graphiql-response';
const HEADERS_EDITOR = 'section.graphiql-editor-tool .graphiql-editor:not(.hidden) .monaco-editor';

/** Replaces the whole content of a GraphiQL (Monaco) editor the way a user would: focus, select all, type. */
async function setEditorText(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector).first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText enters the text as one input, so the editor's bracket and quote auto-closing
  // does not double what is typed.
  await page.keyboard.insertText(text);
  // Back to the start, so the editor scrolls to show the operation's beginning.
  await page.keyboard.press('ControlOrMeta+Home');
}

/**
 * Waits until GraphiQL has parsed the editor's new content: the active tab is named after its
 * operation. Clicking run before that would act on the previous document (the default one has
 * several operations, so the button opens an operation menu instead of running).
 */
async function waitForOperation(page: Page, name: string): Promise<void> {
  await page.locator('.graphiql-tab-active').getByText(name, { exact: true }).waitFor();
}

describe.runIf(HAS_CHROMIUM)('GraphiQL in Chromium', () => {
  // With API keys, as in production: the key goes in GraphiQL's Headers editor, which GraphiQL
  // sends over HTTP and, for graphql-ws, in each subscribe message's extensions.
  const t = useTestApp({ POLLER: 'on', POLL_INTERVAL_MS: '300', POLL_MAX_INTERVAL_MS: '600' });
  let browser: Browser | undefined;

  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('runs createSmartCheckout, then watches checkoutStatusChanged go PROCESSING -> COMPLETED over WebSocket', async () => {
    const page = await browser!.newPage({ viewport: { width: 1600, height: 900 } });
    onTestFinished(() => page.close());
    page.setDefaultTimeout(20_000);
    try {
      await checkoutThenSubscribe(page, t.url, t.keys.a!);
    } catch (error) {
      // What the page looked like when it went wrong, next to CI's other results.
      mkdirSync(RESULTS_DIR, { recursive: true });
      await page
        .screenshot({ path: `${RESULTS_DIR}graphiql-subscription-failure.png`, fullPage: true })
        .catch(() => undefined);
      throw error;
    }
  }, 90_000);
});

/** The user's path through GraphiQL: buy, copy the id from the result, subscribe, watch it complete. */
async function checkoutThenSubscribe(page: Page, baseUrl: string, apiKey: string): Promise<void> {
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Frames the server sent over GraphiQL's WebSocket: proof the subscription did not fall back to SSE.
  const received: string[] = [];
  const sockets: string[] = [];
  page.on('websocket', (socket) => {
    sockets.push(socket.url());
    socket.on('framereceived', (frame) => received.push(String(frame.payload)));
  });

  // GraphiQL introspects on load, before a key is entered: that first attempt is refused (401).
  const firstIntrospection = page.waitForResponse(
    (response) => response.request().postData()?.includes('IntrospectionQuery') === true,
  );
  await page.goto(`${baseUrl}/graphql`);
  expect((await firstIntrospection).status()).toBe(401);
  await page.waitForSelector(QUERY_EDITOR);

  // Enter the API key in the Headers editor, then have GraphiQL fetch the schema again with it.
  await page.getByRole('button', { name: 'Headers' }).click();
  await setEditorText(page, HEADERS_EDITOR, JSON.stringify({ authorization: `Bearer ${apiKey}` }));
  const introspected = page.waitForResponse(
    (response) => response.request().postData()?.includes('IntrospectionQuery') === true,
  );
  await page.getByRole('button', { name: /Re-fetch GraphQL schema/i }).click();
  expect((await introspected).status()).toBe(200);

  await setEditorText(
    page,
    QUERY_EDITOR,
    'mutation BuyInBrowser { createSmartCheckout(input: { productUrl: "https://shop.example/item?sandbox_after_polls=3&sandbox_amount=49.99", ' +
      'email: "ada@example.com" }) { __typename ... on CreateSmartCheckoutSuccess { checkout { id status } } ... on Error { message } } }',
  );
  await waitForOperation(page, 'BuyInBrowser');
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(
    `document.querySelector(${JSON.stringify(RESULT_PANE)})?.innerText.includes('CreateSmartCheckoutSuccess')`,
  );
  // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, as the page shows it.
  const created = await page.locator(RESULT_PANE).innerText();
  // The pane wraps long lines, so the id may be split across lines: ids carry no whitespace.
  const id = /"id":\s*"([^"]+)"/.exec(created)?.[1]?.replace(/\s+/g, '');
  expect(id, created).toMatch(/^[A-Za-z0-9+/=]+$/);

  await setEditorText(
    page,
    QUERY_EDITOR,
    `subscription WatchInBrowser { checkoutStatusChanged(id: "${id}") { status total { decimal } } }`,
  );
  await waitForOperation(page, 'WatchInBrowser');
  // Spread over several lines, so the screenshot shows the operation rather than the end of one line.
  await page.getByRole('button', { name: /^Prettify query/ }).click();
  await page.locator('.graphiql-execute-button').click();

  // GraphiQL shows only the latest event: poll the pane and keep each status in the order seen.
  const seen: string[] = [];
  let text = '';
  const deadline = Date.now() + 30_000;
  while (!seen.includes('COMPLETED') && Date.now() < deadline) {
    // biome-ignore lint/performance/useDomNodeTextContent: Playwright's innerText, as the page shows it.
    text = await page.locator(RESULT_PANE).innerText();
    // Until the first event arrives the pane still shows the mutation's result (also PROCESSING).
    const status = text.includes('checkoutStatusChanged') ? /"status":\s*"([A-Z_]+)"/.exec(text)?.[1] : undefined;
    if (status && seen.at(-1) !== status) seen.push(status);
    if (/"errors"/.test(text)) break;
    await page.waitForTimeout(50);
  }
  expect(seen, text).toEqual(['PROCESSING', 'COMPLETED']);
  expect(text.replace(/\s+/g, '')).toContain('"total":{"decimal":"49.99"}');

  expect(sockets).toEqual([`${baseUrl.replace(/^http/, 'ws')}/graphql`]);
  const events = received.map(
    (frame) =>
      JSON.parse(frame) as { type: string; payload?: { data?: { checkoutStatusChanged?: { status: string } } } },
  );
  expect(events.filter((m) => m.type === 'next').map((m) => m.payload?.data?.checkoutStatusChanged?.status)).toEqual([
    'PROCESSING',
    'COMPLETED',
  ]);
  expect(events.map((m) => m.type).filter((type) => type !== 'ping' && type !== 'pong')).toEqual([
    'connection_ack',
    'next',
    'next',
    'complete',
  ]);
  expect(pageErrors).toEqual([]);

  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(existsSync(SCREENSHOT)).toBe(true);
  expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
}
