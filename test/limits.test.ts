import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { Lexer, Source, TokenKind } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { CSRF_HEADER } from '../src/http/security.js';
import { CheckoutStatusChangedDocument, CreateSmartCheckoutDocument } from './generated/graphql.js';
import { expectType, startScopedTestApp, type TestApp, useTestApp } from './support/app.js';
import { recordSubscription, scopedWsClient, wsClient } from './support/subscriptions.js';

/*
 * Every limit refuses the same operation over HTTP POST and over graphql-ws with the same GraphQL
 * error, so that neither transport is a way around it, and accepts the operation just at the limit.
 * The numbers are the configuration's defaults (the README's), read from `loadConfig`, so the tests
 * follow them.
 */

const LIMITS = loadConfig({}).limits;
/** Not configurable: the WebSocket transport's own limits. */
const WS_MAX_PAYLOAD_BYTES = 262_144;
const WS_INIT_WAIT_MS = 3_000;

type GraphQLErrorJson = { message: string; extensions?: Record<string, unknown> };
interface Outcome {
  status?: number;
  headers?: Headers;
  data?: Record<string, unknown> | null;
  errors?: GraphQLErrorJson[];
  /** WebSocket only: the close code when the socket was closed instead of answering. */
  closeCode?: number;
}

const cases = { http: 0, ws: 0 };
afterAll(() => {
  console.log(`limits.test.ts: ${cases.http} limit cases tried over HTTP, ${cases.ws} over WebSocket`);
});

/** A POST of `body` as is (any content type), counted as one HTTP case; never a 5xx. */
async function postBody(
  t: TestApp,
  body: string,
  headers: Record<string, string> = {},
  apiKey: string | null = t.keys.a!,
): Promise<Outcome> {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
      ...headers,
    },
    body,
  });
  cases.http++;
  const text = await response.text();
  expect(response.status, text).toBeLessThan(500);
  const parsed = text ? (JSON.parse(text) as Outcome) : {};
  return { status: response.status, headers: response.headers, data: parsed.data, errors: parsed.errors };
}

/** One operation over HTTP POST (JSON). */
function postOperation(
  t: TestApp,
  query: string,
  options: { apiKey?: string | null; variables?: Record<string, unknown> } = {},
): Promise<Outcome> {
  return postBody(
    t,
    JSON.stringify({ query, variables: options.variables }),
    {},
    options.apiKey === undefined ? t.keys.a! : options.apiKey,
  );
}

/** One operation over graphql-ws; resolves with its data and errors, or the close code if the socket was closed. */
function overWs(client: Client, query: string, variables?: Record<string, unknown>): Promise<Outcome> {
  cases.ws++;
  return new Promise((resolve) => {
    const outcome: Outcome = {};
    client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (message) => {
          if (message.data !== undefined) outcome.data = message.data;
          if (message.errors) outcome.errors = message.errors as GraphQLErrorJson[];
        },
        error: (error) => {
          if (Array.isArray(error)) outcome.errors = error as GraphQLErrorJson[];
          else outcome.closeCode = (error as { code?: number }).code ?? -1;
          resolve(outcome);
        },
        complete: () => resolve(outcome),
      },
    );
  });
}

function messages(outcome: Outcome): string[] {
  return (outcome.errors ?? []).map((error) => error.message);
}

/** Accepted: data, no error. */
function expectAccepted(outcome: Outcome): void {
  expect(outcome.closeCode, 'socket closed').toBeUndefined();
  expect(outcome.errors, JSON.stringify(outcome.errors)).toBeUndefined();
  expect(outcome.data).toBeTruthy();
  if (outcome.status !== undefined) expect(outcome.status).toBe(200);
}

/** Refused with a GraphQL error that names the limit: no data, no 5xx, nothing masked, the socket still open. */
function expectRefused(outcome: Outcome, pattern: RegExp): void {
  expect(
    outcome.closeCode,
    `the socket was closed (${outcome.closeCode}) instead of answering with an error`,
  ).toBeUndefined();
  expect(outcome.data ?? null).toBeNull();
  expect(outcome.errors?.length, JSON.stringify(outcome)).toBeGreaterThan(0);
  expect(messages(outcome).join(' | ')).toMatch(pattern);
  expect(messages(outcome)).not.toContain('Unexpected error.');
  if (outcome.status !== undefined) expect(outcome.status).toBeLessThan(500);
}

/** The same document, over HTTP and over graphql-ws: the same answer. */
async function bothWays(
  t: TestApp,
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ http: Outcome; ws: Outcome }> {
  const http = await postOperation(t, query, { variables });
  const ws = await overWs(client, query, variables);
  return { http, ws };
}

