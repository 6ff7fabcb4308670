import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { count, sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { CheckoutRepository } from '../src/db/repository.js';
import { checkouts } from '../src/db/schema.js';
import { CheckoutService } from '../src/domain/checkout-service.js';
import { IdempotencyKeyInUseError, IdempotencyKeyTakenError, ProviderError } from '../src/domain/errors.js';
import { CheckoutLifecycle } from '../src/domain/lifecycle.js';
import type { CallOptions, CheckoutProvider, CheckoutStore, ProviderCatalog } from '../src/domain/ports.js';
import type { CheckoutRecord, NewCheckout } from '../src/domain/records.js';
import { createLogger } from '../src/logger.js';
import { createProviderCatalog, hasStatusEndpoint } from '../src/providers/index.js';
import { CreateSmartCheckoutDocument, CreateStanCheckoutDocument } from './generated/graphql.js';
import { useTestApp, type TestApp } from './support/app.js';
import { pause, waitFor } from './support/async.js';
import { providersAt } from './support/env.js';
import { stanInput } from './support/seed.js';
import { statusChangedPayload } from '../src/webhooks/events.js';

/*
 * Duplicates of one create racing each other while the provider fails: the answer is always the
 * checkout as it stands or a typed error, never a masked database error, and a key never buys twice.
 *
 * A scripted provider (a real HTTP server) stands in for Smartcheckout and Stan: each create POST
 * names its idempotency key in its body (the product URL, the order id), so the provider counts
 * POSTs and the checkouts it created per key, and answers each POST of a key as the key's script
 * says (created, 429, 503, a reset connection, after a delay).
 *
 * - The store and the service, in a controlled order: a duplicate whose insert met the key held
 *   by a first attempt that then released it (the race measured in issue 20).
 * - A property of the service: fast-check's scheduler decides when each store and provider call
 *   of concurrent duplicates is answered, so the narrow windows (a key released between a
 *   duplicate's insert and its look-up) are reached, not only hoped for.
 * - A property over HTTP: fast-check draws keys, waves of concurrent duplicates at random offsets
 *   and provider answers, against the app as it runs; the breaker opens at 2 outages in a row.
 *
 * Both properties replay with FUZZ_SEED=<seed printed below> (the answers' timing still varies).
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Scenarios of the HTTP property (RACE_RUNS=n for more while investigating). */
const RUNS = Number(process.env.RACE_RUNS ?? 25);
/**
 * Schedules of the service property: each costs about 25 ms, and one in five to ten (as measured)
 * reaches the window of the masked error, which the property checks was reached at least once.
 */
const SCHEDULES = 4 * RUNS;

/** How the provider answers one create POST. */
interface Answer {
  kind: 'created' | 'refused-429' | 'failed-503' | 'reset';
  delayMs: number;
}

const CREATED: Answer = { kind: 'created', delayMs: 0 };
const SMART_PRODUCT = 'https://shop.example/race/';

/** The idempotency key a create POST was made for: the product URL's last segment, or Stan's order id. */
function keyOfPost(path: string, body: Record<string, unknown>): string | undefined {
  if (path === '/v0/checkout' && typeof body.url === 'string' && body.url.startsWith(SMART_PRODUCT))
    return body.url.slice(SMART_PRODUCT.length);
  if (path === '/v1/checkouts' && typeof body.order_id === 'string') return body.order_id;
  return undefined;
}

/** Smartcheckout's and Stan's create endpoints, answering each POST of a key as `script` says. */
async function startScriptedProvider() {
  const posts = new Map<string, number>();
  const created = new Map<string, string[]>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const path = req.url ?? '';
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        const key = req.method === 'POST' ? keyOfPost(path, body) : undefined;
        if (!key) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'not found' }));
          return;
        }
        const n = posts.get(key) ?? 0;
        posts.set(key, n + 1);
        const answer = await provider.script(key, n);
        if (answer.delayMs) await pause(answer.delayMs);
        const reply = (status: number, json: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        switch (answer.kind) {
          case 'created': {
            const id = randomUUID();
            created.set(key, [...(created.get(key) ?? []), id]);
            if (path === '/v0/checkout') reply(200, { checkout_id: id, status: 'processing' });
            else reply(200, { id, is_testmode: true });
            return;
          }
          case 'refused-429':
            return reply(429, { message: 'Too many requests' });
          case 'failed-503':
            return reply(503, { message: 'Service unavailable' });
          case 'reset':
            req.socket.destroy();
            return;
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const provider = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** How the `n`-th POST (from 0) of `key` is answered: created at once unless a test says otherwise. */
    script: (_key: string, _n: number): Answer | Promise<Answer> => CREATED,
    /** Create POSTs received for `key`, whatever their answer. */
    posts: (key: string) => posts.get(key) ?? 0,
    /** Provider ids of the checkouts created for `key` (answered 200): what a key must never have two of. */
    created: (key: string) => created.get(key) ?? [],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return provider;
}

type ScriptedProvider = Awaited<ReturnType<typeof startScriptedProvider>>;

/** Rows recorded for `key`'s input (every create attempt records one before its POST). */
async function rowsFor(t: TestApp, key: string): Promise<number> {
  const [row] = await t.app.database.db
    .select({ n: count() })
    .from(checkouts)
    .where(
      sql`${checkouts.details}->>'productUrl' = ${SMART_PRODUCT + key} or ${checkouts.details}->>'orderId' = ${key}`,
    );
  return row!.n;
}

/** A Smartcheckout create request under `key`, the same for every attempt. */
const smartRequest = (key: string) => ({
  idempotencyKey: key,
  productUrl: `${SMART_PRODUCT}${key}`,
  email: 'race@example.com',
});

/** A checkout service over `store` and `providers`, as the app builds one. */
function serviceOver(store: CheckoutStore, providers: ProviderCatalog, logger = createLogger('silent')) {
  return new CheckoutService({
    store,
    providers,
    lifecycle: new CheckoutLifecycle({ store, publisher: { publish() {} }, isPolled: hasStatusEndpoint, logger }),
    pollIntervalMs: 60_000,
    logger,
  });
}

/** The providers of an app configured with `extra`, calling the scripted provider. */
const scriptedProviders = (extra: Record<string, string> = {}) =>
  createProviderCatalog(loadConfig({ DATA_DIR: 'memory://', ...providersAt(provider.url, extra) }), {});

let provider: ScriptedProvider;
beforeAll(async () => {
  console.log(`idempotency-race: FUZZ_SEED=${SEED}`);
  provider = await startScriptedProvider();
});
afterAll(async () => {
  await provider?.close();
});
// A breaker that opens after 2 outages in a row (503s, resets) and lets a probe through 100 ms later.
const t = useTestApp(() =>
  providersAt(provider.url, { PROVIDER_BREAKER_THRESHOLD: '2', PROVIDER_BREAKER_HALF_OPEN_MS: '100' }),
);
beforeEach(() => {
  provider.script = () => CREATED;
});

describe('the store', () => {
  const pending = (tenant: string, key: string | null): NewCheckout => ({
    tenant,
    provider: 'SMARTCHECKOUT',
    testMode: true,
    details: { productUrl: `${SMART_PRODUCT}${key}`, userData: { email: 'race@example.com' } },
    lineItems: [{ productUrl: `${SMART_PRODUCT}${key}`, quantity: 1 }],
    idempotencyKey: key,
    requestHash: 'hash',
  });

  it('refuses a key the tenant already holds with IdempotencyKeyTakenError, writing nothing; other failures pass as they are', async () => {
    const repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
    const tenant = `race-${randomUUID()}`;
    const key = randomUUID();
    const holder = await repository.createPending(pending(tenant, key));
    const refused = await repository.createPending(pending(tenant, key)).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IdempotencyKeyTakenError);
    expect(refused).toMatchObject({ idempotencyKey: key });
    expect(await rowsFor(t, key)).toBe(1);
    // The same key in another tenant, and no key at all, are no conflict.
    await repository.createPending(pending(`${tenant}-other`, key));
    await repository.createPending(pending(tenant, null));
    // Another constraint (a line item without a quantity) is not a taken key.
    const other = await repository
      .createPending({ ...pending(tenant, randomUUID()), lineItems: [{ quantity: null as unknown as number }] })
      .catch((error: unknown) => error);
    expect(other).toBeInstanceOf(Error);
    expect(other).not.toBeInstanceOf(IdempotencyKeyTakenError);
    expect((await repository.findByIdempotencyKey(tenant, key))?.id).toBe(holder.id);
  });
});

