import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { buildApp, type App } from '../../src/app/index.js';

/** A GraphQL response as the wire carries it. */
export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown>; path?: (string | number)[] }[];
}

/** A running API for one test file: real HTTP on a free loopback port, real database, real sandboxes. */
export interface TestApp {
  app: App;
  url: string;
  /** Tenant -> API key configured for this app (two tenants, `a` and `b`, by default). */
  keys: Record<string, string>;
  /** Every log line the app wrote (JSON strings). */
  logs: string[];
  /** Sends a typed document over HTTP POST as tenant `a` unless `apiKey` says otherwise (null: no header). */
  request<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables?: TVariables,
    options?: { apiKey?: string | null; headers?: Record<string, string> },
  ): Promise<GraphQLResponse<TResult>>;
  stop(): Promise<void>;
}

/** Where pub/sub runs in tests: Redis when REDIS_URL is set, else in memory. */
export const PUBSUB_KIND = process.env.REDIS_URL ? 'redis' : 'memory';

/** Where the tests' data lives: PostgreSQL when DATABASE_URL is set, else an in-memory PGlite. */
export const DATABASE_KIND = process.env.DATABASE_URL ? 'postgres' : 'pglite';

/** How a test app is set up beyond its environment. */
export interface TestAppOptions {
  /**
   * A database of its own on PostgreSQL (dropped on stop), for apps whose sweeps or poller act on
   * every tenant; the label names it. Apps with POLLER=on always get one.
   */
  isolate?: string;
}

/**
 * Starts the API. Each app gets its own random tenants, so test files can share one PostgreSQL
 * database (and run in parallel) without seeing each other's checkouts.
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  // A poller claims due schedules of every tenant; apps that poll get a database of their own on
  // PostgreSQL so that test files running side by side never poll each other's checkouts.
  const isolate = options.isolate ?? (env.POLLER === 'on' ? 'app' : undefined);
  const scratch = isolate && env.DATABASE_URL === undefined ? await isolatedDatabase(isolate) : undefined;
  const suffix = randomUUID().slice(0, 8);
  const keys = { a: `key-a-${randomUUID()}`, b: `key-b-${randomUUID()}` };
  const tenants = { a: `tenant-a-${suffix}`, b: `tenant-b-${suffix}` };
  const logs: string[] = [];
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: 'memory://',
    DATABASE_URL: scratch?.url ?? process.env.DATABASE_URL,
    REDIS_URL: process.env.REDIS_URL,
    API_KEYS: `${tenants.a}:${keys.a},${tenants.b}:${keys.b}`,
    PROVIDER_TIMEOUT_MS: '2000',
    // Off unless a test is about polling: a background poll would race tests that count provider
    // requests or step a sandbox checkout through refreshCheckout.
    POLLER: 'off',
    // Likewise no retries and a breaker that never opens, unless a test is about them: most tests
    // count provider requests, and one app sees many deliberate provider failures in a row.
    PROVIDER_GET_RETRIES: '0',
    PROVIDER_BREAKER_THRESHOLD: '1000000',
    // And a rate limit no test reaches unless it is about rate limits (one app serves a whole file).
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...env,
  });
  let app: App;
  let url: string;
  try {
    app = await buildApp(config, {
      logDestination: new Writable({
        write(chunk: Buffer, _encoding, callback) {
          logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          callback();
        },
      }),
    });
    url = await app.start();
  } catch (error) {
    await scratch?.drop();
    throw error;
  }
  return {
    app,
    url,
    keys,
    logs,
    async request(document, variables, options = {}) {
      const apiKey = options.apiKey === undefined ? keys.a : options.apiKey;
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json;q=0.9',
          ...(apiKey === null ? {} : { authorization: `Bearer ${apiKey}` }),
          ...options.headers,
        },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const body = (await response.json()) as Omit<GraphQLResponse<never>, 'status' | 'headers'>;
      return { status: response.status, headers: response.headers, ...body } as GraphQLResponse<never>;
    },
    async stop() {
      await app.stop();
      await scratch?.drop();
      recordLogsForSecretScan(logs, [keys.a, keys.b, ...secretsOf(env)]);
    },
  };
}

/**
 * An app for the enclosing `describe` block: started before its tests, stopped after them. The
 * object returned forwards to the running app, so tests use it like the app itself.
 */
export function useTestApp(
  env: Record<string, string | undefined> | (() => Record<string, string | undefined>) = {},
  options: TestAppOptions = {},
): TestApp {
  let app: TestApp | undefined;
  beforeAll(async () => {
    app = await startTestApp(typeof env === 'function' ? env() : env, options);
  });
  afterAll(async () => {
    await app?.stop();
  });
  return new Proxy({} as TestApp, {
    get(_target, property) {
      if (!app) throw new Error('the test app is used before its describe block started it');
      return Reflect.get(app, property);
    },
  });
}

/** An app for the running test alone: stopped when the test finishes, however it ends. */
export async function startScopedTestApp(
  env: Record<string, string | undefined> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const app = await startTestApp(env, options);
  onTestFinished(() => app.stop());
  return app;
}

/** Environment variables whose values must never appear in a log line. */
const SECRET_ENV = ['SMARTCHECKOUT_API_KEY', 'PAYERVAULT_ACCESS_KEY', 'PAYERVAULT_ACCESS_SECRET', 'STAN_CLIENT_SECRET'];

/** Configured secrets of one app: its API keys, provider credentials, and the Basic form of Stan's. */
function secretsOf(env: Record<string, string | undefined>): string[] {
  const secrets = SECRET_ENV.map((name) => env[name]).filter((value): value is string => Boolean(value));
  if (env.STAN_CLIENT_ID && env.STAN_CLIENT_SECRET) {
    secrets.push(Buffer.from(`${env.STAN_CLIENT_ID}:${env.STAN_CLIENT_SECRET}`).toString('base64'));
  }
  for (const pair of (env.API_KEYS ?? '').split(',')) {
    const key = pair.slice(pair.indexOf(':') + 1).trim();
    if (key) secrets.push(key);
  }
  return secrets;
}

/**
 * Every app's log lines and secrets go to test-results/logs/, where the global teardown checks that
 * no configured secret appears in any line of the whole run (test/support/global-setup.ts).
 */
function recordLogsForSecretScan(lines: string[], secrets: unknown[]): void {
  const dir = fileURLToPath(new URL('../../test-results/logs/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const usable = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 8);
  writeFileSync(`${dir}${randomUUID()}.json`, JSON.stringify({ secrets: [...new Set(usable)], lines }));
}

/**
 * A database of its own when the suite runs on PostgreSQL (next to DATABASE_URL's, dropped by
 * `drop()`): a poller claims every due schedule in its database whatever the tenant, so pollers of
 * test files running side by side would otherwise poll each other's checkouts. PGlite apps are
 * private anyway: `url` is then undefined.
 */
export async function isolatedDatabase(label: string): Promise<{ url: string | undefined; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) return { url: undefined, drop: async () => undefined };
  const name = `cg_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** Asserts a result union member by `__typename` and narrows it. */
export function expectType<T extends { __typename?: string }, N extends string>(
  value: T | null | undefined,
  typename: N,
): Extract<T, { __typename?: N }> {
  if (!value || value.__typename !== typename) {
    throw new Error(`expected ${typename}, got ${JSON.stringify(value)}`);
  }
  return value as Extract<T, { __typename?: N }>;
}