function tokenCount(document: string): number {
  const lexer = new Lexer(new Source(document));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

/** `{ __type { fields { type { ofType … { name } } } } }` nested to exactly `depth` fields (graphql-armor's count). */
function documentOfDepth(depth: number): string {
  const ofTypes = depth - 4;
  return `{ __type(name: "Query") { fields { type { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } } }`;
}

/** `{ checkouts(first: 100) { edges { node { id × k } } } }` and its graphql-armor cost (object 2, scalar 1, depth factor 1.5). */
function costlyDocument(ids: number): { query: string; cost: number } {
  let node = 2;
  for (let i = 0; i < ids; i++) node += 1.5 * 1;
  const edges = 2 + 1.5 * node;
  const checkouts = (2 + 1.5 * edges) * 100;
  return { query: `{ checkouts(first: 100) { edges { node { ${'id '.repeat(ids)}} } } }`, cost: checkouts };
}

describe('query limits, identical over HTTP and WebSocket (defaults of the configuration)', () => {
  const t = useTestApp();
  let client: Client;
  beforeAll(() => {
    client = wsClient(t.url, t.keys.a!);
  });
  afterAll(async () => {
    await client?.dispose();
  });

  it('the defaults are the documented numbers', () => {
    expect(LIMITS).toMatchObject({
      maxDepth: 10,
      maxAliases: 30,
      maxTokens: 3000,
      maxDirectives: 20,
      maxCost: 5000,
      maxQueryChars: 20_000,
      maxBodyBytes: 1_048_576,
      wsMaxSubscriptions: 100,
    });
  });

  it(`depth: ${LIMITS.maxDepth} is accepted, ${LIMITS.maxDepth + 1} refused`, async () => {
    const under = await bothWays(t, client, documentOfDepth(LIMITS.maxDepth));
    expectAccepted(under.http);
    expectAccepted(under.ws);
    expect(under.ws.data).toEqual(under.http.data);

    const over = await bothWays(t, client, documentOfDepth(LIMITS.maxDepth + 1));
    const named = new RegExp(`depth limit of ${LIMITS.maxDepth} exceeded, found ${LIMITS.maxDepth + 1}`);
    expectRefused(over.http, named);
    expectRefused(over.ws, named);
    expect(messages(over.ws)).toEqual(messages(over.http));
  });

  it(`aliases: ${LIMITS.maxAliases} are accepted, ${LIMITS.maxAliases + 1} refused`, async () => {
    const aliased = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `a${i}: node(id: "nothing-${i}") { id }`).join(' ')} }`;
    const under = await bothWays(t, client, aliased(LIMITS.maxAliases));
    expectAccepted(under.http);
    expectAccepted(under.ws);
    expect(Object.keys(under.http.data!)).toHaveLength(LIMITS.maxAliases);

    const over = await bothWays(t, client, aliased(LIMITS.maxAliases + 1));
    const named = new RegExp(`Aliases limit of ${LIMITS.maxAliases} exceeded, found ${LIMITS.maxAliases + 1}`);
    expectRefused(over.http, named);
    expectRefused(over.ws, named);
    expect(messages(over.ws)).toEqual(messages(over.http));
  });

  it(`aliases of __typename count too: ${LIMITS.maxAliases + 1} are refused, as any other`, async () => {
    const typenames = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;
    expectAccepted((await bothWays(t, client, typenames(LIMITS.maxAliases))).http);
    const over = await bothWays(t, client, typenames(LIMITS.maxAliases + 1));
    const named = new RegExp(`Aliases limit of ${LIMITS.maxAliases} exceeded, found ${LIMITS.maxAliases + 1}`);
    expectRefused(over.http, named);
    expectRefused(over.ws, named);
  });

  it(`tokens: ${LIMITS.maxTokens} are accepted, ${LIMITS.maxTokens + 1} refused`, async () => {
    // A long enum list in an argument: 5 characters per token, no cost (graphql-js caps repeated
    // identical fields, so those cannot pad a document to thousands of tokens).
    const listOf = (k: number) =>
      `{ checkouts(first: 1, filter: { status: [${' OPEN'.repeat(k)} ] }) { pageInfo { hasNextPage } } }`;
    const around = tokenCount(listOf(0));
    const withTokens = (n: number) => listOf(n - around);
    expect(tokenCount(withTokens(LIMITS.maxTokens))).toBe(LIMITS.maxTokens);
    expect(tokenCount(withTokens(LIMITS.maxTokens + 1))).toBe(LIMITS.maxTokens + 1);
    // Nothing else may refuse them: within the character limit.
    expect(withTokens(LIMITS.maxTokens + 1).length).toBeLessThanOrEqual(LIMITS.maxQueryChars);

    const under = await bothWays(t, client, withTokens(LIMITS.maxTokens));
    expectAccepted(under.http);
    expectAccepted(under.ws);
    expect(under.http.data).toEqual({ checkouts: { pageInfo: { hasNextPage: expect.any(Boolean) } } });
    expect(under.ws.data).toEqual(under.http.data);

    const over = await bothWays(t, client, withTokens(LIMITS.maxTokens + 1));
    const named = new RegExp(`Token limit of ${LIMITS.maxTokens} exceeded`);
    expectRefused(over.http, named);
    expectRefused(over.ws, named);
    expect(messages(over.ws)).toEqual(messages(over.http));
  });

  it(`directives: ${LIMITS.maxDirectives} are accepted, ${LIMITS.maxDirectives + 1} refused`, async () => {
    const directed = (n: number) => `{ ${'__typename @include(if: true) '.repeat(n)}}`;
    const under = await bothWays(t, client, directed(LIMITS.maxDirectives));
    expectAccepted(under.http);
    expectAccepted(under.ws);
    expect(under.ws.data).toEqual({ __typename: 'Query' });

    const over = await bothWays(t, client, directed(LIMITS.maxDirectives + 1));
    const named = new RegExp(`Directives limit of ${LIMITS.maxDirectives} exceeded, found ${LIMITS.maxDirectives + 1}`);
    expectRefused(over.http, named);
    expectRefused(over.ws, named);
    expect(messages(over.ws)).toEqual(messages(over.http));
  });

  it(`cost: at most ${LIMITS.maxCost} is accepted, more refused`, async () => {
    let ids = 1;
    while (costlyDocument(ids + 1).cost <= LIMITS.maxCost) ids++;
    const under = costlyDocument(ids);
    const over = costlyDocument(ids + 1);
    expect(under.cost).toBeLessThanOrEqual(LIMITS.maxCost);
    expect(over.cost).toBeGreaterThan(LIMITS.maxCost);

    const accepted = await bothWays(t, client, under.query);
    expectAccepted(accepted.http);
    expectAccepted(accepted.ws);

    const refused = await bothWays(t, client, over.query);
    const named = new RegExp(`Cost limit of ${LIMITS.maxCost} exceeded, found ${over.cost}\\b`);
    expectRefused(refused.http, named);
    expectRefused(refused.ws, named);
    expect(messages(refused.ws)).toEqual(messages(refused.http));
  });

  it(`document length: ${LIMITS.maxQueryChars} characters are accepted, ${LIMITS.maxQueryChars + 1} refused`, async () => {
    // A comment pads the document: no tokens, no cost, only characters.
    const ofLength = (n: number) => {
      const head = '{ __typename }\n#';
      return head + 'x'.repeat(n - head.length);
    };
    expect(ofLength(LIMITS.maxQueryChars)).toHaveLength(LIMITS.maxQueryChars);

    const under = await bothWays(t, client, ofLength(LIMITS.maxQueryChars));
    expectAccepted(under.http);
    expectAccepted(under.ws);

    const over = await bothWays(t, client, ofLength(LIMITS.maxQueryChars + 1));
    const named = new RegExp(`longer than ${LIMITS.maxQueryChars} characters`);
    expectRefused(over.http, named);
    expect(over.http.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_LONG');
    expectRefused(over.ws, named);
    expect(over.ws.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_LONG');
    expect(messages(over.ws)).toEqual(messages(over.http));
  });

  it('field suggestions outside production: a typo gets "Did you mean"', async () => {
    const typo = await bothWays(t, client, '{ checkoutz(id: "x") { id } }');
    expectRefused(typo.http, /Cannot query field "checkoutz" on type "Query"\. Did you mean "checkout"/);
    expectRefused(typo.ws, /Did you mean "checkout"/);
  });

  it('introspection and GraphiQL are on outside production', async () => {
    const introspection = await bothWays(t, client, '{ __schema { queryType { name } } }');
    expect(introspection.http.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect(introspection.ws.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const page = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<html/i);
  });

  describe('CSRF prevention (Yoga): a request a browser may send cross-site without a preflight needs the header', () => {
    const body = JSON.stringify({ query: '{ __typename }' });
    const csrfRefusal = /CSRF/i;

    it('a POST as text/plain or form-urlencoded without the header is refused (403); with it, it is not', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
        const refused = await postBody(t, body, { 'content-type': contentType });
        expect(refused.status, contentType).toBe(403);
        expectRefused(refused, csrfRefusal);
        // With the header CSRF prevention lets it through (Yoga then answers 415 to text/plain, a body it does not read).
        const through = await postBody(t, body, { 'content-type': contentType, [CSRF_HEADER]: '1' });
        expect(through.status, contentType).not.toBe(403);
        expect(messages(through).join(' ')).not.toMatch(csrfRefusal);
      }
      const form = await postBody(t, `query=${encodeURIComponent('{ __typename }')}`, {
        'content-type': 'application/x-www-form-urlencoded',
        [CSRF_HEADER]: '1',
      });
      expectAccepted(form);
      expect(form.data).toEqual({ __typename: 'Query' });
      const formWithout = await postBody(t, `query=${encodeURIComponent('{ __typename }')}`, {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(formWithout.status).toBe(403);
      expect(formWithout.data ?? null).toBeNull();
    });

    it('a POST as application/json needs no header', async () => {
      const accepted = await postBody(t, body);
      expectAccepted(accepted);
    });

    it('a GET query is refused without the header and accepted with it', async () => {
      const get = async (headers: Record<string, string>) => {
        cases.http++;
        const response = await fetch(`${t.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
          headers: { accept: 'application/graphql-response+json', authorization: `Bearer ${t.keys.a}`, ...headers },
        });
        return { status: response.status, ...((await response.json()) as Outcome) };
      };
      const refused = await get({});
      expect(refused.status).toBe(403);
      expectRefused(refused, csrfRefusal);
      const accepted = await get({ [CSRF_HEADER]: '1' });
      expectAccepted(accepted);
    });
  });

  it('batching is off: a JSON array body is refused', async () => {
    const batch = await postBody(t, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
    expect(batch.status).toBe(400);
    expectRefused(batch, /Batching is not supported/);
  });

  it(`a body of ${LIMITS.maxBodyBytes} bytes is accepted, one byte more answers 413 with a JSON error`, async () => {
    const ofBytes = (n: number) => {
      const empty = JSON.stringify({ query: '{ __typename }', variables: { pad: '' } });
      return JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(n - empty.length) } });
    };
    expect(Buffer.byteLength(ofBytes(LIMITS.maxBodyBytes))).toBe(LIMITS.maxBodyBytes);
    expectAccepted(await postBody(t, ofBytes(LIMITS.maxBodyBytes)));

    cases.http++;
    const response = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.a}` },
      body: ofBytes(LIMITS.maxBodyBytes + 1),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await response.json()) as Outcome;
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(body.errors?.[0]?.message).toContain(String(LIMITS.maxBodyBytes));
  });

  /** A POST streamed in `parts` without Content-Length: node:http sends it chunked. */
  function postChunked(parts: string[]): Promise<{ status: number; body: string }> {
    cases.http++;
    return new Promise((resolve, reject) => {
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${t.keys.a}` };
      const req = httpRequest(`${t.url}/graphql`, { method: 'POST', headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      for (const part of parts.slice(0, -1)) req.write(part);
      req.end(parts.at(-1));
      expect(req.getHeader('content-length')).toBeUndefined();
    });
  }

  it('a chunked POST (no Content-Length) is read and answered', async () => {
    const answer = await postChunked(['{"query":', '"{ __typename }"}']);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ data: { __typename: 'Query' } });
  });

  it(`a chunked POST growing past ${LIMITS.maxBodyBytes} bytes answers 413, however it is cut`, async () => {
    const chunk = ' '.repeat(64 * 1024);
    const parts = [
      '{"query":"{ __typename }",',
      ...Array.from({ length: Math.ceil(LIMITS.maxBodyBytes / chunk.length) + 1 }, () => chunk),
      '"extensions":{}}',
    ];
    const answer = await postChunked(parts);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    // Just under the limit is fine.
    const under = await postChunked([
      '{"query":"{ __typename }",',
      '"extensions":{"pad":"',
      'x'.repeat(LIMITS.maxBodyBytes - 60),
      '"}}',
    ]);
    expect(under.status).toBe(200);
  });

  it('security headers on /graphql and /health answers', async () => {
    const graphql = await postBody(t, JSON.stringify({ query: '{ __typename }' }));
    const health = await fetch(`${t.url}/health`);
    const refused = await postBody(t, JSON.stringify({ query: '{ __typename }' }), { 'content-type': 'text/plain' });
    for (const headers of [graphql.headers!, health.headers, refused.headers!]) {
      expect(headers.get('x-content-type-options')).toBe('nosniff');
      expect(headers.get('referrer-policy')).toBe('no-referrer');
      expect(headers.get('x-frame-options')).toBe('DENY');
    }
  });
});