describe('a duplicate whose insert met a key that was then released', () => {
  /**
   * Two services over the app's database and the scripted provider: `first` as the app builds it,
   * `duplicate` over a store that stops at two points of its insert, so the test decides what the
   * first attempt does in between: `beforeInsert` (after the duplicate's look-up found nothing) and
   * `afterConflict` (after the unique index refused the key, before the duplicate looks it up again).
   */
  function services(hooks: { beforeInsert(): Promise<void>; afterConflict(): Promise<void> }) {
    const repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
    const providers = scriptedProviders();
    const stopping: CheckoutStore = {
      findByIdempotencyKey: (tenant, key) => repository.findByIdempotencyKey(tenant, key),
      applySnapshot: (...args) => repository.applySnapshot(...args),
      async createPending(input) {
        await hooks.beforeInsert();
        try {
          return await repository.createPending(input);
        } catch (error) {
          if (error instanceof IdempotencyKeyTakenError) await hooks.afterConflict();
          throw error;
        }
      },
    };
    return { first: serviceOver(repository, providers), duplicate: serviceOver(stopping, providers), repository };
  }

  /**
   * Starts a first attempt under `key` whose POST the provider holds; resolves once it is at the
   * provider (its PENDING row holds the key). `refuse()` answers its POST with a 429: the provider
   * created nothing, so the attempt releases the key; resolves with the attempt's answer.
   */
  async function heldFirstAttempt(first: CheckoutService, tenant: string, key: string) {
    let answer!: (value: Answer) => void;
    const held = new Promise<Answer>((resolve) => {
      answer = resolve;
    });
    const postsBefore = provider.posts(key);
    provider.script = (scriptKey, n) => (scriptKey === key && n === postsBefore ? held : CREATED);
    const result = first.create(tenant, 'SMARTCHECKOUT', smartRequest(key)).catch((error: unknown) => error);
    await waitFor(() => provider.posts(key) > postsBefore, { what: 'the first attempt at the provider' });
    return {
      async refuse() {
        answer({ kind: 'refused-429', delayMs: 0 });
        return result;
      },
    };
  }

  it('takes the key again and creates the checkout: one POST created it, none was sent twice', async () => {
    const tenant = `race-${randomUUID()}`;
    const key = randomUUID();
    let attempt: Awaited<ReturnType<typeof heldFirstAttempt>> | undefined;
    let firstAnswer: unknown;
    let inserts = 0;
    const { first, duplicate, repository } = services({
      async beforeInsert() {
        // Only the duplicate's first insert races: the first attempt starts after its look-up.
        if (inserts++ === 0) attempt = await heldFirstAttempt(first, tenant, key);
      },
      async afterConflict() {
        firstAnswer = await attempt!.refuse();
      },
    });

    const created = await duplicate.create(tenant, 'SMARTCHECKOUT', smartRequest(key));
    // The first attempt was refused and released the key between the duplicate's conflict and its look-up.
    expect(firstAnswer).toBeInstanceOf(ProviderError);
    expect(firstAnswer).toMatchObject({ retryable: true, httpStatus: 429 });
    expect(inserts).toBe(2);
    expect(created).toMatchObject({ status: 'PROCESSING', idempotencyKey: key });
    expect(provider.posts(key)).toBe(2);
    expect(provider.created(key)).toEqual([created.providerCheckoutId]);
    expect((await repository.findByIdempotencyKey(tenant, key))?.id).toBe(created.id);
    // Both attempts are recorded: the refused one FAILED, the duplicate's the checkout.
    expect(await rowsFor(t, key)).toBe(2);
  });

  it('answers IdempotencyKeyInUseError after three rounds of a key taken and released, sending nothing', async () => {
    const tenant = `race-${randomUUID()}`;
    const key = randomUUID();
    let attempt: Awaited<ReturnType<typeof heldFirstAttempt>> | undefined;
    let inserts = 0;
    const { first, duplicate } = services({
      async beforeInsert() {
        inserts++;
        attempt = await heldFirstAttempt(first, tenant, key);
      },
      async afterConflict() {
        await attempt!.refuse();
      },
    });

    const answer = await duplicate.create(tenant, 'SMARTCHECKOUT', smartRequest(key)).catch((error: unknown) => error);
    expect(answer).toBeInstanceOf(IdempotencyKeyInUseError);
    expect(answer).toMatchObject({ idempotencyKey: key, retryable: true, checkoutId: null });
    expect(inserts).toBe(3);
    // Three first attempts reached the provider and were refused; the duplicate sent nothing.
    expect(provider.posts(key)).toBe(3);
    expect(provider.created(key)).toEqual([]);
    expect(await rowsFor(t, key)).toBe(3);
  });
});

