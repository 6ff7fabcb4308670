import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  BadRequestBody,
  readJsonBody,
  sendJson,
  startSandboxServer,
  type RunningSandbox,
  type SandboxHandler,
} from '../sandbox-http.js';
import { withSandboxFaults } from '../sandbox-faults.js';
import { SMARTCHECKOUT_CREATE_PATH, SmartcheckoutCreateRequestSchema, type SmartcheckoutStatus } from './contract.js';

/** Settings of a Smartcheckout sandbox. */
export interface SmartcheckoutSandboxOptions {
  /**
   * The API key(s) the sandbox accepts as `Authorization: Bearer <key>`. Each checkout belongs to
   * the key that created it and is invisible (404) to the others, as on a multi-account service.
   */
  apiKey: string | readonly string[];
  /**
   * Serve the fault-injection endpoint `/__faults` (loopback only; see `withSandboxFaults`).
   * Operations: `create` (POST /v0/checkout) and `status` (GET /v0/checkout/{id}). Off by default.
   */
  faults?: boolean;
}

/** The documented operations of Smartcheckout, as the fault layer names them. */
const SMARTCHECKOUT_SANDBOX_OPERATIONS = ['create', 'status'] as const;

/** The scenario a product URL asks for through its `sandbox_*` query parameters. */
export interface SmartcheckoutSandboxScenario {
  outcome: 'completed' | 'failed';
  /** The status flips on this GET of the checkout (1 = the first poll already sees it). */
  afterPolls: number;
  /** Sent verbatim as `amount_str`, so tests can also feed the client amounts it must refuse. */
  amount: string;
  /** Sent verbatim as `currency`. */
  currency: string;
}

interface SandboxCheckout {
  id: string;
  owner: string;
  scenario: SmartcheckoutSandboxScenario;
  polls: number;
}

const DEFAULT_SCENARIO: SmartcheckoutSandboxScenario = {
  outcome: 'completed',
  afterPolls: 2,
  amount: '49.99',
  currency: 'USD',
};
const MAX_AFTER_POLLS = 1000;
const MAX_CONTROL_LENGTH = 64;
// A long-running dev server must not grow without bound; the oldest checkouts go first.
const MAX_CHECKOUTS = 10_000;
const FAILED_NOTE = 'Sandbox: the purchase could not be completed (sandbox_outcome=failed)';

/** Reads the scenario controls of a product URL; a string explains an invalid control. */
function smartcheckoutSandboxScenario(productUrl: string): SmartcheckoutSandboxScenario | string {
  const params = new URL(productUrl).searchParams;
  const scenario = { ...DEFAULT_SCENARIO };
  const outcome = params.get('sandbox_outcome');
  if (outcome !== null) {
    if (outcome !== 'completed' && outcome !== 'failed') return 'sandbox_outcome must be "completed" or "failed"';
    scenario.outcome = outcome;
  }
  const afterPolls = params.get('sandbox_after_polls');
  if (afterPolls !== null) {
    if (!/^\d{1,4}$/.test(afterPolls) || Number(afterPolls) < 1 || Number(afterPolls) > MAX_AFTER_POLLS) {
      return `sandbox_after_polls must be an integer from 1 to ${MAX_AFTER_POLLS}`;
    }
    scenario.afterPolls = Number(afterPolls);
  }
  const amount = params.get('sandbox_amount');
  if (amount !== null) {
    if (amount === '' || amount.length > MAX_CONTROL_LENGTH)
      return `sandbox_amount must be 1 to ${MAX_CONTROL_LENGTH} characters`;
    scenario.amount = amount;
  }
  const currency = params.get('sandbox_currency');
  if (currency !== null) {
    if (currency === '' || currency.length > MAX_CONTROL_LENGTH)
      return `sandbox_currency must be 1 to ${MAX_CONTROL_LENGTH} characters`;
    scenario.currency = currency;
  }
  return scenario;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** What one sandbox holds: its keys (as digests, one owner per key) and its checkouts. */
interface SandboxState {
  keyDigests: { owner: string; bytes: Buffer }[];
  checkouts: Map<string, SandboxCheckout>;
}

/**
 * A request handler speaking Smartcheckout's documented contract from memory: bearer auth,
 * `POST /v0/checkout` and `GET /v0/checkout/{id}`, with the scenario chosen by the product URL.
 */
function createSmartcheckoutSandbox(options: SmartcheckoutSandboxOptions): SandboxHandler {
  const keys = (typeof options.apiKey === 'string' ? [options.apiKey] : [...options.apiKey]).filter(
    (key) => key !== '',
  );
  if (keys.length === 0) throw new Error('The Smartcheckout sandbox needs a non-empty API key');
  // Comparing fixed-length digests keeps the check constant-time whatever the key length.
  const state: SandboxState = {
    keyDigests: keys.map((key) => ({ owner: digest(key).toString('hex'), bytes: digest(key) })),
    checkouts: new Map(),
  };
  const handler: SandboxHandler = async (req, res) => {
    const { isCollection, itemId } = route(req);
    if (!isCollection && itemId === null) return sendJson(res, 404, { message: 'Not Found' });
    const allowed = isCollection ? 'POST' : 'GET';
    if (req.method !== allowed) {
      res.setHeader('allow', allowed);
      return sendJson(res, 405, { message: 'Method Not Allowed' });
    }
    const owner = ownerOf(state, req);
    if (owner === null) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, { message: 'Invalid or missing API key' });
    }
    if (isCollection) return createRoute(state, req, res, owner);
    return statusRoute(state, res, itemId!, owner);
  };
  if (!options.faults) return handler;
  return withSandboxFaults(handler, {
    operations: SMARTCHECKOUT_SANDBOX_OPERATIONS,
    // The same routing as the handler, so a fault never lands on a request it would refuse as 404/405.
    operationOf: (req) => {
      const { isCollection, itemId } = route(req);
      if (isCollection) return req.method === 'POST' ? 'create' : null;
      return itemId !== null && req.method === 'GET' ? 'status' : null;
    },
    authorized: (req) => ownerOf(state, req) !== null,
  });
}

