/**
 * W2 round trips: SQL statements per `checkouts(first: N)` request with line items, merchant and
 * events, for N = 1, 10, 50, counted the way test/queries.test.ts counts them (the database
 * handle's statementCount around one request) on an in-process app (PGlite in memory).
 * Writes bench/results/w2.json.
 */
import { loadConfig } from '../src/config/index.js';
import { buildApp } from '../src/app/index.js';
import { BENCH_API_KEY, progress, writeResults } from './lib/common.js';
import { gql, seedCheckouts } from './lib/graphql.js';

const API_KEY = BENCH_API_KEY;
const DEEP = `query CheckoutsDeep($first: Int!) { checkouts(first: $first) { edges { node { id lineItems { productUrl quantity unitPrice { amount } } merchant { id name } events { status at } } } } }`;

const app = await buildApp(
  loadConfig({
    NODE_ENV: 'production',
    API_KEYS: `bench:${API_KEY}`,
    POLLER: 'off',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    RATE_LIMIT_PER_MINUTE: '1000000',
  }),
);
const url = await app.start();
try {
  await seedCheckouts(url, API_KEY, 61);
  const counts: Record<string, number> = {};
  for (const first of [1, 10, 50]) {
    const before = app.database.statementCount;
    const { answer } = await gql<{ checkouts: { edges: unknown[] } }>(url, API_KEY, DEEP, { first });
    if (answer.errors || answer.data?.checkouts.edges.length !== first)
      throw new Error(JSON.stringify(answer).slice(0, 500));
    counts[String(first)] = app.database.statementCount - before;
  }
  progress(`W2 statements per request by page size: ${JSON.stringify(counts)}`);
  writeResults('w2', { counts });
} finally {
  await app.stop();
}