/** The answer to a provider's n-th POST of a key; a POST past the end of the list is created at once. */
const answerArb: fc.Arbitrary<Answer> = fc.record({
  kind: fc.oneof(
    { weight: 3, arbitrary: fc.constant('created' as const) },
    { weight: 3, arbitrary: fc.constant('refused-429' as const) },
    { weight: 1, arbitrary: fc.constant('failed-503' as const) },
    { weight: 1, arbitrary: fc.constant('reset' as const) },
  ),
  delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 60 })),
});

/** Every answer to one key's creates, to be read against what the provider did for the key. */
interface KeyOutcome {
  key: string;
  /** The success type, or the error's type, of each answer but the last. */
  kinds: string[];
  /** The checkouts the successes named. */
  successes: { id: string; providerCheckoutId?: string | null }[];
  /** The type of the answer to one more create, sent once every other one had its answer. */
  last: string;
}

/** What is wrong with one key's answers (empty when nothing is). */
async function keyProblems(outcome: KeyOutcome, success: string): Promise<string[]> {
  const allowed = [success, 'ProviderError', 'IdempotencyKeyInUseError'];
  const problems = [...outcome.kinds, outcome.last]
    .filter((kind) => !allowed.includes(kind))
    .map((kind) => `unexpected answer ${kind}`);
  // Once every duplicate has its answer, nothing is in flight: the key has an answer or is free.
  if (outcome.last === 'IdempotencyKeyInUseError') problems.push('the key is still in use after every request ended');
  const created = provider.created(outcome.key);
  if (created.length > 1) problems.push(`the provider created ${created.length} checkouts for one key`);
  const ids = new Set(outcome.successes.map((checkout) => checkout.id));
  if (ids.size > 1) problems.push(`successes name ${ids.size} checkouts`);
  for (const checkout of outcome.successes) {
    if (!created.includes(checkout.providerCheckoutId ?? ''))
      problems.push(`a success names ${checkout.providerCheckoutId}, not a checkout the provider created`);
  }
  // Record first: every POST the provider received had its row written before it was sent.
  const [posts, rows] = [provider.posts(outcome.key), await rowsFor(t, outcome.key)];
  if (rows < posts) problems.push(`${posts} POSTs but ${rows} rows`);
  return problems;
}

