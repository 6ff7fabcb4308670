import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { z } from 'zod';
import { BadRequestBody, readJsonBody, sendJson, type SandboxHandler } from './sandbox-http.js';

/** The admin path of the fault layer. Without `faults: true` it is an unknown path (404) like any other. */
const SANDBOX_FAULTS_PATH = '/__faults';

/**
 * The kinds of fault a sandbox can inject. `status` and `rate_limit` answer
 * without running the provider; every other kind lets the provider act and breaks only the answer,
 * which is what makes the outcome ambiguous for the caller.
 */
export const SANDBOX_FAULT_KINDS = [
  'latency',
  'status',
  'rate_limit',
  'reset',
  'hang',
  'malformed_json',
  'wrong_content_type',
  'truncated_body',
] as const;

/** One kind of injected fault. */
export type SandboxFaultKind = (typeof SANDBOX_FAULT_KINDS)[number];

/** Matches every documented operation of the sandbox; an exact operation name is preferred to it. */
const ANY_OPERATION = '*';

/** A queued fault as `GET /__faults` lists it. */
export interface SandboxFaultSummary {
  id: string;
  operation: string;
  fault: SandboxFaultKind;
  /** Matching requests this fault will still break. */
  remaining: number;
}

/** Requests seen for one documented operation since the sandbox started. */
export interface SandboxOperationCounters {
  /** Requests that reached the provider handler, including ones it refused (401, 400...). */
  received: number;
  /** Requests on which the provider acted (see `withSandboxFaults`), whatever answer the client got. */
  processed: number;
}

/** The body of `GET /__faults`. */
export interface SandboxFaultsState {
  faults: SandboxFaultSummary[];
  requests: Record<string, SandboxOperationCounters>;
}

/** How the fault layer recognises a provider's documented operations. */
export interface SandboxFaultRouting {
  /** Every documented operation of the provider: valid `operation` values and the counters' keys. */
  operations: readonly string[];
  /**
   * The documented operation a request asks for (method and path), or null for anything else
   * (unknown paths, wrong methods, a hosted checkout page), which is passed through untouched.
   * Must route exactly as the provider handler does, or faults would hit requests it refuses.
   */
  operationOf(req: IncomingMessage): string | null;
  /** Whether the request carries valid credentials: a request the provider will refuse with 401 consumes no fault. */
  authorized(req: IncomingMessage): boolean;
}

interface QueuedFault extends SandboxFaultSummary {
  latencyMs: number;
  status: number;
  retryAfterSeconds: number;
}

// Bounds keep a typo from queueing a fault that outlives the test run or blocks a socket for hours.
const MAX_COUNT = 10_000;
const MAX_LATENCY_MS = 600_000;
const MAX_RETRY_AFTER_SECONDS = 86_400;
const MAX_QUEUED_FAULTS = 1_000;
const ADMIN_BODY_LIMIT = 10_000;

// Options only make sense for one kind; accepting them elsewhere would let a test believe it set
// something the sandbox ignores, so they are refused.
const OPTION_OF_KIND: Record<string, SandboxFaultKind> = {
  latencyMs: 'latency',
  status: 'status',
  retryAfterSeconds: 'rate_limit',
};

const faultSpecSchema = z
  .object({
    operation: z.string(),
    fault: z.enum(SANDBOX_FAULT_KINDS),
    count: z.number().int().min(1).max(MAX_COUNT).default(1),
    latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS).optional(),
    status: z.number().int().min(400).max(599).optional(),
    retryAfterSeconds: z.number().int().min(0).max(MAX_RETRY_AFTER_SECONDS).optional(),
  })
  .strict();

/** True for a loopback peer: 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address (::ffff:127.x.x.x). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (isIP(address) === 4) return address.startsWith('127.');
  if (isIP(address) !== 6) return false;
  // The URL parser writes an IPv6 address in its one canonical form: `0:0::1` becomes `::1` and
  // `::ffff:127.0.0.1` becomes `::ffff:7f00:1`, so two comparisons cover every spelling.
  let canonical: string;
  try {
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return false;
  }
  return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
}

/** What the provider handler answered, captured instead of being sent. */
interface CapturedAnswer {
  status: number;
  body: Buffer;
}

/**
 * Wraps a provider sandbox's handler with the fault-injection layer:
 *
 * - `POST|GET|DELETE /__faults` (loopback peers only, others get 403) queue, list and clear faults;
 * - every request `routing.operationOf` names counts as received; if it is authorized and a queued
 *   fault matches (the first one for its exact operation, else the first for `*`), it consumes one
 *   count of that fault and gets the fault's broken answer instead of the provider's.
 *
 * "Processed" rule: a request is processed when the provider handler ran and answered 2xx. In these
 * sandboxes that is exactly when the provider acted (created a checkout, counted a poll, produced a
 * link): every refusal (bad body, unknown checkout, empty cart, simulated 500) is non-2xx and
 * changes nothing. `status` and `rate_limit` faults never run the handler, so never count.
 *
 * The processed kinds run the real handler against the real response with its writing methods
 * swapped for a recorder, then send the broken answer: the fault keeps the handler's status (a
 * refused request stays refused) and changes how the answer travels. A `hang` leaves the socket
 * open with nothing sent; `startSandboxServer`'s close() destroys it with every other connection.
 */
