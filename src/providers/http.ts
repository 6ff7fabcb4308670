import { Agent, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { deadline } from '../abort-signal.js';
import type { ProviderName } from '../domain/checkout.js';
import { ProviderError } from '../domain/errors.js';
import { retryAfterMs } from '../workers/backoff.js';
import { ProviderResilience } from './resilience.js';

/** Which provider a request goes to: its name in errors' `provider`, its label in their messages. */
export interface ProviderIdentity {
  provider: ProviderName;
  /** Its name for people, in messages. */
  label: string;
}

/** One HTTP request to a provider. */
export interface ProviderRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** Serialised as JSON when present. */
  body?: unknown;
  /** Total budget, connect to last byte. */
  timeoutMs: number;
  /** Budget for the TCP (and TLS) connection alone; defaults to the total budget. */
  connectTimeoutMs?: number;
  /** Aborts the request from outside (e.g. the poller stopping). */
  signal?: AbortSignal;
}

/** A provider's answer: status, headers and the body parsed as JSON (`undefined` if it was not JSON). */
export interface ProviderResponse {
  status: number;
  headers: { get(name: string): string | null };
  json: unknown;
  /** True when the body was present but not valid JSON. */
  malformed: boolean;
  /** Credentials this request carried; scrubbed from any provider text we pass on. */
  secrets: readonly string[];
}

const MAX_PROVIDER_MESSAGE = 500;

/**
 * Sends one request and reads the whole body. Network failures, timeouts and unreadable bodies
 * become retryable `ProviderError`s; HTTP error statuses are returned for the adapter to map,
 * because each provider documents its own meaning for them.
 */
async function sendProviderRequest(
  { provider, label }: ProviderIdentity,
  request: ProviderRequest,
): Promise<ProviderResponse> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const secrets = secretsOf(request.headers);
  let response: Dispatcher.ResponseData;
  let text: string;
  const budget = deadline(request.timeoutMs, request.signal);
  try {
    // undici's `request` rather than `fetch`: the same client without the WHATWG Request, Response
    // and streams around it (a create and every poll make one call; bench/create-flow.ts measured
    // 3.37 -> 3.0 ms of CPU per create on PostgreSQL). A 3xx is the provider's answer, never followed.
    response = await dispatcherFor(request.connectTimeoutMs ?? request.timeoutMs).request({
      origin: new URL(request.url).origin,
      path: pathOf(request.url),
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: budget.signal,
    });
    text = await response.body.text();
  } catch (error) {
    const timedOut = budget.timedOut;
    const code = networkReason(error);
    const reason = timedOut
      ? `did not answer within ${request.timeoutMs} ms`
      : request.signal?.aborted
        ? 'request was abandoned because this instance is stopping'
        : `could not be reached (${code})`;
    const delivery = !timedOut && NOT_DELIVERED_CODES.has(code) ? 'no' : 'maybe';
    // Abandoned on purpose (shutdown): not a provider fault, so neither retried nor held against its breaker.
    const abandoned = !timedOut && request.signal?.aborted === true;
    throw new ProviderError(`${label} ${reason}`, { provider, retryable: !abandoned, delivery }, { cause: error });
  } finally {
    budget.release();
  }
  const answer = { status: response.statusCode, headers: headerReader(response.headers), secrets };
  if (text.trim() === '') return { ...answer, json: undefined, malformed: false };
  try {
    return { ...answer, json: JSON.parse(text), malformed: false };
  } catch {
    return { ...answer, json: undefined, malformed: true };
  }
}

/** Network errors that prove the request never reached the provider. */
const NOT_DELIVERED_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const dispatchers = new Map<number, Agent>();

/** One connection pool per connect timeout (in practice one per process), with that connect budget. */
function dispatcherFor(connectTimeoutMs: number): Agent {
  let agent = dispatchers.get(connectTimeoutMs);
  if (!agent) {
    agent = new Agent({ connect: { timeout: connectTimeoutMs } });
    dispatchers.set(connectTimeoutMs, agent);
  }
  return agent;
}

/** The path and query of `url`, as undici's `request` takes them beside the origin. */
function pathOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

/** Response headers as adapters read them (`get`, case-insensitive; repeated headers joined). */
function headerReader(headers: Dispatcher.ResponseData['headers']): ProviderResponse['headers'] {
  return {
    get(name) {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : (value ?? null);
    },
  };
}

/**
 * A short reason for a failed request. Only the error code is used (undici's own, or the socket's
 * beneath it): messages can quote header values (an invalid credential, for one), and credentials
 * never go into errors.
 */
function networkReason(error: unknown): string {
  const { code, cause } = (error ?? {}) as { code?: unknown; cause?: { code?: unknown } };
  if (typeof cause?.code === 'string') return cause.code;
  return typeof code === 'string' ? code : 'invalid request or network error';
}

/**
 * Every credential in the request's headers: whole header values (other than the content
 * negotiation ones), the token after an auth scheme, and the decoded parts of Basic credentials.
 */