/**
 * `call`, run at once, its answer handed back when the scheduler `s` releases it. A failure is held
 * as a value until then: a rejected promise nobody awaits yet would be reported as unhandled.
 */
function scheduledBy<A extends unknown[], T>(s: fc.Scheduler, call: (...args: A) => Promise<T>) {
  const held = s.scheduleFunction((...args: A) =>
    call(...args).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  );
  return async (...args: A): Promise<T> => {
    const answer = await held(...args);
    if (!answer.ok) throw answer.error;
    return answer.value;
  };
}

/** Counts each kind of answer, for the summary line and the check that the scenarios did race. */
function tally(kinds: Map<string, number>, answers: readonly string[]) {
  for (const kind of answers) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
}

/** Log lines of a duplicate that found the key it met released: the path of the masked error. */
const releasedUnderInsert = (lines: readonly string[]) =>
  lines.filter((line) => line.includes('released by its holder between our insert')).length;

describe('property: the service under interleavings chosen by fast-check', () => {
  const scenarioArb = fc.record({
    answers: fc.array(
      answerArb.map((answer) => ({ ...answer, delayMs: 0 })),
      { minLength: 1, maxLength: 6 },
    ),
    /** Duplicates started together. */
    first: fc.integer({ min: 2, max: 5 }),
    /** Duplicates started when the scheduler releases their trigger, somewhere among the others' steps. */
    later: fc.integer({ min: 0, max: 3 }),
  });

  it(`${SCHEDULES} schedules: every answer is the one checkout or a typed error, and no key buys twice`, async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const repository = new CheckoutRepository(t.app.database.db, statusChangedPayload);
    // No breaker here: the HTTP property opens it; these schedules are about the store's interleavings.
    const gateway = scriptedProviders({ PROVIDER_BREAKER_THRESHOLD: '1000000' }).get('SMARTCHECKOUT')!;
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarioArb, async (s, scenario) => {
        // Every call runs at once; the service sees its answer when the scheduler releases it.
        const store: CheckoutStore = {
          createPending: scheduledBy(s, (input: NewCheckout) => repository.createPending(input)),
          findByIdempotencyKey: scheduledBy(s, (tenant: string, key: string) =>
            repository.findByIdempotencyKey(tenant, key),
          ),
          applySnapshot: scheduledBy(s, (...args: Parameters<CheckoutStore['applySnapshot']>) =>
            repository.applySnapshot(...args),
          ),
        };
        const scheduled: CheckoutProvider = {
          name: gateway.name,
          testMode: gateway.testMode,
          idempotentCreate: gateway.idempotentCreate,
          unavailable: (options) => gateway.unavailable(options),
          prepare(input) {
            const prepared = gateway.prepare(input);
            return { ...prepared, send: scheduledBy(s, (options?: CallOptions) => prepared.send(options)) };
          },
        };
        const service = serviceOver(store, new Map([['SMARTCHECKOUT', scheduled]]), logger);
        const key = randomUUID();
        provider.script = (scriptKey, n) => (scriptKey === key ? (scenario.answers[n] ?? CREATED) : CREATED);
        const create = (): Promise<{ kind: string; row?: CheckoutRecord }> =>
          service.create(`race-${key}`, 'SMARTCHECKOUT', smartRequest(key)).then(
            (row) => ({ kind: 'CreateSmartCheckoutSuccess', row }),
            (error: unknown) => ({
              // A typed error by its GraphQL type; anything else (a database error) by its message.
              kind:
                error instanceof IdempotencyKeyInUseError || error instanceof ProviderError
                  ? error.constructor.name
                  : `${String(error)}`,
            }),
          );
        const first = Array.from({ length: scenario.first }, create);
        const later = s
          .schedule(Promise.resolve(), 'later duplicates')
          .then(() => Promise.all(Array.from({ length: scenario.later }, create)));
        const answers = (await s.waitFor(Promise.all([...first, later]))).flat();
        const last = await s.waitFor(create());
        tally(
          kinds,
          [...answers, last].map((answer) => answer.kind),
        );
        const problems = await keyProblems(
          {
            key,
            kinds: answers.map((answer) => answer.kind),
            successes: [...answers, last].flatMap((answer) => (answer.row ? [answer.row] : [])),
            last: last.kind,
          },
          'CreateSmartCheckoutSuccess',
        );
        if (problems.length) throw new Error(`${problems.join('\n')}\n(FUZZ_SEED=${SEED})`);
      }),
      // The database's timing is not drawn: shrinking could not replay a failure, only hide it.
      { seed: SEED, numRuns: SCHEDULES, endOnFailure: true },
    );
    const released = releasedUnderInsert(lines);
    console.log(
      `idempotency-race (service): ${JSON.stringify(Object.fromEntries(kinds))}, keys released under a duplicate's insert: ${released} (FUZZ_SEED=${SEED})`,
    );
    // The schedules reached the window, and duplicates met a first attempt still deciding.
    expect(released).toBeGreaterThan(0);
    expect(kinds.get('IdempotencyKeyInUseError') ?? 0).toBeGreaterThan(0);
  }, 60_000);
});