export function withSandboxFaults(handler: SandboxHandler, routing: SandboxFaultRouting): SandboxHandler {
  const faults = new FaultQueue(routing);
  return async (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === SANDBOX_FAULTS_PATH) return faults.admin(req, res);

    const operation = routing.operationOf(req);
    if (operation === null) return handler(req, res);
    const counter = faults.counterOf(operation);
    counter.received += 1;
    const fault = routing.authorized(req) ? faults.take(operation) : null;

    if (fault === null) {
      await handler(req, res);
      if (isSuccess(res.statusCode)) counter.processed += 1;
      return;
    }
    if (fault.fault === 'status' || fault.fault === 'rate_limit') {
      // The request body is left unread; draining it keeps the connection usable.
      req.resume();
      if (fault.fault === 'status') {
        return sendJson(res, fault.status, { message: `Sandbox fault: injected HTTP ${fault.status}` });
      }
      res.setHeader('retry-after', String(fault.retryAfterSeconds));
      return sendJson(res, 429, { message: 'Sandbox fault: rate limited' });
    }

    const answer = await capture(handler, req, res);
    if (isSuccess(answer.status)) counter.processed += 1;
    sendBroken(fault, req, res, answer);
  };
}

/** The faults queued on one sandbox, its request counters, and the admin endpoint that controls them. */
class FaultQueue {
  private readonly queue: QueuedFault[] = [];
  private readonly counters: Map<string, SandboxOperationCounters>;

  constructor(private readonly routing: SandboxFaultRouting) {
    this.counters = new Map(routing.operations.map((op) => [op, { received: 0, processed: 0 }]));
  }

  counterOf(operation: string): SandboxOperationCounters {
    return this.counters.get(operation)!;
  }

  /** The next fault for `operation` (an exact match first, then `*`), consuming one of its uses. */
  take(operation: string): QueuedFault | null {
    const fault =
      this.queue.find((f) => f.operation === operation) ?? this.queue.find((f) => f.operation === ANY_OPERATION);
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.queue.splice(this.queue.indexOf(fault), 1);
    return fault;
  }

  /** `GET` lists, `POST` queues, `DELETE` clears; loopback peers only. */
  async admin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Fault control is a test hook: anything that can reach the sandbox from another host must not
    // be able to make it misbehave for everyone else.
    if (!isLoopbackAddress(req.socket.remoteAddress)) {
      req.resume();
      return sendJson(res, 403, { message: 'Fault injection is only available from loopback' });
    }
    if (req.method === 'GET') {
      const state: SandboxFaultsState = {
        faults: this.queue.map(({ id, operation, fault, remaining }) => ({ id, operation, fault, remaining })),
        requests: Object.fromEntries([...this.counters].map(([op, c]) => [op, { ...c }])),
      };
      return sendJson(res, 200, state);
    }
    if (req.method === 'DELETE') {
      req.resume();
      this.queue.length = 0;
      res.writeHead(204);
      return void res.end();
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('allow', 'GET, POST, DELETE');
      return sendJson(res, 405, { message: 'Method Not Allowed' });
    }
    let raw: unknown;
    try {
      raw = await readJsonBody(req, ADMIN_BODY_LIMIT);
    } catch (error) {
      if (error instanceof BadRequestBody) return sendJson(res, 400, { message: error.message });
      throw error;
    }
    const queued = this.queueFault(raw);
    if (typeof queued === 'string') return sendJson(res, 400, { message: `Invalid fault: ${queued}` });
    sendJson(res, 201, {
      id: queued.id,
      operation: queued.operation,
      fault: queued.fault,
      remaining: queued.remaining,
    });
  }

  /** Queues the fault `raw` describes; returns it, or why it is refused. */
  private queueFault(raw: unknown): QueuedFault | string {
    const parsed = faultSpecSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
      return `${where}${issue?.message ?? 'invalid'}`;
    }
    const spec = parsed.data;
    if (spec.operation !== ANY_OPERATION && !this.counters.has(spec.operation)) {
      const valid = [...this.routing.operations, ANY_OPERATION].map((op) => `"${op}"`).join(', ');
      return `operation must be one of ${valid}`;
    }
    for (const [option, kind] of Object.entries(OPTION_OF_KIND)) {
      if ((spec as Record<string, unknown>)[option] !== undefined && spec.fault !== kind) {
        return `${option} only applies to the "${kind}" fault`;
      }
    }
    if (this.queue.length >= MAX_QUEUED_FAULTS) return `at most ${MAX_QUEUED_FAULTS} faults can be queued`;
    const fault: QueuedFault = {
      id: randomUUID(),
      operation: spec.operation,
      fault: spec.fault,
      remaining: spec.count,
      latencyMs: spec.latencyMs ?? 1000,
      status: spec.status ?? 503,
      retryAfterSeconds: spec.retryAfterSeconds ?? 1,
    };
    this.queue.push(fault);
    return fault;
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}