/** The bounds of variables and extensions (defaults of the configuration). */
const VARIABLE_LIMITS = loadConfig({}).variableLimits;

/** `[[…[0]…]]`: lists nested `levels` deep. */
function nestedLists(levels: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

/** One operation over GET (with the CSRF header GET needs), counted as one HTTP case. */
async function getOperation(
  t: TestApp,
  query: string,
  params: { variables?: unknown; extensions?: unknown } = {},
): Promise<Outcome> {
  cases.http++;
  const search = new URLSearchParams({ query });
  if (params.variables !== undefined) search.set('variables', JSON.stringify(params.variables));
  if (params.extensions !== undefined) search.set('extensions', JSON.stringify(params.extensions));
  const response = await fetch(`${t.url}/graphql?${search}`, {
    headers: { accept: 'application/json', authorization: `Bearer ${t.keys.a}`, [CSRF_HEADER]: '1' },
  });
  const body = (await response.json()) as Outcome;
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors };
}

/** Refused before parsing: 400 over HTTP, the operation's error over graphql-ws, the code named. */
function expectVariablesRefused(outcome: Outcome, code: string): void {
  expectRefused(outcome, /./);
  expect(outcome.errors?.[0]?.extensions?.code, JSON.stringify(outcome.errors)).toBe(code);
  if (outcome.status !== undefined) expect(outcome.status).toBe(400);
}