describe('property: duplicates over HTTP racing provider faults and an open breaker', () => {
  /** One key: its provider, how the provider answers its POSTs, and when its duplicates are sent. */
  const scenarioArb = fc.array(
    fc.record({
      provider: fc.constantFrom('SMARTCHECKOUT' as const, 'STAN' as const),
      answers: fc.array(answerArb, { minLength: 1, maxLength: 6 }),
      /** `size` duplicates sent together, `atMs` after the scenario starts. */
      waves: fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 120 }), size: fc.integer({ min: 1, max: 6 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
    }),
    { minLength: 1, maxLength: 3 },
  );
  const SUCCESS = { SMARTCHECKOUT: 'CreateSmartCheckoutSuccess', STAN: 'CreateStanCheckoutSuccess' } as const;

  /** One create for `key` over HTTP, exactly as every duplicate of it sends it; a masked error is a problem. */
  /** Answers of the open breaker, by whether they recorded a checkout, for the summary line. */
  const fastFailures = { nothing: 0, recorded: 0 };

  async function sendCreate(key: string, to: 'SMARTCHECKOUT' | 'STAN', problems: string[]) {
    const response =
      to === 'SMARTCHECKOUT'
        ? await t.request(CreateSmartCheckoutDocument, { input: smartRequest(key) })
        : await t.request(CreateStanCheckoutDocument, { input: stanInput({ idempotencyKey: key, orderId: key }) });
    const data = response.data as
      | { createSmartCheckout?: HttpAnswer; createStanCheckout?: HttpAnswer }
      | null
      | undefined;
    const answer = data?.createSmartCheckout ?? data?.createStanCheckout;
    // A masked error ("Unexpected error.") is a GraphQL error: no create may answer one.
    if (response.status !== 200 || response.errors || !answer) {
      problems.push(`HTTP ${response.status}, errors ${JSON.stringify(response.errors)}`);
      return { __typename: 'GraphQL error' } satisfies HttpAnswer;
    }
    if (answer.__typename === 'IdempotencyKeyInUseError' && (!answer.retryable || answer.idempotencyKey !== key))
      problems.push(`IdempotencyKeyInUseError not retryable, or for another key: ${JSON.stringify(answer)}`);
    if (answer.__typename === 'ProviderError') {
      // A failure after a POST leaves its FAILED or UNKNOWN checkout. The open breaker's answer
      // records nothing, unless the request was let through (a half-open probe's followers, or the
      // breaker opening between the check and the call): then its checkout is FAILED, as nothing was sent.
      const breaker = /is unavailable: \d+ calls in a row failed/.test(answer.message ?? '');
      if (breaker) fastFailures[answer.leftBehind ? 'recorded' : 'nothing']++;
      const allowed = breaker ? ['FAILED'] : ['FAILED', 'UNKNOWN'];
      if (answer.leftBehind && !allowed.includes(answer.leftBehind.status))
        problems.push(`a ProviderError (${answer.message}) left a ${answer.leftBehind.status} checkout behind`);
    }
    return answer;
  }

  it(`${RUNS} scenarios: every answer is the one checkout or a typed error, and no key buys twice`, async () => {
    const kinds = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const keys: string[] = scenario.map(() => randomUUID());
        const scripts = new Map(keys.map((key, i) => [key, scenario[i]!.answers]));
        provider.script = (key, n) => scripts.get(key)?.[n] ?? CREATED;
        const problems: string[] = [];
        const answers = await Promise.all(
          scenario.map(async ({ provider: to, waves }, i) => {
            const sent = await Promise.all(
              waves.map(async ({ atMs, size }) => {
                await pause(atMs);
                return Promise.all(Array.from({ length: size }, () => sendCreate(keys[i]!, to, problems)));
              }),
            );
            return sent.flat();
          }),
        );
        for (const [i, key] of keys.entries()) {
          const success = SUCCESS[scenario[i]!.provider];
          const last = await sendCreate(key, scenario[i]!.provider, problems);
          tally(
            kinds,
            [...answers[i]!, last].map((answer) => answer.__typename),
          );
          const outcome = {
            key,
            kinds: answers[i]!.map((answer) => answer.__typename),
            successes: [...answers[i]!, last].flatMap((answer) => (answer.checkout ? [answer.checkout] : [])),
            last: last.__typename,
          };
          problems.push(...(await keyProblems(outcome, success)).map((problem) => `key ${i}: ${problem}`));
        }
        if (problems.length) throw new Error(`${problems.join('\n')}\n(FUZZ_SEED=${SEED})`);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    console.log(
      `idempotency-race (HTTP): ${JSON.stringify(Object.fromEntries(kinds))}, the open breaker's ${JSON.stringify(fastFailures)}, keys released under a duplicate's insert: ${releasedUnderInsert(t.logs)} (FUZZ_SEED=${SEED})`,
    );
    // The scenarios did race: duplicates met a first attempt in flight, and faults were answered.
    expect(kinds.get('IdempotencyKeyInUseError') ?? 0).toBeGreaterThan(0);
    expect(kinds.get('ProviderError') ?? 0).toBeGreaterThan(0);
  }, 60_000);
});

/** One create's answer as the HTTP property reads it. */
interface HttpAnswer {
  __typename: string;
  message?: string;
  retryable?: boolean;
  idempotencyKey?: string;
  checkout?: { id: string; providerCheckoutId?: string | null };
  leftBehind?: { status: string } | null;
}
