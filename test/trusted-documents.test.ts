import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schemaDocumentChecker } from '../src/app/trusted-documents.js';
import { brokenDocuments, type DocumentManifest } from '../src/domain/trusted-documents.js';
import { schema } from '../src/schema/index.js';
import { useTestApp, type TestApp } from './support/app.js';
import { scopedWsClient } from './support/subscriptions.js';

// Trusted documents (TRUSTED_DOCUMENTS, `npm run documents`): manifests published per tenant, app
// and version; documents sent by hash over HTTP POST, HTTP GET, SSE and graphql-ws; text refused
// in required mode except for the any-document scope; and the check that a schema change would
// break a published app version.

const CHECKOUT = 'query TrustedCheckout($id: ID!) { checkout(id: $id) { id status } }';
const WATCH = 'subscription TrustedWatch($id: ID!) { checkoutStatusChanged(id: $id) { id status } }';
const CREATE = `mutation TrustedCreate($customerId: String!) {
  createPayerVaultCheckout(input: { customerId: $customerId }) {
    __typename
    ... on CreatePayerVaultCheckoutSuccess { checkout { id status } }
  }
}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** The manifest as GraphQL Code Generator's client preset writes it: `sha256:<hex>` -> text. */
const MANIFEST = Object.fromEntries([CHECKOUT, WATCH, CREATE].map((text) => [`sha256:${sha256(text)}`, text]));
const byHash = (text: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(text) } });

interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A POST of `body` (query text or a hash in extensions) with `key`. */
async function post(t: TestApp, key: string, body: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(`${t.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      authorization: `Bearer ${key}`,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, 'status'>) };
}