describe('variables and extensions: bounded on the raw JSON before anything parses them, the same over POST, GET and graphql-ws', () => {
  const t = useTestApp();
  let client: Client;
  beforeAll(() => {
    client = wsClient(t.url, t.keys.a!);
  });
  afterAll(async () => {
    await client?.dispose();
  });
  const query = '{ __typename }';

  /** The same unused variable over the three transports (GET only when its URL stays short). */
  async function threeWays(variables: Record<string, unknown>, overGet = true) {
    const post = await postOperation(t, query, { variables });
    const ws = await overWs(client, query, variables);
    const get = overGet ? await getOperation(t, query, { variables }) : undefined;
    return { post, ws, get };
  }

  it('the defaults are the documented numbers', () => {
    expect(VARIABLE_LIMITS).toEqual({ maxDepth: 64, maxListLength: 200, maxValues: 10_000 });
  });

  it(`depth: variables nested ${VARIABLE_LIMITS.maxDepth} levels are accepted, ${VARIABLE_LIMITS.maxDepth + 1} refused (VARIABLES_TOO_DEEP)`, async () => {
    // The variables object is level 1: `pad` adds the rest.
    const under = await threeWays({ pad: nestedLists(VARIABLE_LIMITS.maxDepth - 1) });
    for (const outcome of [under.post, under.ws, under.get!]) expectAccepted(outcome);

    const over = await threeWays({ pad: nestedLists(VARIABLE_LIMITS.maxDepth) });
    for (const outcome of [over.post, over.ws, over.get!]) expectVariablesRefused(outcome, 'VARIABLES_TOO_DEEP');
    expect(messages(over.ws)).toEqual(messages(over.post));
    expect(messages(over.get!)).toEqual(messages(over.post));
    expect(messages(over.post)[0]).toContain(String(VARIABLE_LIMITS.maxDepth));
  });

  it('extensions are bounded the same way', async () => {
    const extensions = { pad: nestedLists(VARIABLE_LIMITS.maxDepth) };
    const post = await postBody(t, JSON.stringify({ query, extensions }));
    const get = await getOperation(t, query, { extensions });
    expectVariablesRefused(post, 'VARIABLES_TOO_DEEP');
    expectVariablesRefused(get, 'VARIABLES_TOO_DEEP');
  });

  it(`lists: ${VARIABLE_LIMITS.maxListLength} items are accepted, ${VARIABLE_LIMITS.maxListLength + 1} refused (LIST_TOO_LONG)`, async () => {
    const under = await threeWays({ pad: Array(VARIABLE_LIMITS.maxListLength).fill(0) });
    for (const outcome of [under.post, under.ws, under.get!]) expectAccepted(outcome);

    const over = await threeWays({ pad: Array(VARIABLE_LIMITS.maxListLength + 1).fill(0) });
    for (const outcome of [over.post, over.ws, over.get!]) expectVariablesRefused(outcome, 'LIST_TOO_LONG');
    expect(messages(over.ws)).toEqual(messages(over.post));
    expect(messages(over.get!)).toEqual(messages(over.post));
  });

  it(`values: ${VARIABLE_LIMITS.maxValues} in all are accepted, one more refused (VARIABLES_TOO_LARGE)`, async () => {
    // Object members count like list items; `pad` itself is one.
    const members = (n: number) => ({ pad: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 0])) });
    const under = await threeWays(members(VARIABLE_LIMITS.maxValues - 1), false);
    expectAccepted(under.post);
    expectAccepted(under.ws);

    const over = await threeWays(members(VARIABLE_LIMITS.maxValues), false);
    expectVariablesRefused(over.post, 'VARIABLES_TOO_LARGE');
    expectVariablesRefused(over.ws, 'VARIABLES_TOO_LARGE');
    expect(messages(over.ws)).toEqual(messages(over.post));
  });

  it('the worst bodies measured in the issue answer the typed error: a 900 KB body nested 450,000 deep, 14,000 Stan line items', async () => {
    const depth = 450_000;
    const deep = `{"query":${JSON.stringify('query Q($id: ID!) { checkout(id: $id) { id } }')},"variables":{"id":"x","unused":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
    expect(deep.length).toBeGreaterThan(900_000);
    expectVariablesRefused(await postBody(t, deep), 'VARIABLES_TOO_DEEP');

    const item = { productId: 'p', quantity: 1, unitPrice: 100 };
    const stan = JSON.stringify({
      query: 'mutation S($input: CreateStanCheckoutInput!) { createStanCheckout(input: $input) { __typename } }',
      variables: { input: { returnUrl: 'https://shop.example/return', lineItems: Array(14_000).fill(item) } },
    });
    const refused = await postBody(t, stan);
    expectVariablesRefused(refused, 'LIST_TOO_LONG');
    // Refused before anything ran: no checkout was created.
    const page = await postOperation(t, '{ checkouts(first: 1) { edges { node { id } } } }');
    expect(page.data).toEqual({ checkouts: { edges: [] } });

    // Over graphql-ws the largest message (256 KiB) nested as deep as it can: the same error.
    const wsDepth = 120_000;
    const { socket, messages: frames } = await rawSocket(t);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.keys.a}` } }));
    await expect.poll(() => frames).toContainEqual({ type: 'connection_ack' });
    socket.send(
      `{"id":"deep","type":"subscribe","payload":{"query":"{ __typename }","variables":{"x":${'['.repeat(wsDepth)}${']'.repeat(wsDepth)}}}}`,
    );
    cases.ws++;
    await expect.poll(() => frames.length).toBe(2);
    expect(frames[1]).toEqual({
      id: 'deep',
      type: 'error',
      payload: [{ message: messages(await postBody(t, deep))[0], extensions: { code: 'VARIABLES_TOO_DEEP' } }],
    });
    // The socket still serves.
    socket.send(JSON.stringify({ id: 'after', type: 'subscribe', payload: { query } }));
    await expect
      .poll(() => frames)
      .toContainEqual({ id: 'after', type: 'next', payload: { data: { __typename: 'Query' } } });
    socket.close();
  });

  it('a deep connection_init payload closes the socket with 4400', async () => {
    const { socket, closed } = await rawSocket(t);
    socket.send(`{"type":"connection_init","payload":{"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`);
    expect((await closed).code).toBe(4400);
  });

  it('a form POST is measured on its decoded parameters; a multipart body is refused (no uploads)', async () => {
    const form = new URLSearchParams({
      query,
      variables: JSON.stringify({ pad: nestedLists(VARIABLE_LIMITS.maxDepth) }),
    });
    const refused = await postBody(t, form.toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      [CSRF_HEADER]: '1',
    });
    expectVariablesRefused(refused, 'VARIABLES_TOO_DEEP');

    const multipart = await postBody(
      t,
      '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ __typename }"}\r\n--x--\r\n',
      { 'content-type': 'multipart/form-data; boundary=x', [CSRF_HEADER]: '1' },
    );
    expect(multipart.status).toBe(415);
    expect(multipart.errors?.[0]?.extensions?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('strings are not structure: brackets, quotes and escapes inside strings count for nothing', async () => {
    const tricky = { pad: `${'['.repeat(1_000)}\\"${'{'.repeat(1_000)}`, list: ['"]', '\\', '[', '{'] };
    expectAccepted((await threeWays(tricky)).post);
    expectAccepted((await threeWays(tricky)).ws);
  });
});