/** The owner id of the presented bearer key, or null. */
function ownerOf(state: SandboxState, req: IncomingMessage): string | null {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
  if (!match) return null;
  const presented = digest(match[1]!);
  let owner: string | null = null;
  for (const key of state.keyDigests) if (timingSafeEqual(key.bytes, presented)) owner = key.owner;
  return owner;
}

/** `POST /v0/checkout`: checks the body, reads the scenario from the product URL, answers `processing`. */
async function createRoute(
  state: SandboxState,
  req: IncomingMessage,
  res: ServerResponse,
  owner: string,
): Promise<void> {
  let body: unknown;
  try {
    body = await readJsonBody(req);
  } catch (error) {
    if (error instanceof BadRequestBody) return sendJson(res, 400, { message: error.message });
    throw error;
  }
  const parsed = SmartcheckoutCreateRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return sendJson(res, 400, { message: `Invalid request body: ${where}${issue?.message ?? 'invalid'}` });
  }
  const scenario = smartcheckoutSandboxScenario(parsed.data.url);
  if (typeof scenario === 'string') return sendJson(res, 400, { message: scenario });
  const id = randomUUID();
  if (state.checkouts.size >= MAX_CHECKOUTS) state.checkouts.delete(state.checkouts.keys().next().value!);
  state.checkouts.set(id, { id, owner, scenario, polls: 0 });
  const status: SmartcheckoutStatus = 'processing';
  sendJson(res, 200, { checkout_id: id, status });
}

/** `GET /v0/checkout/{id}`: the owner's checkout, flipping to its outcome on the scenario's poll. */
function statusRoute(state: SandboxState, res: ServerResponse, rawId: string, owner: string): void {
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    sendJson(res, 404, { message: 'Checkout not found' });
    return;
  }
  const checkout = state.checkouts.get(id);
  if (!checkout || checkout.owner !== owner) {
    sendJson(res, 404, { message: 'Checkout not found' });
    return;
  }
  checkout.polls += 1;
  const { scenario } = checkout;
  if (checkout.polls < scenario.afterPolls) {
    sendJson(res, 200, { id, status: 'processing', amount_str: null, currency: null, notes: '' });
  } else if (scenario.outcome === 'failed') {
    sendJson(res, 200, { id, status: 'failed', amount_str: null, currency: null, notes: FAILED_NOTE });
  } else {
    sendJson(res, 200, {
      id,
      status: 'completed',
      amount_str: scenario.amount,
      currency: scenario.currency,
      notes: '',
    });
  }
}

/** Which documented path a request is for: the collection (create) or one checkout (status). */
function route(req: IncomingMessage): { isCollection: boolean; itemId: string | null } {
  const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
  const isCollection = path === SMARTCHECKOUT_CREATE_PATH;
  const itemMatch = path.startsWith(`${SMARTCHECKOUT_CREATE_PATH}/`)
    ? path.slice(SMARTCHECKOUT_CREATE_PATH.length + 1)
    : null;
  const itemId = itemMatch !== null && itemMatch !== '' && !itemMatch.includes('/') ? itemMatch : null;
  return { isCollection, itemId };
}

/** Starts a Smartcheckout sandbox on loopback (port 0 by default picks a free port). */
export function startSmartcheckoutSandbox(
  options: SmartcheckoutSandboxOptions & { port?: number; host?: string },
): Promise<RunningSandbox> {
  const { port, host, ...settings } = options;
  return startSandboxServer(createSmartcheckoutSandbox(settings), { port, host });
}
