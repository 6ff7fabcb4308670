import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AppConfig } from '../config/index.js';
import type { DatabaseHandle } from '../db/client.js';
import { announcedTooLarge, readBoundedBody } from '../http/body.js';
import type { ConnectionGuard } from '../http/connections.js';
import { CSRF_HEADER, malformedGetParameter, setSecurityHeaders } from '../http/security.js';
import { scanJson, scanParameters, type VariablesRefusal } from '../http/variables.js';
import type { RealtimeBus } from '../realtime/pubsub.js';
import { assignRequestId, requestIdFrom } from '../request-context.js';
import type { GraphQLHandler } from './graphql-handler.js';

/** How long `drain()` waits for in-flight requests before cutting connections. */
const DRAIN_TIMEOUT_MS = 8_000;

/** The HTTP front of the app: guards before Yoga, /health, and a drain for stopping. */
export interface RequestFront {
  listener: RequestListener;
  /** Answers 503 to new requests, lets in-flight ones finish (up to 8 s), and closes the server. */
  drain(server: Server): Promise<void>;
}

/**
 * Builds the request listener around the GraphQL handler: guards that need the raw request (body
 * and variable limits before anything parses them, multipart, draining), /health, and the request
 * id; every GraphQL request, whatever its shape, is then served by Yoga.
 */