/**
 * Runs the handler with `res`'s writing methods replaced by a recorder. Headers still go onto `res`
 * itself (nothing is sent before `writeHead`), so the broken answer keeps every header the
 * provider set unless the fault changes it.
 */
async function capture(handler: SandboxHandler, req: IncomingMessage, res: ServerResponse): Promise<CapturedAnswer> {
  const chunks: Buffer[] = [];
  let status: number | null = null;
  let ended = false;
  const toBuffer = (chunk: unknown, encoding?: unknown): Buffer | null => {
    if (chunk === undefined || chunk === null || typeof chunk === 'function') return null;
    if (typeof chunk === 'string')
      return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    return Buffer.from(chunk as Uint8Array);
  };
  const patched = res as unknown as Record<string, unknown>;
  patched.writeHead = (code: number, ...rest: unknown[]) => {
    status = code;
    const headers = rest.find((arg) => typeof arg === 'object' && arg !== null) as
      | OutgoingHttpHeaders
      | unknown[]
      | undefined;
    if (Array.isArray(headers)) {
      // Flat [name, value, name, value] form.
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1] as string);
    } else if (headers) {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
    }
    return res;
  };
  patched.write = (chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const buffer = toBuffer(chunk, encoding);
    if (buffer) chunks.push(buffer);
    const done = [encoding, callback].find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (done) queueMicrotask(done);
    return true;
  };
  patched.end = (chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    const buffer = toBuffer(chunk, encoding);
    if (buffer) chunks.push(buffer);
    ended = true;
    const done = [chunk, encoding, callback].find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (done) queueMicrotask(done);
    return res;
  };
  try {
    await handler(req, res);
  } catch {
    if (!ended) {
      status = 500;
      chunks.length = 0;
      chunks.push(Buffer.from(JSON.stringify({ message: 'Internal Server Error' })));
      res.setHeader('content-type', 'application/json; charset=utf-8');
    }
  } finally {
    // The prototype's methods come back for sending the broken answer.
    delete patched.writeHead;
    delete patched.write;
    delete patched.end;
  }
  if (!ended) {
    // Every provider handler ends its answer before its promise settles; one that did not is a
    // sandbox bug, reported as such rather than left hanging by accident.
    return { status: 500, body: Buffer.from(JSON.stringify({ message: 'Sandbox handler did not answer' })) };
  }
  return { status: status ?? res.statusCode, body: Buffer.concat(chunks) };
}

/** Sends the handler's captured answer broken the way `fault` says. */
function sendBroken(fault: QueuedFault, req: IncomingMessage, res: ServerResponse, answer: CapturedAnswer): void {
  const socket = req.socket;
  switch (fault.fault) {
    case 'latency': {
      const timer = setTimeout(() => send(res, answer.status, answer.body), fault.latencyMs);
      // A client that gives up, or close() destroying the connection, must not leave a timer behind.
      res.once('close', () => clearTimeout(timer));
      return;
    }
    case 'reset':
      // A TCP RST, not a FIN: the client sees ECONNRESET before any byte of the answer.
      socket.resetAndDestroy();
      return;
    case 'hang':
      // Nothing is sent; the connection stays open until the client gives up or close() destroys it.
      return;
    case 'malformed_json': {
      // The answer's opening up to its first field name: `{"checkout_id": ` is never valid JSON.
      const text = answer.body.toString('utf8');
      const colon = text.indexOf(':');
      const broken = colon >= 0 ? `${text.slice(0, colon + 1)} ` : '{"';
      res.setHeader('content-type', 'application/json; charset=utf-8');
      send(res, answer.status, Buffer.from(broken));
      return;
    }
    case 'wrong_content_type': {
      // What a proxy or captive portal sends: an HTML page, here quoting the real answer.
      const html =
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Sandbox fault</title></head>' +
        `<body><pre>${escapeHtml(answer.body.toString('utf8'))}</pre></body></html>\n`;
      res.setHeader('content-type', 'text/html; charset=utf-8');
      send(res, answer.status, Buffer.from(html));
      return;
    }
    case 'truncated_body': {
      const half = answer.body.subarray(0, Math.floor(answer.body.length / 2));
      res.setHeader('content-length', answer.body.length);
      res.writeHead(answer.status);
      // Destroy only once the half is handed to the kernel, so the client does receive it.
      res.write(half, () => socket.destroy());
      return;
    }
    default:
      // status and rate_limit are answered before the handler runs.
      send(res, answer.status, answer.body);
  }
}

function send(res: ServerResponse, status: number, body: Buffer): void {
  if (res.destroyed) return;
  res.setHeader('content-length', body.length);
  res.writeHead(status);
  res.end(body);
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
