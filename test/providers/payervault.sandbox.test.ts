import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { EmptyCartError, ProviderError } from '../../src/domain/errors.js';
import { PayerVaultAdapter } from '../../src/providers/payervault/adapter.js';
import { PayerVaultClient } from '../../src/providers/payervault/client.js';
import { startPayerVaultSandbox } from '../../src/providers/payervault/sandbox.js';
import type { RunningSandbox } from '../../src/providers/sandbox-http.js';
import { rejectionOf } from '../support/errors.js';

const ACCESS_KEY = 'pv-sandbox-key';
const ACCESS_SECRET = 'pv-sandbox-secret-do-not-leak';

let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await startPayerVaultSandbox({ accessKey: ACCESS_KEY, accessSecret: ACCESS_SECRET, port: 0 });
});
afterAll(async () => {
  await sandbox.close();
});

function sandboxClient(credentials: { accessKey?: string; accessSecret?: string } = {}): PayerVaultClient {
  return new PayerVaultClient({
    baseUrl: sandbox.url,
    timeoutMs: 2000,
    accessKey: credentials.accessKey ?? ACCESS_KEY,
    accessSecret: credentials.accessSecret ?? ACCESS_SECRET,
  });
}

const authHeaders = { accessKey: ACCESS_KEY, accessSecret: ACCESS_SECRET };

/** A raw request with full control over the Host header, which fetch does not allow. */
function rawGet(path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(sandbox.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('PayerVault sandbox driven by the real client and adapter', () => {
  it('starts on a free loopback port', () => {
    expect(sandbox.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sandbox.url).not.toMatch(/:0$/);
  });

  it('returns a checkout link on this sandbox that opens a checkout page', async () => {
    const adapter = new PayerVaultAdapter(sandboxClient(), { testMode: true });
    const snapshot = await adapter.create({ customerId: 'a/b c' });
    expect(snapshot).toEqual({
      providerCheckoutId: null,
      status: 'OPEN',
      checkoutUrl: `${sandbox.url}/checkout/a%2Fb%20c`,
      testMode: true,
      details: { customerId: 'a/b c' },
    });

    const page = await fetch(snapshot.checkoutUrl!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('PayerVault sandbox checkout for a/b c');
  });

  it('escapes the customer id on the checkout page', async () => {
    const link = await sandboxClient().getCheckoutLink('<script>alert("x")</script>&');
    const html = await (await fetch(link.url)).text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('PayerVault sandbox checkout for &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;');
  });

  it('builds the link from the Host the request reached', async () => {
    const { port } = new URL(sandbox.url);
    const response = await rawGet('/api/v1/checkout-link/c%201', { ...authHeaders, host: `localhost:${port}` });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ url: `http://localhost:${port}/checkout/c%201` });
  });

  it('falls back to the local address when the Host header is unusable', async () => {
    const response = await rawGet('/api/v1/checkout-link/c1', { ...authHeaders, host: 'evil.example/"><x' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ url: `${sandbox.url}/checkout/c1` });
  });

  it('answers 404 "No products in cart" for a customer id starting with "empty"', async () => {
    const error = await rejectionOf(sandboxClient().getCheckoutLink('empty-cart-42'));
    expect(error).toBeInstanceOf(EmptyCartError);
    expect(error).toMatchObject({ customerId: 'empty-cart-42', providerMessage: 'No products in cart' });

    const adapter = new PayerVaultAdapter(sandboxClient(), { testMode: true });
    await expect(adapter.create({ customerId: 'empty' })).rejects.toBeInstanceOf(EmptyCartError);
  });

  it('answers 500 for a customer id starting with "error", a retryable ProviderError', async () => {
    const error = await rejectionOf(sandboxClient().getCheckoutLink('error-now'));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, httpStatus: 500, providerMessage: 'Internal Server Error' });
  });

  it('matches the scenario prefixes only at the start of the id', async () => {
    await expect(sandboxClient().getCheckoutLink('not-empty')).resolves.toEqual({
      url: `${sandbox.url}/checkout/not-empty`,
    });
    await expect(sandboxClient().getCheckoutLink('no-error')).resolves.toEqual({
      url: `${sandbox.url}/checkout/no-error`,
    });
  });

  it.each([
    ['a wrong access key', { accessKey: 'wrong' }],
    ['a wrong access secret', { accessSecret: 'wrong' }],
    ['an empty access secret', { accessSecret: '' }],
  ])('rejects %s with 401, a non-retryable ProviderError', async (_name, credentials) => {
    const error = await rejectionOf(sandboxClient(credentials).getCheckoutLink('c1'));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: false, httpStatus: 401, providerMessage: 'Unauthorized' });
  });

  it('checks credentials before the scenario controls', async () => {
    const error = await rejectionOf(sandboxClient({ accessSecret: 'wrong' }).getCheckoutLink('empty-1'));
    expect(error).toMatchObject({ httpStatus: 401 });
  });

  it.each([
    ['no headers', {}],
    ['only accessKey', { accessKey: ACCESS_KEY }],
    ['only accessSecret', { accessSecret: ACCESS_SECRET }],
    ['the credentials as a bearer token', { authorization: `Bearer ${ACCESS_KEY}:${ACCESS_SECRET}` }],
  ])('answers 401 JSON to a request with %s, without echoing credentials', async (_name, headers) => {
    const response = await fetch(`${sandbox.url}/api/v1/checkout-link/c1`, { headers });
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ message: 'Unauthorized' });
    expect(text).not.toContain(ACCESS_SECRET);
  });

  it('accepts the documented header names in any case, as HTTP does', async () => {
    const response = await fetch(`${sandbox.url}/api/v1/checkout-link/c1`, {
      headers: { ACCESSKEY: ACCESS_KEY, accesssecret: ACCESS_SECRET },
    });
    expect(response.status).toBe(200);
  });

  it.each([['POST'], ['PUT'], ['DELETE'], ['PATCH']])('refuses %s on the API path with 405 JSON', async (method) => {
    const response = await fetch(`${sandbox.url}/api/v1/checkout-link/c1`, {
      method,
      headers: { ...authHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ customer_id: 'c1' }),
    });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(await response.json()).toEqual({ message: 'Method Not Allowed' });
  });

  it.each([
    ['/'],
    ['/api/v1/checkout-link'],
    ['/api/v1/checkout-link/'],
    ['/api/v1/checkout-link/a/b'],
    ['/api/v2/checkout-link/c1'],
    ['/checkout/'],
  ])('answers 404 JSON "Not found" for %s', async (path) => {
    const response = await fetch(`${sandbox.url}${path}`, { headers: authHeaders });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ message: 'Not found' });
  });

  it('rejects a customer id with broken percent-encoding with 400', async () => {
    const response = await fetch(`${sandbox.url}/api/v1/checkout-link/%E0%A4%A`, { headers: authHeaders });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: 'Invalid customer id' });
  });

  it('serves the checkout page to GET and HEAD only, without credentials', async () => {
    const head = await fetch(`${sandbox.url}/checkout/c1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await fetch(`${sandbox.url}/checkout/c1`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('ignores a query string on the API path', async () => {
    const response = await fetch(`${sandbox.url}/api/v1/checkout-link/c1?live=true`, { headers: authHeaders });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ url: `${sandbox.url}/checkout/c1` });
  });
});