export function createRequestFront(
  config: AppConfig,
  yoga: GraphQLHandler,
  database: DatabaseHandle,
  bus: Pick<RealtimeBus, 'kind' | 'connected'>,
  connectionGuard?: Pick<ConnectionGuard, 'isRefused'>,
): RequestFront {
  // While draining, no new work starts: requests that arrive on kept-alive connections get a 503
  // (a create would otherwise reach the provider after the stop began), and every answer closes its
  // connection so that idle sockets do not hold the shutdown.
  let draining = false;
  let server: Server | undefined;
  const inFlight = new Set<ServerResponse>();
  const maxBodyBytes = config.limits.maxBodyBytes;
  const variableLimits = config.variableLimits;

  const listener: RequestListener = (req, res) => {
    // A socket refused for its address was answered 503 already; what it sends is not served.
    if (connectionGuard?.isRefused(req.socket)) return void res.destroy();
    setSecurityHeaders(res);
    if (announcedTooLarge(req, maxBodyBytes)) return tooLarge(res, maxBodyBytes);
    // A GET's variables are measured before anything parses them (malformedGetParameter does).
    const getRefusal = req.method === 'GET' ? refusalOfQueryString(req, variableLimits) : null;
    if (getRefusal) return refuseVariables(res, getRefusal);
    const malformed = malformedGetParameter(req);
    if (malformed) return sendError(res, 400, `The ${malformed} parameter is not valid JSON`, 'BAD_REQUEST');
    if (draining)
      return sendError(res, 503, 'The server is shutting down; retry the request', 'SHUTTING_DOWN', {
        connection: 'close',
        'retry-after': '1',
      });
    inFlight.add(res);
    res.on('close', () => {
      inFlight.delete(res);
      if (draining) server?.closeIdleConnections();
    });
    if (req.url === '/health' && (req.method === 'GET' || req.method === 'HEAD'))
      return void answerHealth(req, res, database, bus);
    if (req.url === '/' && (req.method === 'GET' || req.method === 'HEAD'))
      return answerRoot(req, res, config.graphiql);
    // The request id is fixed before Yoga runs, so it is echoed on every answer (even one that
    // fails validation) and the operation's context (and so its log lines) carries it.
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('x-request-id', requestId);
    assignRequestId(req, requestId);
    if (req.method !== 'POST') return void yoga.handle(req, res);
    if (isMultipart(req))
      return sendError(
        res,
        415,
        'Multipart bodies are not accepted: this API takes no file uploads',
        'UNSUPPORTED_MEDIA_TYPE',
      );
    // Every POST is read here up to the limit, so that its variables are measured on the raw bytes
    // before anything parses them (a 900 KB body nested 450,000 deep costs a parse and a garbage
    // collection of ~100 ms, 14,000 line items a coercion of ~700 ms); Yoga gets it whole.
    void readBoundedBody(req, maxBodyBytes)
      .then((body) => {
        if (body === null) return tooLarge(res, maxBodyBytes);
        const refusal = refusalOfBody(req, body, variableLimits);
        if (refusal) return refuseVariables(res, refusal);
        (req as IncomingMessage & { body?: unknown }).body = bodyForYoga(req, body);
        return yoga.handle(req, res);
      })
      .catch(() => res.destroy());
  };

  return {
    listener,
    async drain(stopping) {
      server = stopping;
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      const closed = new Promise<void>((resolve) => stopping.close(() => resolve()));
      stopping.closeIdleConnections();
      const timer = setTimeout(() => stopping.closeAllConnections(), DRAIN_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
    },
  };
}

function tooLarge(res: ServerResponse, maxBytes: number): void {
  sendError(res, 413, `The request body is larger than ${maxBytes} bytes`, 'PAYLOAD_TOO_LARGE', {
    connection: 'close',
  });
}

/** The refusal of a GET's `variables` or `extensions` parameter. */
function refusalOfQueryString(req: IncomingMessage, limits: AppConfig['variableLimits']): VariablesRefusal | null {
  const query = req.url?.indexOf('?') ?? -1;
  if (query < 0) return null;
  return scanParameters(new URLSearchParams(req.url!.slice(query + 1)), limits);
}

/**
 * The refusal of a POST body's variables or extensions: a form's parameters, or the JSON body
 * itself (`{"variables": …}`: one level of envelope). A `application/graphql` body is a document,
 * bounded by the document limits instead.
 */
function refusalOfBody(
  req: IncomingMessage,
  body: Buffer,
  limits: AppConfig['variableLimits'],
): VariablesRefusal | null {
  const contentType = req.headers['content-type']?.toLowerCase() ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded'))
    return scanParameters(new URLSearchParams(body.toString('utf8')), limits);
  if (contentType.startsWith('application/graphql') && !contentType.includes('json')) return null;
  return scanJson(body, limits, 1).refusal;
}

/**
 * The body as Yoga is given it: a JSON body already parsed when it is a JSON object (Yoga's node
 * adapter takes a parsed body as the body-parser integrations give it, and reads no stream);
 * anything else as its bytes, which Yoga parses, or refuses, as it always has. The bytes alone
 * would cost a walk over every one of them: the adapter asks `Object.keys` of the body whether it
 * is empty.
 */
function bodyForYoga(req: IncomingMessage, body: Buffer): unknown {
  if (body.length === 0) return '';
  if (!isJson(req.headers['content-type'])) return body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && hasKeys(parsed) ? parsed : body;
}

/** The media types Yoga reads as a JSON body. */
function isJson(contentType: string | undefined): boolean {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json' || type === 'application/graphql+json';
}

function hasKeys(value: object): boolean {
  for (const _ in value) return true;
  return false;
}

function isMultipart(req: IncomingMessage): boolean {
  return req.headers['content-type']?.toLowerCase().startsWith('multipart/') === true;
}

/** 400 with the limit's code, the same error graphql-ws answers for the same variables. */
function refuseVariables(res: ServerResponse, refusal: VariablesRefusal): void {
  sendError(res, 400, refusal.message, refusal.code);
}

/** A GraphQL-shaped error answer for requests refused before Yoga sees them. */
function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * `/` says where everything is: a person who opens the server's address (or curls it) learns the
 * paths instead of reading an empty 404. Paths only, no host: the Host header is the client's.
 */
function answerRoot(req: IncomingMessage, res: ServerResponse, graphiql: boolean): void {
  const body = [
    'Checkout graph: one GraphQL API in front of three checkout providers.',
    '',
    '  POST /graphql    GraphQL: Content-Type: application/json, body {"query": "…", "variables": {…}}',
    graphiql
      ? '  GET  /graphql    GraphiQL, in a browser'
      : `  GET  /graphql    GraphQL over GET, with the header ${CSRF_HEADER}: 1 (GraphiQL is off here)`,
    '  WS   /graphql    subscriptions over graphql-ws (graphql-transport-ws); or SSE: POST with Accept: text/event-stream',
    '  GET  /health     readiness, as JSON',
    '  GET  /metrics    Prometheus metrics',
    '',
    'Try: curl -s <this address>/graphql -H \'content-type: application/json\' -d \'{"query":"{ checkouts(first: 5) { edges { node { id status } } } }"}\'',
    'The README has the rest: the quick start, every variable, the provider sandboxes.',
    '',
  ].join('\n');
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * 200 while the database answers (and, on PGlite, its disk takes writes), else 503 (`unavailable`):
 * a load balancer should send no traffic to an instance that cannot reach its data. A sick Redis
 * makes it `degraded` but still 200: the instance serves every request (rate limits count per
 * instance, changes reach its own subscribers at once and the others' by their resync), so taking
 * it out would help no one.
 */
async function answerHealth(
  req: IncomingMessage,
  res: ServerResponse,
  database: DatabaseHandle,
  bus: Pick<RealtimeBus, 'kind' | 'connected'>,
): Promise<void> {
  let status = 200;
  try {
    await database.check();
  } catch {
    status = 503;
  }
  const body = {
    status: status !== 200 ? 'unavailable' : bus.connected ? 'ok' : 'degraded',
    database: database.kind,
    bus: { kind: bus.kind, connected: bus.connected },
  };
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
}
