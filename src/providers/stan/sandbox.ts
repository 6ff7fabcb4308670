import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { computeStanTotals } from './totals.js';
import { withSandboxFaults } from '../sandbox-faults.js';
import {
  BadRequestBody,
  readJsonBody,
  sendJson,
  startSandboxServer,
  type RunningSandbox,
  type SandboxHandler,
} from '../sandbox-http.js';
import {
  STAN_CHECKOUTS_PATH,
  stanCreateCheckoutRequestSchema,
  type StanCheckoutResponse,
  type StanMerchant,
} from './contract.js';

/** Credentials the sandbox accepts, as Stan issues them to a merchant. */
export interface StanSandboxOptions {
  clientId: string;
  clientSecret: string;
  /**
   * Serve the fault-injection endpoint `/__faults` (loopback only; see `withSandboxFaults`).
   * Operation: `create` (POST /v1/checkouts). Off by default.
   */
  faults?: boolean;
}

/** The documented operations of Stan, as the fault layer names them. */
const STAN_SANDBOX_OPERATIONS = ['create'] as const;

const SANDBOX_SITE = 'https://sandbox.stan-app.fr';

/** The one merchant every sandbox checkout belongs to. */
const STAN_SANDBOX_MERCHANT: Readonly<Required<{ [K in keyof StanMerchant]: string }>> = Object.freeze({
  name: 'Stan Sandbox Shop',
  website: SANDBOX_SITE,
  privacy_policy_url: `${SANDBOX_SITE}/privacy`,
  general_terms_url: `${SANDBOX_SITE}/terms`,
  logo_url: `${SANDBOX_SITE}/logo.png`,
});

/**
 * A stand-in for Stan's `POST /v1/checkouts`: Basic auth, the documented JSON body checked
 * field by field, and the documented response. Every checkout is in test mode and belongs to
 * `STAN_SANDBOX_MERCHANT`. It is stricter than Stan promises about totals: amounts that do not
 * add up are refused, the same rule our API applies before calling, so a bug on our side shows.
 */
function createStanSandbox(options: StanSandboxOptions): SandboxHandler {
  const expected = digest(`${options.clientId}:${options.clientSecret}`);
  const authorized = (req: IncomingMessage): boolean => {
    // The scheme is case-insensitive (RFC 9110); the credentials are not.
    const match = /^basic +([A-Za-z0-9+/]+={0,2})\s*$/i.exec(req.headers.authorization ?? '');
    if (!match) return false;
    // Compare digests so the comparison takes the same time whatever was sent.
    return timingSafeEqual(digest(Buffer.from(match[1]!, 'base64').toString('utf8')), expected);
  };

  const handler: SandboxHandler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== STAN_CHECKOUTS_PATH) return sendJson(res, 404, { message: 'Not Found' });
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return sendJson(res, 405, { message: 'Method Not Allowed' });
    }
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Basic realm="Stan"');
      return sendJson(res, 401, { message: 'Invalid or missing client credentials' });
    }
    return createRoute(req, res);
  };
  if (!options.faults) return handler;
  return withSandboxFaults(handler, {
    operations: STAN_SANDBOX_OPERATIONS,
    // The same routing as the handler, so a fault never lands on a request it would refuse as 404/405.
    operationOf: (req) =>
      (req.url ?? '/').split('?')[0] === STAN_CHECKOUTS_PATH && req.method === 'POST' ? 'create' : null,
    authorized,
  });
}

/** `POST /v1/checkouts` once routed and authorised: the JSON body checked field by field and by its totals. */
async function createRoute(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') {
    return sendJson(res, 415, { message: 'Content-Type must be application/json' });
  }
  let raw: unknown;
  try {
    raw = await readJsonBody(req);
  } catch (error) {
    if (error instanceof BadRequestBody) {
      return sendJson(res, error.message.includes('too large') ? 413 : 400, { message: error.message });
    }
    throw error;
  }
  const parsed = stanCreateCheckoutRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const message = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`)
      .join('; ');
    return sendJson(res, 400, { message });
  }
  const body = parsed.data;
  const totals = computeStanTotals({
    lineItems: body.line_items.map((item) => ({
      quantity: item.quantity,
      unitPrice: item.unit_price,
      discountAmount: item.discount_amount,
    })),
    discountAmount: body.discount_amount,
    taxRate: body.tax_rate,
    taxCost: body.tax_cost,
    subtotalAmount: body.subtotal_amount,
    totalAmount: body.total_amount,
  });
  if (!totals.ok) {
    const message = totals.fieldErrors.map((error) => `${toWirePath(error.path)}: ${error.message}`).join('; ');
    return sendJson(res, 400, { message });
  }
  const checkout: StanCheckoutResponse = {
    id: randomUUID(),
    total_amount: totals.total,
    total_amount_before_discount: totals.totalBeforeDiscount,
    subtotal_amount: totals.subtotal,
    discount_amount: totals.discount,
    tax_rate: body.tax_rate ?? null,
    discount_code: body.discount_code ?? null,
    is_testmode: true,
    line_items: body.line_items,
    merchant: { ...STAN_SANDBOX_MERCHANT },
    session_id: body.session_id ?? null,
    order_id: body.order_id ?? null,
  };
  return sendJson(res, 200, checkout);
}

/** Starts the Stan sandbox on loopback (port 0 by default) and returns its origin. */
export function startStanSandbox(
  options: StanSandboxOptions & { port?: number; host?: string },
): Promise<RunningSandbox> {
  const { port, host, ...settings } = options;
  return startSandboxServer(createStanSandbox(settings), { port, host });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** ['input', 'lineItems', '0', 'discountAmount'] -> 'line_items.0.discount_amount'. */
function toWirePath(path: string[]): string {
  return path
    .filter((segment, i) => !(i === 0 && segment === 'input'))
    .map((segment) => segment.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`))
    .join('.');
}