/** A raw graphql-transport-ws socket, acknowledged. */
async function rawSocket(
  t: TestApp,
): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string; at: number }>; messages: unknown[] }> {
  const socket = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: unknown[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason), at: Date.now() })),
  );
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return { socket, closed, messages };
}

describe('WebSocket transport limits', () => {
  const t = useTestApp();

  it(`a message of ${WS_MAX_PAYLOAD_BYTES} bytes is accepted; one byte more closes the socket with 1009`, async () => {
    const { socket, closed, messages } = await rawSocket(t);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.keys.a}` } }));
    await expect.poll(() => messages).toContainEqual({ type: 'connection_ack' });
    const ofBytes = (id: string, n: number) => {
      const empty = JSON.stringify({
        id,
        type: 'subscribe',
        payload: { query: '{ __typename }', variables: { pad: '' } },
      });
      return JSON.stringify({
        id,
        type: 'subscribe',
        payload: { query: '{ __typename }', variables: { pad: 'x'.repeat(n - empty.length) } },
      });
    };
    cases.ws++;
    expect(Buffer.byteLength(ofBytes('1', WS_MAX_PAYLOAD_BYTES))).toBe(WS_MAX_PAYLOAD_BYTES);
    socket.send(ofBytes('1', WS_MAX_PAYLOAD_BYTES));
    await expect.poll(() => messages).toContainEqual({ id: '1', type: 'complete' });
    expect(messages).toContainEqual({ id: '1', type: 'next', payload: { data: { __typename: 'Query' } } });

    cases.ws++;
    socket.send(ofBytes('2', WS_MAX_PAYLOAD_BYTES + 1));
    expect((await closed).code).toBe(1009);
    expect(messages.filter((message) => (message as { id?: string }).id === '2')).toEqual([]);
  });

  it(`a socket that never sends connection_init is closed with 4408 after ${WS_INIT_WAIT_MS / 1000} s`, async () => {
    cases.ws++;
    const opened = Date.now();
    const { closed, messages } = await rawSocket(t);
    const { code, reason, at } = await closed;
    expect(code).toBe(4408);
    expect(reason).toMatch(/initialisation timeout/i);
    expect(at - opened).toBeGreaterThanOrEqual(WS_INIT_WAIT_MS - 250);
    expect(at - opened).toBeLessThan(WS_INIT_WAIT_MS + 2_000);
    expect(messages).toEqual([]);
  }, 10_000);

  it(`${LIMITS.wsMaxSubscriptions} operations run at once on one socket; one more is refused with TOO_MANY_SUBSCRIPTIONS`, async () => {
    const created = await t.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/item?sandbox_amount=12.00', email: 'ada@example.com' },
    });
    const { id } = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    const client = scopedWsClient(t.url, t.keys.a!);
    const running = Array.from({ length: LIMITS.wsMaxSubscriptions }, () =>
      recordSubscription(client, CheckoutStatusChangedDocument, { id }),
    );
    cases.ws += running.length;
    await expect
      .poll(() => running.filter((subscription) => subscription.events.length > 0).length, { timeout: 15_000 })
      .toBe(LIMITS.wsMaxSubscriptions);
    expect(running.every((subscription) => subscription.errors === undefined && !subscription.completed)).toBe(true);

    cases.ws++;
    const refused = recordSubscription(client, CheckoutStatusChangedDocument, { id });
    await refused.done;
    expect(refused.events).toEqual([]);
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
    expect(refused.errors?.[0]?.message).toContain(String(LIMITS.wsMaxSubscriptions));
    // A query is an operation too.
    const query = await overWs(client, '{ __typename }');
    expect(query.errors?.[0]).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
    expect(running.every((subscription) => subscription.errors === undefined && !subscription.completed)).toBe(true);
  }, 30_000);

  it(`a burst of ${LIMITS.wsMaxSubscriptions + 20} subscribe messages at once: ${LIMITS.wsMaxSubscriptions} run, the others are refused`, async () => {
    const created = await t.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/item?sandbox_amount=13.00', email: 'ada@example.com' },
    });
    const { id } = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    const client = scopedWsClient(t.url, t.keys.a!, { lazy: false });
    // All sent before the server answers any: the check must not let the burst through.
    const burst = Array.from({ length: LIMITS.wsMaxSubscriptions + 20 }, () =>
      recordSubscription(client, CheckoutStatusChangedDocument, { id }),
    );
    cases.ws += burst.length;
    await expect
      .poll(
        () =>
          burst.filter((subscription) => subscription.events.length > 0 || subscription.errors !== undefined).length,
        { timeout: 15_000 },
      )
      .toBe(burst.length);
    const refused = burst.filter((subscription) => subscription.errors !== undefined);
    expect(burst.filter((subscription) => subscription.events.length > 0)).toHaveLength(LIMITS.wsMaxSubscriptions);
    expect(refused).toHaveLength(20);
    for (const subscription of refused)
      expect(subscription.errors?.[0]).toMatchObject({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } });
  }, 30_000);

  it('a subscription the client ends frees its place on the socket', async () => {
    const t1 = await startScopedTestApp({ LIMIT_WS_MAX_SUBSCRIPTIONS: '1' });
    // Not lazy: one socket throughout (a lazy client would close it when its last subscription ends).
    const client = scopedWsClient(t1.url, t1.keys.a!, { lazy: false });
    let sockets = 0;
    client.on('connected', () => sockets++);
    const created = await t1.request(CreateSmartCheckoutDocument, {
      input: { productUrl: 'https://shop.example/item?sandbox_amount=12.00', email: 'ada@example.com' },
    });
    const { id } = expectType(created.data?.createSmartCheckout, 'CreateSmartCheckoutSuccess').checkout;
    const first = recordSubscription(client, CheckoutStatusChangedDocument, { id });
    await expect.poll(() => first.events.length).toBe(1);
    cases.ws += 2;
    expect((await overWs(client, '{ __typename }')).errors?.[0]).toMatchObject({
      extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
    });
    // The client sends `complete`; the checkout does not change meanwhile (no poller).
    first.dispose();
    await expect
      .poll(async () => (await overWs(client, '{ __typename }')).data ?? null, { timeout: 3_000, interval: 250 })
      .toEqual({ __typename: 'Query' });
    // Completed queries hold no place: many in a row on the one socket.
    for (let i = 0; i < 3; i++) expectAccepted(await overWs(client, '{ __typename }'));
    expect(sockets).toBe(1);
  });

  it('the legacy `graphql-ws` subprotocol (subscriptions-transport-ws) is refused', async () => {
    cases.ws++;
    // The ws client: the server picks no subprotocol, so the handshake fails on the client side.
    const legacy = new WebSocket(`${t.url.replace(/^http/, 'ws')}/graphql`, 'graphql-ws');
    const failure = await new Promise<string>((resolve) => {
      legacy.on('open', () => resolve('opened'));
      legacy.on('error', (error) => resolve(error.message));
    });
    expect(failure).toBe('Server sent no subprotocol');

    // A raw upgrade that does not check: 101 without Sec-WebSocket-Protocol, then a 4406 close frame.
    const { headers, frame } = await new Promise<{ headers: Record<string, unknown>; frame: Buffer }>(
      (resolve, reject) => {
        const req = httpRequest(`${t.url}/graphql`, {
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': randomBytes(16).toString('base64'),
            'sec-websocket-protocol': 'graphql-ws',
          },
        });
        req.on('upgrade', (res, socket: Socket, head: Buffer) => {
          let received = head;
          const done = () => {
            socket.destroy();
            resolve({ headers: res.headers, frame: received });
          };
          if (received.length >= 4) return done();
          socket.on('data', (chunk: Buffer) => {
            received = Buffer.concat([received, chunk]);
            if (received.length >= 4) done();
          });
        });
        req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
        req.on('error', reject);
        req.end();
      },
    );
    expect(headers['sec-websocket-protocol']).toBeUndefined();
    expect(frame[0]).toBe(0x88); // FIN + close
    expect(frame.readUInt16BE(2)).toBe(4406); // SubprotocolNotAcceptable
    expect(frame.subarray(4, 2 + (frame[1]! & 0x7f)).toString()).toBe('Subprotocol not acceptable');
  });
});

describe('production posture', () => {
  const production = useTestApp({ NODE_ENV: 'production' });
  const configured = useTestApp({
    NODE_ENV: 'production',
    INTROSPECTION: 'on',
    GRAPHIQL: 'on',
    CORS_ORIGINS: 'https://shop.example',
  });
  let productionClient: Client;
  let configuredClient: Client;
  beforeAll(() => {
    productionClient = wsClient(production.url, production.keys.a!);
    configuredClient = wsClient(configured.url, configured.keys.a!);
  });
  afterAll(async () => {
    await productionClient?.dispose();
    await configuredClient?.dispose();
  });

  it('no field suggestions in production', async () => {
    for (const [t, client] of [
      [production, productionClient],
      [configured, configuredClient],
    ] as const) {
      const typo = await bothWays(t, client, '{ checkoutz(id: "x") { id } }');
      expectRefused(typo.http, /Cannot query field "checkoutz" on type "Query"/);
      expectRefused(typo.ws, /Cannot query field "checkoutz" on type "Query"/);
      for (const outcome of [typo.http, typo.ws])
        expect(messages(outcome).join(' ')).not.toMatch(/Did you mean|"checkouts?"/);
      expect(messages(typo.ws)).toEqual(messages(typo.http));
    }
  });

  it('introspection is off in production unless INTROSPECTION=on', async () => {
    for (const query of ['{ __schema { queryType { name } } }', '{ __type(name: "Checkout") { name } }']) {
      const refused = await bothWays(production, productionClient, query);
      expectRefused(refused.http, /introspection has been disabled/);
      expectRefused(refused.ws, /introspection has been disabled/);
      expect(messages(refused.ws)).toEqual(messages(refused.http));
    }
    const allowed = await bothWays(configured, configuredClient, '{ __schema { queryType { name } } }');
    expect(allowed.http.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    expect(allowed.ws.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('GraphiQL is not served in production unless GRAPHIQL=on', async () => {
    const off = await fetch(`${production.url}/graphql`, { headers: { accept: 'text/html' } });
    const offBody = await off.text();
    expect(off.status).toBeLessThan(500);
    expect(off.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
    expect(offBody).not.toMatch(/<html|graphiql/i);

    const on = await fetch(`${configured.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(on.status).toBe(200);
    expect(on.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await on.text()).toMatch(/<html/i);
  });

  it('CORS: only the configured origins are allowed; none in production without CORS_ORIGINS', async () => {
    const preflight = (t: TestApp, origin: string) =>
      fetch(`${t.url}/graphql`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type, authorization',
        },
      });
    const shop = await preflight(configured, 'https://shop.example');
    expect(shop.status).toBeLessThan(300);
    expect(shop.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(shop.headers.get('access-control-allow-methods')).toMatch(/POST/);

    // Yoga answers a one-origin list with that origin whatever the caller (a browser at evil.example
    // then refuses the answer): never the caller's origin, never `*`.
    const evil = await preflight(configured, 'https://evil.example');
    expect([null, 'https://shop.example']).toContain(evil.headers.get('access-control-allow-origin'));

    const none = await preflight(production, 'https://shop.example');
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
    // Nor on an actual request.
    const actual = await postBody(
      production,
      JSON.stringify({ query: '{ __typename }' }),
      { origin: 'https://shop.example' },
      production.keys.a!,
    );
    expectAccepted(actual);
    expect(actual.headers!.get('access-control-allow-origin')).toBeNull();
    const allowed = await postBody(
      configured,
      JSON.stringify({ query: '{ __typename }' }),
      { origin: 'https://shop.example' },
      configured.keys.a!,
    );
    expect(allowed.headers!.get('access-control-allow-origin')).toBe('https://shop.example');
  });

  it('security headers in production too', async () => {
    for (const response of [
      await fetch(`${production.url}/health`),
      await fetch(`${production.url}/graphql`, { headers: { accept: 'text/html' } }),
    ]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});

describe('rate limit per API key', () => {
  const PER_MINUTE = 5;

  it('allows 6,000 operations per minute per key by default (100 a second, as a storefront renderer needs)', () => {
    expect(LIMITS.ratePerMinute).toBe(6_000);
  });

  if (!process.env.REDIS_URL)
    console.log('limits.test.ts: the rate limit shared across instances is skipped: it needs REDIS_URL');
  it.skipIf(!process.env.REDIS_URL)('counts one allowance across instances sharing REDIS_URL', async () => {
    const apiKeys = `shared-${randomBytes(4).toString('hex')}:shared-key-${randomBytes(8).toString('hex')}`;
    const key = apiKeys.slice(apiKeys.indexOf(':') + 1);
    const [one, two] = [
      await startScopedTestApp({ RATE_LIMIT_PER_MINUTE: String(PER_MINUTE), API_KEYS: apiKeys }),
      await startScopedTestApp({ RATE_LIMIT_PER_MINUTE: String(PER_MINUTE), API_KEYS: apiKeys }),
    ];
    const statuses = [];
    for (let i = 0; i < PER_MINUTE + 1; i++)
      statuses.push((await postOperation(i % 2 === 0 ? one : two, '{ __typename }', { apiKey: key })).status);
    expect(statuses).toEqual([...Array<number>(PER_MINUTE).fill(200), 429]);
  });

  it(`over HTTP: operation ${PER_MINUTE + 1} of a key answers 429 with Retry-After and RATE_LIMITED; another key is not affected`, async () => {
    const t = await startScopedTestApp({ RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) });
    for (let i = 0; i < PER_MINUTE; i++) expectAccepted(await postOperation(t, '{ __typename }'));
    const limited = await postOperation(t, '{ __typename }');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers!.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.data ?? null).toBeNull();
    expect(limited.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    expect(limited.errors?.[0]?.message).toContain(`${PER_MINUTE} operations per minute`);

    // The IETF RateLimit headers: the policy, and what is left of it.
    expect(limited.headers!.get('ratelimit-policy')).toBe(`"operations";q=${PER_MINUTE};w=60`);
    expect(limited.headers!.get('ratelimit')).toMatch(/^"operations";r=0;t=\d+$/);

    const other = await postOperation(t, '{ __typename }', { apiKey: t.keys.b });
    expectAccepted(other);
    expect(other.headers!.get('ratelimit-policy')).toBe(`"operations";q=${PER_MINUTE};w=60`);
    expect(other.headers!.get('ratelimit')).toMatch(new RegExp(`^"operations";r=${PER_MINUTE - 1};t=(60|59)$`));
    // Still limited.
    expect((await postOperation(t, '{ __typename }')).status).toBe(429);
  });

  it(`over WebSocket: operation ${PER_MINUTE + 1} of a key ends with RATE_LIMITED, and the key is limited over HTTP too`, async () => {
    const t = await startScopedTestApp({ RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) });
    const client = scopedWsClient(t.url, t.keys.a!);
    const other = scopedWsClient(t.url, t.keys.b!);
    for (let i = 0; i < PER_MINUTE; i++) expectAccepted(await overWs(client, '{ __typename }'));
    const limited = await overWs(client, '{ __typename }');
    expect(limited.closeCode).toBeUndefined();
    expect(limited.data ?? null).toBeNull();
    expect(limited.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
    expect(limited.errors?.[0]?.message).toContain(`${PER_MINUTE} operations per minute`);

    expectAccepted(await overWs(other, '{ __typename }'));
    const http = await postOperation(t, '{ __typename }');
    expect(http.status).toBe(429);
    expect(http.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
  });
});