function secretsOf(headers: Record<string, string>): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (/^(accept|content-type)$/i.test(name)) continue;
    secrets.push(value);
    const scheme = /^(Bearer|Basic)\s+(.+)$/i.exec(value);
    if (!scheme) continue;
    secrets.push(scheme[2]!);
    if (scheme[1]!.toLowerCase() === 'basic') {
      const decoded = Buffer.from(scheme[2]!, 'base64').toString('utf8');
      secrets.push(decoded, ...decoded.split(':'));
    }
  }
  // Longest first so a whole credential is replaced before any part of it.
  return secrets.filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
}

/**
 * The provider's own error message from a JSON error body (`message`, `error` or `detail`), with
 * any credential of the request replaced: a provider or proxy echoing our key must not make us
 * echo it to clients, logs or stored notes.
 */
export function providerMessageOf(response: Pick<ProviderResponse, 'json' | 'secrets'>): string | null {
  const json = response.json;
  if (!json || typeof json !== 'object') return null;
  const record = json as Record<string, unknown>;
  for (const key of ['message', 'error', 'detail']) {
    const value = record[key];
    if (typeof value === 'string' && value.trim() !== '') {
      let message = value;
      for (const secret of response.secrets) message = message.split(secret).join('[redacted]');
      return message.slice(0, MAX_PROVIDER_MESSAGE);
    }
  }
  return null;
}

/** Maps a non-2xx status to a ProviderError: 408, 429 and 5xx are retryable, other 4xx are not. */
function providerErrorFromStatus({ provider, label }: ProviderIdentity, response: ProviderResponse): ProviderError {
  const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
  const providerMessage = providerMessageOf(response);
  return new ProviderError(
    `${label} answered HTTP ${response.status}${providerMessage ? `: ${providerMessage}` : ''}`,
    {
      provider,
      retryable,
      httpStatus: response.status,
      providerMessage,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after')),
    },
  );
}

/**
 * Checks a 2xx response against the documented schema. A malformed or unexpected body is a
 * provider fault, not retryable: asking again would get the same answer.
 */
function parseProviderBody<T extends z.ZodType>(
  { provider, label }: ProviderIdentity,
  response: ProviderResponse,
  schema: T,
): z.infer<T> {
  if (response.malformed || response.json === undefined) {
    throw new ProviderError(`${label} answered HTTP ${response.status} without a JSON body`, {
      provider,
      retryable: false,
      httpStatus: response.status,
    });
  }
  const parsed = schema.safeParse(response.json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProviderError(
      `${label} answered an unexpected body${issue ? ` (${issue.path.join('.') || 'body'}: ${issue.message})` : ''}`,
      { provider, retryable: false, httpStatus: response.status },
    );
  }
  return parsed.data;
}

/** Joins an origin and a documented path without doubling or dropping the slash. */
function providerUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** Where and how one provider is called. */
export interface ProviderHttpOptions extends ProviderIdentity {
  /** Origin of the provider's API; documented paths are appended to it. */
  baseUrl: string;
  /** Total time budget of one request, connect to last byte. */
  timeoutMs: number;
  /** Budget of the connection alone; defaults to `timeoutMs`. */
  connectTimeoutMs?: number;
  /** Retry (GETs only) and circuit breaker; one of its own by default. */
  resilience?: ProviderResilience;
  /** Sent with every request: the credentials. Scrubbed from any provider text passed on. */
  headers: Record<string, string>;
}

/** One documented call. */
export interface ProviderCall {
  method: 'GET' | 'POST';
  /** The documented path, appended to the base URL. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Aborts the call from outside (the poller stopping). */
  signal?: AbortSignal;
  /** The request (or poll) the call is made for, reported with its outcome. */
  requestId?: string;
}

/**
 * The one HTTP executor of every provider client: a call runs under the provider's breaker (GETs
 * also under its retry), is sent with the credentials and timeouts, and its response is turned into
 * a result (or a typed error) by the client's `answer`.
 */
export class ProviderHttp {
  /** Shared with whoever else calls this provider in this process. */
  readonly resilience: ProviderResilience;
  readonly identity: ProviderIdentity;

  constructor(private readonly options: ProviderHttpOptions) {
    this.identity = { provider: options.provider, label: options.label };
    this.resilience = options.resilience ?? new ProviderResilience(options.provider, { label: options.label });
  }

  /** Sends `call` and hands its response to `answer`, which returns the result or throws. */
  call<T>(call: ProviderCall, answer: (response: ProviderResponse) => T): Promise<T> {
    const request = async () => {
      const response = await sendProviderRequest(this.identity, {
        method: call.method,
        url: providerUrl(this.options.baseUrl, call.path),
        headers: this.options.headers,
        body: call.body,
        timeoutMs: this.options.timeoutMs,
        connectTimeoutMs: this.options.connectTimeoutMs,
        signal: call.signal,
      });
      return answer(response);
    };
    return this.resilience.execute(call.method, request, call.requestId);
  }

  /** The usual answer: a 2xx body checked against `schema`; any other status is a ProviderError. */
  expect<S extends z.ZodType>(schema: S): (response: ProviderResponse) => z.infer<S> {
    return (response) => {
      if (response.status < 200 || response.status > 299) throw providerErrorFromStatus(this.identity, response);
      return parseProviderBody(this.identity, response, schema);
    };
  }
}
