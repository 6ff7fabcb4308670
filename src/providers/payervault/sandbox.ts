import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { withSandboxFaults } from '../sandbox-faults.js';
import { sendJson, startSandboxServer, type RunningSandbox, type SandboxHandler } from '../sandbox-http.js';
import {
  PAYERVAULT_ACCESS_KEY_HEADER,
  PAYERVAULT_ACCESS_SECRET_HEADER,
  PAYERVAULT_CHECKOUT_LINK_PATH,
  type PayerVaultCheckoutLink,
  type PayerVaultErrorResponse,
} from './contract.js';

/** Credentials the sandbox accepts, as its `accessKey` and `accessSecret` headers. */
export interface PayerVaultSandboxOptions {
  accessKey: string;
  accessSecret: string;
  /**
   * Serve the fault-injection endpoint `/__faults` (loopback only; see `withSandboxFaults`).
   * Operation: `link` (GET /api/v1/checkout-link/{customer_id}). Off by default.
   */
  faults?: boolean;
}

/** The documented operations of PayerVault, as the fault layer names them. */
const PAYERVAULT_SANDBOX_OPERATIONS = ['link'] as const;

const CHECKOUT_PAGE_PATH = '/checkout/';

/**
 * A stand-in for PayerVault speaking its documented contract. Scenario controls:
 * a customer id starting with `empty` has an empty cart (404), one starting with `error` gets a 500;
 * any other id gets a link to `GET /checkout/{id}` on this sandbox, a tiny HTML page.
 */
function createPayerVaultSandbox(options: PayerVaultSandboxOptions): SandboxHandler {
  const expectedKey = digest(options.accessKey);
  const expectedSecret = digest(options.accessSecret);
  const authorised = (req: IncomingMessage) =>
    matches(headerValue(req, PAYERVAULT_ACCESS_KEY_HEADER), expectedKey) &&
    matches(headerValue(req, PAYERVAULT_ACCESS_SECRET_HEADER), expectedSecret);

  const handler: SandboxHandler = (req, res) => {
    const path = rawPath(req);
    if (path.startsWith(PAYERVAULT_CHECKOUT_LINK_PATH)) return linkRoute(req, res, path, authorised);
    if (path.startsWith(CHECKOUT_PAGE_PATH)) return pageRoute(req, res, path);
    return notFound(res);
  };
  if (!options.faults) return handler;
  return withSandboxFaults(handler, {
    operations: PAYERVAULT_SANDBOX_OPERATIONS,
    // The same routing as the handler, so a fault never lands on a request it would refuse as 404/405.
    operationOf: (req) => (req.method === 'GET' && linkSegment(rawPath(req)) !== null ? 'link' : null),
    authorized: authorised,
  });
}

/** `GET /api/v1/checkout-link/{customer_id}`: the scenario is chosen by the customer id's prefix. */
function linkRoute(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  authorised: (req: IncomingMessage) => boolean,
) {
  const segment = linkSegment(path);
  if (segment === null) return notFound(res);
  if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
  if (!authorised(req)) return error(res, 401, 'Unauthorized');
  const customerId = decodeSegment(segment);
  if (customerId === null) return error(res, 400, 'Invalid customer id');
  if (customerId.startsWith('empty')) return error(res, 404, 'No products in cart');
  if (customerId.startsWith('error')) return error(res, 500, 'Internal Server Error');
  const body: PayerVaultCheckoutLink = {
    url: `${originOf(req)}${CHECKOUT_PAGE_PATH}${encodeURIComponent(customerId)}`,
  };
  sendJson(res, 200, body);
}

/** `GET /checkout/{customer_id}`: the hosted page the link points to (not a documented API). */
function pageRoute(req: IncomingMessage, res: ServerResponse, path: string) {
  const segment = path.slice(CHECKOUT_PAGE_PATH.length);
  const customerId = segment === '' || segment.includes('/') ? null : decodeSegment(segment);
  if (customerId === null) return notFound(res);
  if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
  sendCheckoutPage(res, req.method === 'HEAD', customerId);
}

/** The request path without its query. Raw, not `new URL(...)`: URL parsing would resolve dot segments the client never sent. */
function rawPath(req: IncomingMessage): string {
  return (req.url ?? '/').split('?', 1)[0] ?? '/';
}

/** The customer id segment of a checkout-link path, or null when the path is not one. */
function linkSegment(path: string): string | null {
  if (!path.startsWith(PAYERVAULT_CHECKOUT_LINK_PATH)) return null;
  const segment = path.slice(PAYERVAULT_CHECKOUT_LINK_PATH.length);
  return segment === '' || segment.includes('/') ? null : segment;
}

/** Starts the PayerVault sandbox on loopback (port 0 picks a free port). */
export function startPayerVaultSandbox(
  options: PayerVaultSandboxOptions & { port?: number; host?: string },
): Promise<RunningSandbox> {
  const { port, host, ...settings } = options;
  return startSandboxServer(createPayerVaultSandbox(settings), { port, host });
}

function error(res: ServerResponse, status: number, message: string): void {
  const body: PayerVaultErrorResponse = { message };
  sendJson(res, status, body);
}

function notFound(res: ServerResponse): void {
  error(res, 404, 'Not found');
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  error(res, 405, 'Method Not Allowed');
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Compares digests so the time taken says nothing about how much of a credential was right. */
function matches(given: string | undefined, expected: Buffer): boolean {
  return given !== undefined && timingSafeEqual(digest(given), expected);
}

function decodeSegment(segment: string): string | null {
  try {
    const decoded = decodeURIComponent(segment);
    return decoded === '' ? null : decoded;
  } catch {
    return null;
  }
}

const HOST_PATTERN = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The origin the caller used to reach us, so the link works from wherever the sandbox was called. */
function originOf(req: IncomingMessage): string {
  const host = req.headers.host;
  if (host && HOST_PATTERN.test(host)) return `http://${host}`;
  const address = req.socket.localAddress ?? '127.0.0.1';
  return `http://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort ?? 80}`;
}

function sendCheckoutPage(res: ServerResponse, headOnly: boolean, customerId: string): void {
  const text = `PayerVault sandbox checkout for ${escapeHtml(customerId)}`;
  const html = `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${text}</title></head><body><h1>${text}</h1></body></html>\n`;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'content-security-policy': "default-src 'none'",
  });
  res.end(headOnly ? undefined : html);
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