/** A GET with `params` as query-string JSON, as GraphQL over HTTP sends it. */
async function get(t: TestApp, key: string, params: Record<string, unknown>, accept?: string): Promise<Response> {
  const search = new URLSearchParams(
    Object.entries(params).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
  return fetch(`${t.url}/graphql?${search}`, {
    headers: {
      accept: accept ?? 'application/graphql-response+json, application/json;q=0.9',
      authorization: `Bearer ${key}`,
      'x-graphql-yoga-csrf': '1',
    },
  });
}

/** Yoga's SSE: the `next` payloads and whether the stream completed. */
async function sse(response: Response): Promise<{ events: Answer[]; completed: boolean; text: string }> {
  const text = await response.text();
  const events: Answer[] = [];
  for (const block of text.split('\n\n')) {
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (/^event: next/m.test(block) && data) events.push(JSON.parse(data) as Answer);
  }
  return { events, completed: /^event: complete/m.test(text), text };
}

/** A graphql-ws subscription with a raw payload (`query: ""` and a hash, or text): its events, or its errors. */
function subscribe(t: TestApp, key: string, payload: { query: string; variables: unknown; extensions?: unknown }) {
  const client = scopedWsClient(t.url, key);
  return new Promise<{ events: unknown[]; errors?: readonly { message: string; extensions?: { code?: string } }[] }>(
    (resolve) => {
      const events: unknown[] = [];
      client.subscribe(payload as never, {
        next: (message) => events.push(message.data),
        error: (error) => resolve({ events, errors: error as never }),
        complete: () => resolve({ events }),
      });
    },
  );
}

const codeOf = (answer: { errors?: readonly { extensions?: { code?: string } }[] }) =>
  answer.errors?.[0]?.extensions?.code;

describe('trusted documents required (TRUSTED_DOCUMENTS=required)', () => {
  const suffix = randomUUID().slice(0, 8);
  const tenants = { a: `docs-a-${suffix}`, b: `docs-b-${suffix}` };
  const keys = { a: `key-a-${randomUUID()}`, b: `key-b-${randomUUID()}` };
  const operatorKey = `operator-${randomUUID()}`;
  const t = useTestApp(
    {
      TRUSTED_DOCUMENTS: 'required',
      API_KEYS: `${tenants.a}:${keys.a},${tenants.b}:${keys.b}`,
      OPERATOR_KEY: operatorKey,
    },
    // Its manifests stay out of the shared PostgreSQL database, where schema:check could read them.
    { isolate: 'trusted_documents' },
  );
  /** A key of tenant a with the any-document scope (made by the operator in the first test). */
  let anyDocumentKey: string;
  /** A checkout of tenant a, COMPLETED, so that status streams send it and end. */
  let checkoutId: string;

  it('an operator credential sends text (creates a key with the any-document scope); that key publishes the manifest', async () => {
    const created = await post(t, operatorKey, {
      query: `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) {
        __typename ... on CreateApiKeySuccess { key apiKey { tenant anyDocument } } } }`,
      variables: { input: { tenant: tenants.a, scope: 'WRITE', anyDocument: true, label: 'GraphiQL' } },
    });
    const success = created.data?.createApiKey as { key: string; apiKey: { tenant: string; anyDocument: boolean } };
    expect(success.apiKey).toEqual({ tenant: tenants.a, anyDocument: true });
    anyDocumentKey = success.key;

    const published = await post(t, anyDocumentKey, {
      query: `mutation ($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) {
        __typename ... on PublishDocumentManifestSuccess { manifest { tenant appName appVersion documentCount retiredAt } }
        ... on ValidationError { fieldErrors { path message } } } }`,
      variables: { input: { appName: 'shop', appVersion: '1.0.0', documents: MANIFEST } },
    });
    expect(published.data?.publishDocumentManifest).toEqual({
      __typename: 'PublishDocumentManifestSuccess',
      manifest: { tenant: tenants.a, appName: 'shop', appVersion: '1.0.0', documentCount: 3, retiredAt: null },
    });
  });

  it('HTTP POST: a published hash runs for its tenant; text, an unknown hash and another tenant are refused with typed errors', async () => {
    const created = await post(t, keys.a, { extensions: byHash(CREATE), variables: { customerId: 'cust-docs' } });
    const checkout = (created.data!.createPayerVaultCheckout as { checkout: { id: string; status: string } }).checkout;
    expect(checkout.status).toBe('OPEN');
    checkoutId = checkout.id;

    const read = await post(t, keys.a, { extensions: byHash(CHECKOUT), variables: { id: checkoutId } });
    expect(read.data).toEqual({ checkout: { id: checkoutId, status: 'OPEN' } });
    // The client preset's own id form (`sha256:<hex>` in extensions.documentId) is the same document.
    const byDocumentId = await post(t, keys.a, {
      extensions: { documentId: `sha256:${sha256(CHECKOUT)}` },
      variables: { id: checkoutId },
    });
    expect(byDocumentId.data).toEqual(read.data);

    const text = await post(t, keys.a, { query: CHECKOUT, variables: { id: checkoutId } });
    expect([text.status, codeOf(text), text.data ?? undefined]).toEqual([400, 'PERSISTED_QUERY_ONLY', undefined]);
    // Text beside a published hash: the published text runs, never the text sent with it.
    const textAndHash = await post(t, keys.a, {
      query: '{ __typename }',
      extensions: byHash(CHECKOUT),
      variables: { id: checkoutId },
    });
    expect(textAndHash.data).toEqual(read.data);
    const unknown = await post(t, keys.a, { extensions: byHash('query { __typename }'), variables: {} });
    expect([unknown.status, codeOf(unknown)]).toEqual([400, 'PERSISTED_QUERY_NOT_FOUND']);
    // Tenant b has published nothing: tenant a's manifest does not serve it.
    const otherTenant = await post(t, keys.b, { extensions: byHash(CHECKOUT), variables: { id: checkoutId } });
    expect([otherTenant.status, codeOf(otherTenant)]).toEqual([400, 'PERSISTED_QUERY_NOT_FOUND']);

    // The any-document scope sends text (here: records the outcome, so streams below end).
    const outcome = await post(t, anyDocumentKey, {
      query: `mutation ($input: RecordCheckoutOutcomeInput!) { recordCheckoutOutcome(input: $input) { __typename } }`,
      variables: { input: { id: checkoutId, status: 'COMPLETED' } },
    });
    expect(outcome.data).toEqual({ recordCheckoutOutcome: { __typename: 'RecordCheckoutOutcomeSuccess' } });
  });

  it('HTTP GET: a published query by hash; another tenant, text and a mutation are refused', async () => {
    const read = await get(t, keys.a, { extensions: byHash(CHECKOUT), variables: { id: checkoutId } });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ data: { checkout: { id: checkoutId, status: 'COMPLETED' } } });

    const otherTenant = await get(t, keys.b, { extensions: byHash(CHECKOUT), variables: { id: checkoutId } });
    expect(codeOf((await otherTenant.json()) as Answer)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const text = await get(t, keys.a, { query: CHECKOUT, variables: { id: checkoutId } });
    expect(codeOf((await text.json()) as Answer)).toBe('PERSISTED_QUERY_ONLY');
    // A published mutation is still a mutation: never by GET.
    const mutation = await get(t, keys.a, { extensions: byHash(CREATE), variables: { customerId: 'cust-get' } });
    expect(mutation.status).toBe(405);
  });

  it('SSE (POST and GET): a published subscription by hash streams; another tenant and text are refused', async () => {
    const postStream = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${keys.a}` },
      body: JSON.stringify({ extensions: byHash(WATCH), variables: { id: checkoutId } }),
    });
    const posted = await sse(postStream);
    expect(posted.events).toEqual([{ data: { checkoutStatusChanged: { id: checkoutId, status: 'COMPLETED' } } }]);
    expect(posted.completed).toBe(true);

    const getStream = await get(
      t,
      keys.a,
      { extensions: byHash(WATCH), variables: { id: checkoutId } },
      'text/event-stream',
    );
    expect((await sse(getStream)).events).toEqual(posted.events);

    const otherTenant = await get(
      t,
      keys.b,
      { extensions: byHash(WATCH), variables: { id: checkoutId } },
      'text/event-stream',
    );
    expect((await sse(otherTenant)).text).toContain('PERSISTED_QUERY_NOT_FOUND');
    const text = await get(t, keys.a, { query: WATCH, variables: { id: checkoutId } }, 'text/event-stream');
    expect((await sse(text)).text).toContain('PERSISTED_QUERY_ONLY');
  });

  it('graphql-ws: a published subscription by hash (query ""), refused for another tenant and as text, except for the any-document scope', async () => {
    const watched = await subscribe(t, keys.a, { query: '', variables: { id: checkoutId }, extensions: byHash(WATCH) });
    expect(watched).toEqual({ events: [{ checkoutStatusChanged: { id: checkoutId, status: 'COMPLETED' } }] });
    const read = await subscribe(t, keys.a, { query: '', variables: { id: checkoutId }, extensions: byHash(CHECKOUT) });
    expect(read.events).toEqual([{ checkout: { id: checkoutId, status: 'COMPLETED' } }]);

    const otherTenant = await subscribe(t, keys.b, {
      query: '',
      variables: { id: checkoutId },
      extensions: byHash(WATCH),
    });
    expect(codeOf(otherTenant)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const text = await subscribe(t, keys.a, { query: WATCH, variables: { id: checkoutId } });
    expect(codeOf(text)).toBe('PERSISTED_QUERY_ONLY');
    const allowed = await subscribe(t, anyDocumentKey, { query: WATCH, variables: { id: checkoutId } });
    expect(allowed.events).toEqual(watched.events);
  });

  it('publishing refuses documents the schema does not accept, hashes that are not their text, and another tenant', async () => {
    const publish = (key: string, input: Record<string, unknown>) =>
      post(t, key, {
        query: `mutation ($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) {
          __typename ... on ValidationError { fieldErrors { path message } } } }`,
        variables: { input: { appName: 'shop', appVersion: '2.0.0', ...input } },
      });
    const invalid = 'query Invalid { checkout(id: "x") { noSuchField } }';
    const refused = await publish(anyDocumentKey, { documents: { [`sha256:${sha256(invalid)}`]: invalid } });
    const fieldErrors = (
      refused.data!.publishDocumentManifest as { fieldErrors: { path: string[]; message: string }[] }
    ).fieldErrors;
    expect(fieldErrors).toHaveLength(1);
    expect(fieldErrors[0]!.path).toEqual(['input', 'documents', `sha256:${sha256(invalid)}`]);
    expect(fieldErrors[0]!.message).toContain('noSuchField');

    const mismatched = await publish(anyDocumentKey, { documents: { [`sha256:${sha256(CHECKOUT)}`]: WATCH } });
    expect(JSON.stringify(mismatched.data)).toContain('must be the sha256 of its document');
    const otherTenant = await publish(anyDocumentKey, { tenant: tenants.b, documents: MANIFEST });
    expect(JSON.stringify(otherTenant.data)).toContain("manages its own tenant's manifests only");
    // The same documents again under a published version: the stored version (CI may publish twice).
    const again = await post(t, anyDocumentKey, {
      query: `mutation ($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) { __typename } }`,
      variables: { input: { appName: 'shop', appVersion: '1.0.0', documents: MANIFEST } },
    });
    expect(again.data).toEqual({ publishDocumentManifest: { __typename: 'PublishDocumentManifestSuccess' } });
    const changed = await post(t, anyDocumentKey, {
      query: `mutation ($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) { __typename } }`,
      variables: {
        input: { appName: 'shop', appVersion: '1.0.0', documents: { [`sha256:${sha256(CHECKOUT)}`]: CHECKOUT } },
      },
    });
    expect(changed.data).toEqual({ publishDocumentManifest: { __typename: 'ValidationError' } });
  });

  it('lists manifests per tenant, and a retired version is no longer served', async () => {
    const list = (key: string) =>
      post(t, key, {
        query: `{ documentManifests(includeRetired: true) { tenant appName appVersion retiredAt documents { hash } } }`,
      });
    const listed = (await list(anyDocumentKey)).data?.documentManifests as { documents: { hash: string }[] }[];
    expect(listed).toMatchObject([{ tenant: tenants.a, appName: 'shop', appVersion: '1.0.0', retiredAt: null }]);
    expect(listed[0]!.documents.map((document) => document.hash).sort()).toEqual(Object.keys(MANIFEST).sort());
    // The operator sees every tenant's; tenant b's own list is empty.
    const operator = await post(t, operatorKey, {
      query: `query ($tenant: String) { documentManifests(tenant: $tenant) { tenant } }`,
      variables: { tenant: tenants.a },
    });
    expect(operator.data).toEqual({ documentManifests: [{ tenant: tenants.a }] });

    const retired = await post(t, anyDocumentKey, {
      query: `mutation { retireDocumentManifest(input: { appName: "shop", appVersion: "1.0.0" }) {
        __typename ... on RetireDocumentManifestSuccess { manifest { retiredAt } } } }`,
    });
    expect(retired.data?.retireDocumentManifest).toMatchObject({ __typename: 'RetireDocumentManifestSuccess' });
    const gone = await post(t, keys.a, { extensions: byHash(CHECKOUT), variables: { id: checkoutId } });
    expect(codeOf(gone)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const again = await post(t, anyDocumentKey, {
      query: `mutation { retireDocumentManifest(input: { appName: "shop", appVersion: "1.0.0" }) { __typename } }`,
    });
    expect(again.data).toEqual({ retireDocumentManifest: { __typename: 'DocumentManifestNotFoundError' } });
  });
});

describe('trusted documents optional (the default)', () => {
  const t = useTestApp({}, { isolate: 'trusted_documents_optional' });

  it('serves text and published hashes alike', async () => {
    const text = await post(t, t.keys.a!, { query: '{ __typename }' });
    expect(text.data).toEqual({ __typename: 'Query' });
    const unpublished = await post(t, t.keys.a!, { extensions: byHash(CHECKOUT), variables: { id: 'x' } });
    expect(codeOf(unpublished)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const published = await post(t, t.keys.a!, {
      query: `mutation ($input: PublishDocumentManifestInput!) { publishDocumentManifest(input: $input) { __typename } }`,
      variables: { input: { appName: 'shop', appVersion: '1', documents: MANIFEST } },
    });
    expect(published.data).toEqual({ publishDocumentManifest: { __typename: 'PublishDocumentManifestSuccess' } });
    const read = await post(t, t.keys.a!, { extensions: byHash(CHECKOUT), variables: { id: 'x' } });
    expect(read.data).toEqual({ checkout: null });
    // Text and a hash together (an Apollo persisted-query client's retry after
    // PERSISTED_QUERY_NOT_FOUND) run the text here, as they would without the hash.
    const both = await post(t, t.keys.a!, { query: '{ __typename }', extensions: byHash(CHECKOUT), variables: {} });
    expect(both.data).toEqual({ __typename: 'Query' });
    const bothUnpublished = await post(t, t.keys.a!, {
      query: '{ __typename }',
      extensions: byHash('query Unpublished { __typename }'),
    });
    expect(bothUnpublished.data).toEqual({ __typename: 'Query' });
  });
});

describe('schema:check against published manifests', () => {
  const manifest = (documents: Record<string, string>, retiredAt: Date | null = null): DocumentManifest => ({
    id: randomUUID(),
    tenant: 'acme',
    appName: 'shop',
    appVersion: '1.0.0',
    documentCount: Object.keys(documents).length,
    createdAt: new Date(),
    retiredAt,
    documents: Object.values(documents).map((body) => ({ hash: sha256(body), body })),
  });

  it('passes for the schema the API serves', () => {
    expect(brokenDocuments([manifest(MANIFEST)], schemaDocumentChecker(schema))).toEqual([]);
  });

  it('fails for a schema change that removes a field a live app version uses, naming the version and document', () => {
    // The change under review: Checkout.status is gone (and the rest of the graph with it).
    const changed = buildSchema('type Query { checkout(id: ID!): Checkout } type Checkout { id: ID! }');
    const broken = brokenDocuments([manifest(MANIFEST)], schemaDocumentChecker(changed));
    expect(broken.map(({ manifest: { appName, appVersion }, hash }) => ({ appName, appVersion, hash }))).toEqual(
      expect.arrayContaining([{ appName: 'shop', appVersion: '1.0.0', hash: sha256(CHECKOUT) }]),
    );
    expect(broken.find((found) => found.hash === sha256(CHECKOUT))?.problems.join(' ')).toContain('"status"');
    // A document that keeps to what is left passes; a retired version no longer counts.
    const idOnly = 'query Ids($id: ID!) { checkout(id: $id) { id } }';
    expect(brokenDocuments([manifest({ idOnly })], schemaDocumentChecker(changed))).toEqual([]);
    expect(brokenDocuments([manifest(MANIFEST, new Date())], schemaDocumentChecker(changed))).toEqual([]);
  });
});

describe('npm run documents, on a data folder no server holds', () => {
  const ROOT = fileURLToPath(new URL('..', import.meta.url));
  const run = promisify(execFile);
  const documents = (dataDir: string, args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli/documents.ts', ...args], {
      cwd: ROOT,
      env: { ...withoutDatabaseUrl(), LOG_LEVEL: 'silent', DATA_DIR: dataDir },
    });

  it('publishes, lists, checks and retires; the check passes without a database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'documents-cli-'));
    try {
      const none = await documents(join(dir, 'none'), ['check']);
      expect(none.stderr).toContain('no published documents to check');
      const file = join(dir, 'persisted-documents.json');
      await writeFile(file, JSON.stringify(MANIFEST));
      const data = join(dir, 'data');
      const published = await documents(data, [
        'publish',
        '--tenant',
        'acme',
        '--app',
        'shop',
        '--version',
        '1.0.0',
        file,
      ]);
      expect(published.stdout).toBe('published shop 1.0.0 for acme: 3 documents\n');
      expect((await documents(data, ['list', '--tenant', 'acme'])).stdout).toMatch(
        /^acme {2}shop {2}1\.0\.0 {2}3 documents {2}live /,
      );
      expect((await documents(data, ['check'])).stderr).toContain('1 live app versions checked');
      expect(
        (await documents(data, ['retire', '--tenant', 'acme', '--app', 'shop', '--version', '1.0.0'])).stdout,
      ).toBe('retired shop 1.0.0 of acme\n');
      expect((await documents(data, ['list', '--all'])).stdout).toMatch(/3 documents {2}retired /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** This process's environment without DATABASE_URL: the commands then use DATA_DIR. */
function withoutDatabaseUrl(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return env;
}
