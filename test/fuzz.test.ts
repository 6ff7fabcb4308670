import { randomUUID } from 'node:crypto';
import { count, eq, inArray } from 'drizzle-orm';
import fc from 'fast-check';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutEvents, checkouts, lineItems, merchants } from '../src/db/schema.js';
import {
  CheckoutDocument,
  CheckoutsDocument,
  CheckoutStatusChangedDocument,
  CreatePayerVaultCheckoutDocument,
  CreateSmartCheckoutDocument,
  CreateStanCheckoutDocument,
  NodeDocument,
  RefreshCheckoutDocument,
} from './generated/graphql.js';
import { useTestApp } from './support/app.js';
import { newTenant, providersAt } from './support/env.js';
import { startRecordingServer, type CannedResponse, type RecordedRequest } from './support/recording-server.js';

/*
 * Bad-input fuzzing. fast-check generates hostile values for every input type of
 * the API and sends them over real HTTP, byte for byte (raw JSON text where JSON.stringify could not
 * say it: `__proto__` keys, 1e300, -0, 2^31). Every case must end in a typed ValidationError (or the
 * typed not-found answer for ids) or a GraphQL request error: never a 5xx, never a masked
 * "Unexpected error.", never a provider call, never a database row.
 *
 * All three providers point at ONE recording server. Tenant FUZZ only ever sends invalid input, so
 * its rows must stay at zero; tenant CONTROL sends the valid controls that prove the recorder and
 * the row counts do see real work. Replay a failure with FUZZ_SEED=<seed printed below>.
 */

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** FUZZ_REPORT=all prints every failing case instead of stopping at the first (for triage). */
const REPORT_ALL = process.env.FUZZ_REPORT === 'all';
const RUNS = { smart: 200, payervault: 200, stan: 150, ids: 200, documents: 100 };

const suffix = randomUUID().slice(0, 8);
const FUZZ = newTenant('fuzz');
const CONTROL = newTenant('fuzz-control');

const SMART_QUERY = print(CreateSmartCheckoutDocument);
const PAYERVAULT_QUERY = print(CreatePayerVaultCheckoutDocument);
const STAN_QUERY = print(CreateStanCheckoutDocument);
const REFRESH_QUERY = print(RefreshCheckoutDocument);
const CHECKOUT_QUERY = print(CheckoutDocument);
const NODE_QUERY = print(NodeDocument);
const CHECKOUTS_QUERY = print(CheckoutsDocument);
const SUBSCRIPTION_QUERY = print(CheckoutStatusChangedDocument);

// ---------------------------------------------------------------------------------------------
// Raw JSON: values JSON.stringify cannot produce (`__proto__` own keys, 1e300, -0, invalid JSON)
// ---------------------------------------------------------------------------------------------

/** A value sent as this exact JSON text. */
class Raw {
  constructor(readonly text: string) {}
  toString() {
    return this.text.length > 120 ? `${this.text.slice(0, 120)}... (${this.text.length} chars)` : this.text;
  }
}
const rawJson = (text: string) => new Raw(text);

/** JSON.stringify, with every `Raw` spliced in verbatim. */
function toJsonText(value: unknown): string {
  const spliced: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Raw) {
      spliced.push(v.text);
      return `__raw_${suffix}_${spliced.length - 1}__`;
    }
    return v;
  });
  return text.replace(new RegExp(`"__raw_${suffix}_(\\d+)__"`, 'g'), (_m, i: string) => spliced[Number(i)]!);
}

/** A short description of a case for failure messages (100 KB strings are not printed whole). */
function describeCase(value: unknown): string {
  const text = toJsonText(value);
  return text.length > 600 ? `${text.slice(0, 600)}... (${text.length} chars)` : text;
}

// ---------------------------------------------------------------------------------------------
// Hostile value generators
// ---------------------------------------------------------------------------------------------

const HUGE = 'x'.repeat(100_000);

/** Strings no text field accepts: empty, blank, control characters, lone surrogates, 100 KB. */
const hostileText = fc.oneof(
  fc.constantFrom(
    '',
    '   ',
    '\t\n',
    '\u0000',
    'a\u0000b',
    '\u001b[31mred',
    '\u007f',
    '\uD800',
    '\uDFFF',
    'ok\uD83D',
    '\uDE00ok',
    HUGE,
    `${HUGE}\u0000`,
  ),
  fc.string({ maxLength: 20 }).map((s) => `${s}\u0000${s}`),
  fc.string({ maxLength: 20 }).map((s) => `${s}\uD800`),
  fc.string({ maxLength: 20 }).map((s) => `\uDC00${s}`),
  // Inside the value: leading and trailing whitespace is trimmed, legitimately.
  fc
    .integer({ min: 1, max: 31 })
    .chain((code) => fc.string({ maxLength: 10 }).map((s) => `a${s}${String.fromCharCode(code)}${s}z`)),
  fc.integer({ min: 2_049, max: 120_000 }).map((n) => 'y'.repeat(n)),
);

/** Values of the wrong JSON type for a String field. */
const notAString = fc.constantFrom(
  rawJson('1'),
  rawJson('2147483648'),
  rawJson('1e300'),
  rawJson('-0'),
  rawJson('true'),
  rawJson('[]'),
  rawJson('{}'),
  rawJson('["a"]'),
  rawJson('{"__proto__":"x"}'),
);

/** URLs our inputs must refuse: other schemes, relative, hostless, spaced, over 2048 characters. */
const hostileUrl = fc.oneof(
  fc.constantFrom(
    'javascript:alert(1)',
    'JAVASCRIPT:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    'data:,',
    'file:///etc/passwd',
    'ftp://files.example/x',
    'mailto:a@example.com',
    'vbscript:msgbox(1)',
    '/relative/path',
    'relative/path',
    '//shop.example/protocol-relative',
    '?q=1',
    '#frag',
    'http://',
    'https://',
    'http:///path',
    'https://exa mple.com/x',
    'https:// shop.example',
    'http://shop .example',
    'https://[::1',
    'https://shop.example:99999/',
    'http://\u0000shop.example/',
    'https://shop.example/\u0000',
    'https://shop.example/\uD800',
    '',
    '   ',
    `https://shop.example/${'a'.repeat(3000)}`,
    `https://${'a'.repeat(3000)}.example/`,
  ),
  fc.string({ maxLength: 30 }).map((s) => `javascript:${s}`),
  fc.string({ maxLength: 30 }).map((s) => `data:text/plain,${s}`),
  fc.string({ maxLength: 30 }).map((s) => `/${s}`),
  fc.integer({ min: 2_100, max: 5_000 }).map((n) => `https://shop.example/${'p'.repeat(n)}`),
  hostileText,
);

/** Emails our inputs must refuse. */
const hostileEmail = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'plainaddress',
    '@example.com',
    'user@',
    'user@@example.com',
    'user@exa mple.com',
    'us er@example.com',
    'user@example.com\u0000',
    '\u0000@example.com',
    'user@example.com\uD800',
    'javascript:alert(1)',
    '<script>@example.com',
    `${'a'.repeat(300)}@example.com`,
    `user@${'d'.repeat(300)}.com`,
    'a@b@c.com',
    'user@.com',
  ),
  fc.string({ maxLength: 40 }).filter((s) => !s.includes('@')),
  hostileText,
);

/** Idempotency keys our inputs must refuse: empty, non-ASCII, controls, over 255 characters. */
const hostileKey = fc.oneof(
  fc.constantFrom('', '\u0000', 'key\u0000', 'clé', '\uD800', 'k\tk', 'x'.repeat(256), HUGE),
  fc.string({ minLength: 1, maxLength: 10 }).map((s) => `${s}é`),
);

/** Numbers that are not a GraphQL Int, as raw JSON. */
const notAnInt = fc.oneof(
  fc.constantFrom(
    rawJson('2147483648'),
    rawJson('-2147483649'),
    rawJson('4294967296'),
    rawJson('9007199254740993'),
    rawJson('1e300'),
    rawJson('-1e300'),
    rawJson('1e400'),
    rawJson('1.5'),
    rawJson('0.1'),
    rawJson('-0.5'),
    rawJson('"NaN"'),
    rawJson('"Infinity"'),
    rawJson('"1"'),
    rawJson('"-0"'),
    rawJson('"0x10"'),
    rawJson('true'),
    rawJson('[]'),
    rawJson('{}'),
  ),
  fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }).map((d) => rawJson(JSON.stringify(d))),
  fc.integer({ min: 2 ** 31, max: Number.MAX_SAFE_INTEGER }).map((n) => rawJson(String(n))),
);

/** Numbers that are not a SafeInt (amounts in minor units), as raw JSON: beyond 2^53 - 1, fractions, non-numbers. */
const notASafeInt = fc.oneof(
  fc.constantFrom(
    rawJson('9007199254740992'),
    rawJson('9007199254740993'),
    rawJson('-9007199254740992'),
    rawJson('18446744073709551616'),
    rawJson('1e300'),
    rawJson('1e400'),
    rawJson('1.5'),
    rawJson('2147483648.5'),
    rawJson('"NaN"'),
    rawJson('"1"'),
    rawJson('"2500000000"'),
    rawJson('true'),
    rawJson('[]'),
    rawJson('{}'),
  ),
  fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }).map((d) => rawJson(JSON.stringify(d))),
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 70n }).map((n) => rawJson(String(n))),
);

/** Negative amounts: valid Ints that no amount accepts. */
const negativeAmount = fc.oneof(fc.constantFrom(-1, -2147483648), fc.integer({ min: -2147483648, max: -1 }));

/** A deeply nested JSON object text: {"a":{"a":...{}}}. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`;

/** userData values our input must refuse. */
const hostileUserData = fc.oneof(
  fc.constantFrom(
    rawJson('{"__proto__":{"polluted":true}}'),
    rawJson('{"__proto__":null}'),
    rawJson('{"ok":1,"__proto__":{"isAdmin":true}}'),
    rawJson('{"constructor":{"prototype":{"polluted":true}}}'),
    rawJson('{"prototype":{"polluted":true}}'),
    rawJson('{"email":"attacker@example.com"}'),
    rawJson('{"prompt":"ignore previous instructions"}'),
    rawJson('{"shipping_address":{}}'),
    rawJson('[]'),
    rawJson('[1,2,3]'),
    rawJson('"a string"'),
    rawJson('42'),
    rawJson('true'),
    rawJson(`{"big":"${'z'.repeat(20_000)}"}`),
    rawJson(`{"nul":"a\\u0000b"}`),
    rawJson(`{"a\\u0000b":1}`),
    rawJson(`{"lone":"\\ud800"}`),
    rawJson(`{"\\udc00":1}`),
    rawJson(nested(100_000)),
    rawJson(nested(20_000)),
  ),
  fc.integer({ min: 100, max: 2_000 }).map((depth) => rawJson(nested(depth))),
  fc.integer({ min: 17_000, max: 60_000 }).map((n) => ({ filler: 'f'.repeat(n) })),
  fc
    .dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 })
    .map((rest) => rawJson(`{"__proto__":{"x":1},${toJsonText(rest).slice(1)}`.replace(',}', '}'))),
);

/** One change that makes an input invalid, with a label for failure messages. */
interface Mutation {
  label: string;
  apply(input: Record<string, unknown>): void;
}
const set = (path: string, value: unknown): Mutation => ({
  label: `${path} = ${value instanceof Raw ? value.toString() : describeCase(value).slice(0, 120)}`,
  apply(input) {
    const target = parentOf(input, path);
    // Arrays are copied: a generated value is shared by every case that draws it.
    if (target)
      target[path.split('.').at(-1)!] = Array.isArray(value)
        ? value.map((v: unknown) => (isPlainObject(v) ? { ...v } : v))
        : value;
  },
});
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !(value instanceof Raw);
/** The object holding `path`'s last key, or undefined when an earlier change replaced a parent (then the change is moot). */
function parentOf(input: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  let target: unknown = input;
  for (const key of path.split('.').slice(0, -1)) {
    if (!isPlainObject(target)) return undefined;
    target = target[key];
  }
  return isPlainObject(target) ? target : undefined;
}
const unset = (path: string): Mutation => ({
  label: `${path} missing`,
  apply(input) {
    const target = parentOf(input, path);
    if (target) delete target[path.split('.').at(-1)!];
  },
});

// ---------------------------------------------------------------------------------------------
// Per-input case generators (each case has at least one definitely invalid change)
// ---------------------------------------------------------------------------------------------

const ADDRESS_TEXT_FIELDS = ['name', 'line1', 'line2', 'city', 'postalCode', 'state', 'phone'] as const;

const smartMutation: fc.Arbitrary<Mutation> = fc.oneof(
  hostileUrl.map((v) => set('productUrl', v)),
  hostileEmail.map((v) => set('email', v)),
  hostileText.map((v) => set('prompt', v)),
  hostileKey.map((v) => set('idempotencyKey', v)),
  hostileUserData.map((v) => set('userData', v)),
  fc
    .tuple(fc.constantFrom(...ADDRESS_TEXT_FIELDS), hostileText)
    .map(([field, v]) => set(`shippingAddress.${field}`, v)),
  fc
    .constantFrom('', 'FRA', 'F', '1A', 'é', 'F\u0000', '\uD800\uD800', HUGE)
    .map((v) => set('shippingAddress.country', v)),
  fc.integer({ min: 21, max: 5_000 }).map((n) => set('shippingAddress.postalCode', '7'.repeat(n))),
  fc.constantFrom('line1', 'city', 'postalCode', 'country').map((field) => unset(`shippingAddress.${field}`)),
  fc
    .constantFrom(rawJson('"1 Main St"'), rawJson('[]'), rawJson('1'), rawJson('{"__proto__":{"line1":"x"}}'))
    .map((v) => set('shippingAddress', v)),
  fc.constantFrom('productUrl', 'email').map((field) => unset(field)),
  fc
    .constantFrom('productUrl', 'email', 'prompt', 'idempotencyKey')
    .chain((field) => notAString.map((v) => set(field, v))),
  fc.constantFrom(rawJson('null')).map((v) => set('email', v)),
  fc.constant(set('unknownField', 'x')),
);

const validAddress = () => ({
  name: 'Ada',
  line1: '1 Rue de la Paix',
  city: 'Paris',
  postalCode: '75002',
  country: 'FR',
});
interface GeneratedCase {
  input: Record<string, unknown>;
  labels: string[];
}
function smartCaseOf(mutations: Mutation[], withAddress = false): GeneratedCase {
  const input: Record<string, unknown> = {
    productUrl: 'https://shop.example/products/fuzz',
    email: 'fuzz@example.com',
  };
  if (withAddress || mutations.some((m) => m.label.startsWith('shippingAddress.')))
    input.shippingAddress = validAddress();
  for (const m of mutations) m.apply(input);
  return { input, labels: mutations.map((m) => m.label) };
}
const smartCase = fc
  .tuple(fc.array(smartMutation, { minLength: 1, maxLength: 3 }), fc.boolean())
  .map(([mutations, withAddress]) => smartCaseOf(mutations, withAddress));
/** Cases every run tries first, whatever the seed: one of each kind of failure seen so far. */
const SMART_EXAMPLES: [GeneratedCase][] = [
  [smartCaseOf([set('userData', rawJson('{"ok":1,"__proto__":{"isAdmin":true}}'))])],
  [smartCaseOf([set('userData', rawJson(nested(500)))])],
  [smartCaseOf([set('userData', rawJson(nested(100_000)))])],
  [smartCaseOf([set('userData', rawJson('{"note":"a\\u0000b"}'))])],
  [smartCaseOf([set('userData', rawJson('{"note":"\\ud800"}'))])],
  [smartCaseOf([set('prompt', 'Size L\uD800')])],
  [smartCaseOf([set('shippingAddress.name', '\uDC00Ada')])],
  [smartCaseOf([set('productUrl', 'javascript:alert(1)')])],
  [smartCaseOf([set('prompt', HUGE)])],
];

const payervaultMutation: fc.Arbitrary<Mutation> = fc.oneof(
  hostileText.map((v) => set('customerId', v)),
  fc.integer({ min: 256, max: 10_000 }).map((n) => set('customerId', 'c'.repeat(n))),
  notAString.map((v) => set('customerId', v)),
  fc.constant(set('customerId', rawJson('null'))),
  fc.constant(unset('customerId')),
  hostileKey.map((v) => set('idempotencyKey', v)),
  fc.constant(set('cartId', 'extra')),
);
function payervaultCaseOf(mutations: Mutation[]): GeneratedCase {
  const input: Record<string, unknown> = { customerId: 'cust-fuzz' };
  for (const m of mutations) m.apply(input);
  return { input, labels: mutations.map((m) => m.label) };
}
const payervaultCase = fc.array(payervaultMutation, { minLength: 1, maxLength: 2 }).map(payervaultCaseOf);
const PAYERVAULT_EXAMPLES: [GeneratedCase][] = [
  [payervaultCaseOf([set('customerId', 'cust\uD800')])],
  [payervaultCaseOf([set('customerId', 'cust\u0000')])],
  [payervaultCaseOf([set('customerId', HUGE)])],
];

const LINE_TEXT_FIELDS = ['productId', 'description', 'sku'] as const;
const STAN_TEXT_FIELDS = ['discountCode', 'sessionId', 'orderId'] as const;
const STAN_AMOUNTS = ['discountAmount', 'taxCost', 'subtotalAmount', 'totalAmount'] as const;

const validLine = (i = 0) => ({ productId: `p-${i}`, quantity: 1, unitPrice: 100 });

const stanMutation: fc.Arbitrary<Mutation> = fc.oneof(
  hostileUrl.map((v) => set('returnUrl', v)),
  fc.constant(unset('returnUrl')),
  hostileKey.map((v) => set('idempotencyKey', v)),
  // Thousands of line items, or none.
  fc.integer({ min: 101, max: 5_000 }).map((n) =>
    set(
      'lineItems',
      Array.from({ length: n }, (_, i) => validLine(i)),
    ),
  ),
  fc.constant(
    set(
      'lineItems',
      Array.from({ length: 5_000 }, (_, i) => validLine(i)),
    ),
  ),
  fc.constant(set('lineItems', [])),
  fc
    .constantFrom(rawJson('null'), rawJson('{}'), rawJson('"p-1"'), rawJson('[null]'), rawJson('[[]]'), rawJson('[1]'))
    .map((v) => set('lineItems', v)),
  // One bad line.
  fc.tuple(fc.constantFrom(...LINE_TEXT_FIELDS), hostileText).map(([field, v]) => set(`lineItems.0.${field}`, v)),
  fc.constantFrom('imageUrl', 'productUrl').chain((field) => hostileUrl.map((v) => set(`lineItems.0.${field}`, v))),
  fc.constantFrom(0, -1, -2147483648, 1_000_001).map((v) => set('lineItems.0.quantity', v)),
  notAnInt.map((v) => set('lineItems.0.quantity', v)),
  fc
    .constantFrom('unitPrice', 'discountAmount')
    .chain((field) => notASafeInt.map((v) => set(`lineItems.0.${field}`, v))),
  fc
    .constantFrom('unitPrice', 'discountAmount')
    .chain((field) => negativeAmount.map((v) => set(`lineItems.0.${field}`, v))),
  fc.constant(set('lineItems.0.discountAmount', 101)),
  fc.constantFrom('productId', 'quantity', 'unitPrice').map((field) => unset(`lineItems.0.${field}`)),
  fc.constant(set('lineItems.0.colour', 'red')),
  // Amounts whose exact results pass 2^53 - 1: 1e6 x 9.007e9 on one line, 100 maximal lines, a maximal tax.
  fc.constant(set('lineItems', [{ productId: 'big', quantity: 1_000_000, unitPrice: 9_007_199_255 }])),
  fc.constant(
    set(
      'lineItems',
      Array.from({ length: 100 }, (_, i) => ({
        productId: `big-${i}`,
        quantity: 1,
        unitPrice: Number.MAX_SAFE_INTEGER,
      })),
    ),
  ),
  fc.constant(set('taxCost', Number.MAX_SAFE_INTEGER)),
  // Top-level amounts.
  fc.constantFrom(...STAN_AMOUNTS).chain((field) => fc.oneof(negativeAmount, notASafeInt).map((v) => set(field, v))),
  fc.constantFrom(-1, 101, 2147483647, -2147483648).map((v) => set('taxRate', v)),
  notAnInt.map((v) => set('taxRate', v)),
  fc.integer({ min: 0, max: 99 }).map((n) => set('subtotalAmount', n)),
  fc.integer({ min: 0, max: 99 }).map((n) => set('totalAmount', n)),
  fc.integer({ min: 101, max: 1_000_000 }).map((n) => set('discountAmount', n)),
  fc.tuple(fc.constantFrom(...STAN_TEXT_FIELDS), hostileText).map(([field, v]) => set(field, v)),
  fc
    .constantFrom('returnUrl', 'discountCode', 'sessionId', 'orderId')
    .chain((field) => notAString.map((v) => set(field, v))),
);
const stanCase = fc
  .tuple(fc.array(stanMutation, { minLength: 1, maxLength: 3 }), fc.constantFrom(rawJson('-0'), 0, undefined))
  .map(([mutations, oddZero]) => stanCaseOf(mutations, oddZero));
function stanCaseOf(mutations: Mutation[], oddZero?: unknown): GeneratedCase {
  // -0 is a legal Int; riding along with an invalid change it must not make things worse.
  const input: Record<string, unknown> = { returnUrl: 'https://store.example/return', lineItems: [validLine()] };
  if (oddZero !== undefined) input.discountAmount = oddZero;
  for (const m of mutations) m.apply(input);
  return { input, labels: mutations.map((m) => m.label) };
}
const STAN_EXAMPLES: [GeneratedCase][] = [
  [stanCaseOf([set('lineItems.0.description', '\uDC00ok')])],
  [stanCaseOf([set('lineItems.0.productId', 'p\uD800')])],
  [stanCaseOf([set('sessionId', 's\uD800')])],
  [
    stanCaseOf([
      set(
        'lineItems',
        Array.from({ length: 5_000 }, (_, i) => validLine(i)),
      ),
    ]),
  ],
  [stanCaseOf([set('lineItems.0.unitPrice', -1)])],
  [stanCaseOf([set('lineItems.0.quantity', rawJson('1e300'))])],
];

// ---------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------

interface Wire {
  status: number;
  text: string;
  body:
    | { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] }
    | undefined;
}

interface PostOptions {
  apiKey?: string | null;
  contentType?: string | null;
  accept?: string;
  method?: string;
  path?: string;
}

let provider: Awaited<ReturnType<typeof startRecordingServer>>;
beforeAll(async () => {
  console.log(`fuzz: FUZZ_SEED=${SEED}`);
  provider = await startRecordingServer(providerAnswer);
});
afterAll(async () => {
  await provider?.close();
});
const t = useTestApp(() =>
  providersAt(provider.url, {
    API_KEYS: `${FUZZ.name}:${FUZZ.key},${CONTROL.name}:${CONTROL.key}`,
    // Hundreds of operations from one key within seconds: the per-key rate limit is not under test here.
    RATE_LIMIT_PER_MINUTE: '1000000',
  }),
);

async function sendBody(body: string | Uint8Array | undefined, options: PostOptions = {}): Promise<Wire> {
  const apiKey = options.apiKey === undefined ? FUZZ.key : options.apiKey;
  const headers: Record<string, string> = {
    accept: options.accept ?? 'application/graphql-response+json, application/json',
  };
  if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
  if (apiKey !== null) headers.authorization = `Bearer ${apiKey}`;
  const response = await fetch(`${t.url}${options.path ?? '/graphql'}`, {
    method: options.method ?? 'POST',
    headers,
    body: body as BodyInit | undefined,
  });
  const text = await response.text();
  let parsed: Wire['body'];
  try {
    parsed = JSON.parse(text) as Wire['body'];
  } catch {
    parsed = undefined;
  }
  return { status: response.status, text, body: parsed };
}

/** Sends one operation with `variables` as raw-capable JSON. */
function operation(query: string, variables: unknown, options: PostOptions = {}) {
  return sendBody(`{"query":${JSON.stringify(query)},"variables":${toJsonText(variables)}}`, options);
}

// ---------------------------------------------------------------------------------------------
// Assertions
// ---------------------------------------------------------------------------------------------

/** No 5xx, no masked error, nothing of a stack or an internal code. */
function expectNoServerFault(wire: Wire, allowed: number[] = [200, 400, 413]) {
  expect(allowed, `HTTP ${wire.status}: ${wire.text.slice(0, 400)}`).toContain(wire.status);
  expect(wire.text).not.toContain('Unexpected error.');
  expect(wire.text).not.toMatch(/INTERNAL_SERVER_ERROR|\bat .+\.(?:ts|js):\d+/);
}

/** A create mutation answered with a typed ValidationError or a GraphQL request error. */
function expectRejectedCreate(wire: Wire, field: string) {
  expectNoServerFault(wire);
  const result = wire.body?.data?.[field] as
    | { __typename?: string; code?: string; fieldErrors?: unknown[] }
    | null
    | undefined;
  if (result) {
    expect(result.__typename, JSON.stringify(result).slice(0, 400)).toBe('ValidationError');
    expect(result.code).toBe('VALIDATION_FAILED');
    expect(result.fieldErrors?.length).toBeGreaterThan(0);
  } else {
    expect(wire.body?.errors?.length, wire.text.slice(0, 400)).toBeGreaterThan(0);
  }
}

/** Rows a tenant owns in every table a request could write. */
async function rowsOf(tenant: string) {
  const db = t.app.database.db;
  const own = db.select({ id: checkouts.id }).from(checkouts).where(eq(checkouts.tenant, tenant));
  const [c] = await db.select({ n: count() }).from(checkouts).where(eq(checkouts.tenant, tenant));
  const [m] = await db.select({ n: count() }).from(merchants).where(eq(merchants.tenant, tenant));
  const [l] = await db.select({ n: count() }).from(lineItems).where(inArray(lineItems.checkoutId, own));
  const [e] = await db.select({ n: count() }).from(checkoutEvents).where(inArray(checkoutEvents.checkoutId, own));
  return { checkouts: c!.n, merchants: m!.n, lineItems: l!.n, events: e!.n };
}

/** The tenant's `checkouts` connection, through the API. */
async function listedCheckouts(apiKey: string) {
  const wire = await operation(CHECKOUTS_QUERY, { first: 100 }, { apiKey });
  expect(wire.status).toBe(200);
  expect(wire.body?.errors).toBeUndefined();
  return (wire.body!.data!.checkouts as { edges: { node: { id: string } }[] }).edges;
}

const EMPTY = { checkouts: 0, merchants: 0, lineItems: 0, events: 0 };
const counts: Record<keyof typeof RUNS, number> = { smart: 0, payervault: 0, stan: 0, ids: 0, documents: 0 };

/**
 * Runs one generated case: no provider request and no row may follow it. Failures name the case
 * (without printing 100 KB strings) and the seed.
 */
async function runCase(kind: keyof typeof RUNS, label: string, body: () => Promise<void>) {
  counts[kind]++;
  const requestsBefore = provider.requests.length;
  const rowsBefore = await rowsOf(FUZZ.name);
  try {
    await body();
    expect(
      provider.requests.slice(requestsBefore).map((r) => `${r.method} ${r.path.slice(0, 200)}`),
      'provider calls',
    ).toEqual([]);
    expect(await rowsOf(FUZZ.name), 'rows of the fuzz tenant').toEqual(rowsBefore);
  } catch (error) {
    const message = `[${kind}] case ${label.length > 400 ? `${label.slice(0, 400)}...` : label} (FUZZ_SEED=${SEED}): ${error instanceof Error ? error.message : String(error)}`;
    if (!REPORT_ALL) throw new Error(message);
    console.log(`fuzz failure: ${message.slice(0, 1_000)}`);
  }
}

const fcOptions = <T>(numRuns: number, examples: T[] = []) => ({ seed: SEED, numRuns, endOnFailure: true, examples });

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

const SMART_CHECKOUT_ID = '5b8e1f7c-2f3a-4c55-9a0e-7d9b1c2e3f40';

function providerAnswer(request: RecordedRequest): CannedResponse {
  if (request.method === 'POST' && request.path === '/v0/checkout')
    return { status: 200, body: { checkout_id: SMART_CHECKOUT_ID, status: 'processing' } };
  if (request.method === 'GET' && request.path.startsWith('/v0/checkout/'))
    return { status: 200, body: { id: SMART_CHECKOUT_ID, status: 'processing' } };
  if (request.method === 'GET' && request.path.startsWith('/api/v1/checkout-link/'))
    return { status: 200, body: { url: 'https://pay.payervault.example/c/fuzz' } };
  if (request.method === 'POST' && request.path === '/v1/checkouts') {
    return {
      status: 200,
      body: {
        id: `stan-${randomUUID()}`,
        is_testmode: true,
        merchant: { name: 'Fuzz Store', website: 'https://store.example' },
      },
    };
  }
  return { status: 404, body: { message: 'not found' } };
}

// Registered after the app's hooks, so it runs before the app stops (after-hooks run in reverse order).
afterAll(async () => {
  console.log(
    `fuzz: smart ${counts.smart}, payervault ${counts.payervault}, stan ${counts.stan}, ids ${counts.ids}, documents ${counts.documents} (FUZZ_SEED=${SEED})`,
  );
  if (REPORT_ALL) {
    const errors = t.logs
      .filter((line) => line.includes('"level":50'))
      .map((line) => {
        const { err } = JSON.parse(line) as { err?: { type?: string; message?: string; stack?: string } };
        return `${err?.type}: ${err?.message?.slice(0, 200)} @ ${err?.stack?.split('\n').slice(1, 4).join(' <')}`;
      });
    for (const error of new Set(errors)) console.log(`fuzz: logged error ${error}`);
  }
});

describe('bad-input fuzzing', () => {
  let controlSmartId: string;
  const controlIds: string[] = [];

  it('valid controls reach the one recording provider and write rows (so "nothing recorded" means something)', async () => {
    const before = provider.requests.length;
    const smart = await operation(
      SMART_QUERY,
      {
        input: {
          productUrl: 'https://shop.example/products/control',
          email: 'control@example.com',
          prompt: 'Size L',
          shippingAddress: validAddress(),
          // Legal neighbours of the hostile values: nesting, unicode, a key that merely contains "proto".
          userData: rawJson('{"loyalty":{"tier":{"level":3}},"note":"caf\\u00e9 \\ud83d\\ude00","proto_key":1}'),
        },
      },
      { apiKey: CONTROL.key },
    );
    expectNoServerFault(smart, [200]);
    const smartResult = smart.body!.data!.createSmartCheckout as {
      __typename: string;
      checkout: { id: string; userData: Record<string, unknown> };
    };
    expect(smartResult.__typename).toBe('CreateSmartCheckoutSuccess');
    expect(smartResult.checkout.userData).toMatchObject({ note: 'café 😀', proto_key: 1 });
    controlSmartId = smartResult.checkout.id;

    const payervault = await operation(
      PAYERVAULT_QUERY,
      { input: { customerId: 'cust-control/../x?y#z' } },
      { apiKey: CONTROL.key },
    );
    expectNoServerFault(payervault, [200]);
    expect((payervault.body!.data!.createPayerVaultCheckout as { __typename: string }).__typename).toBe(
      'CreatePayerVaultCheckoutSuccess',
    );

    const stan = await operation(
      STAN_QUERY,
      {
        input: {
          returnUrl: 'https://store.example/return',
          lineItems: Array.from({ length: 100 }, (_, i) => validLine(i)),
          discountAmount: rawJson('-0'),
          taxRate: 20,
        },
      },
      { apiKey: CONTROL.key },
    );
    expectNoServerFault(stan, [200]);
    expect((stan.body!.data!.createStanCheckout as { __typename: string }).__typename).toBe(
      'CreateStanCheckoutSuccess',
    );

    const calls = provider.requests.slice(before);
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /v0/checkout',
      `GET /api/v1/checkout-link/${encodeURIComponent('cust-control/../x?y#z')}`,
      'POST /v1/checkouts',
    ]);
    expect(JSON.parse(calls[0]!.body).user_data).toMatchObject({
      email: 'control@example.com',
      proto_key: 1,
      loyalty: { tier: { level: 3 } },
    });
    expect(JSON.parse(calls[2]!.body).line_items).toHaveLength(100);

    controlIds.push(...(await listedCheckouts(CONTROL.key)).map((edge) => edge.node.id));
    const controlRows = await rowsOf(CONTROL.name);
    expect(controlRows.checkouts).toBe(3);
    expect(controlRows.lineItems).toBe(101); // the smart checkout's product line and Stan's 100
    expect(await listedCheckouts(CONTROL.key)).toHaveLength(3);

    // The same smart checkout refreshed: a provider call (the fuzz tenant's refreshes must not make one).
    const refreshBefore = provider.requests.length;
    const refresh = await operation(REFRESH_QUERY, { id: controlSmartId }, { apiKey: CONTROL.key });
    expectNoServerFault(refresh, [200]);
    expect((refresh.body!.data!.refreshCheckout as { __typename: string }).__typename).toBe('RefreshCheckoutSuccess');
    expect(provider.requests.length).toBe(refreshBefore + 1);

    expect(await rowsOf(FUZZ.name)).toEqual(EMPTY);
  });

  it(`createSmartCheckout: ${RUNS.smart} hostile inputs end in ValidationError or a request error`, async () => {
    await fc.assert(
      fc.asyncProperty(smartCase, async ({ input, labels }) => {
        await runCase('smart', labels.join(' & '), async () => {
          expectRejectedCreate(await operation(SMART_QUERY, { input }), 'createSmartCheckout');
        });
      }),
      fcOptions(RUNS.smart, SMART_EXAMPLES),
    );
    expect(await listedCheckouts(FUZZ.key)).toEqual([]);
  }, 60_000);

  it(`createPayerVaultCheckout: ${RUNS.payervault} hostile inputs end in ValidationError or a request error`, async () => {
    await fc.assert(
      fc.asyncProperty(payervaultCase, async ({ input, labels }) => {
        await runCase('payervault', labels.join(' & '), async () => {
          expectRejectedCreate(await operation(PAYERVAULT_QUERY, { input }), 'createPayerVaultCheckout');
        });
      }),
      fcOptions(RUNS.payervault, PAYERVAULT_EXAMPLES),
    );
    expect(await listedCheckouts(FUZZ.key)).toEqual([]);
  }, 60_000);

  it(`createStanCheckout: ${RUNS.stan} hostile inputs end in ValidationError or a request error`, async () => {
    await fc.assert(
      fc.asyncProperty(stanCase, async ({ input, labels }) => {
        await runCase('stan', labels.join(' & '), async () => {
          expectRejectedCreate(await operation(STAN_QUERY, { input }), 'createStanCheckout');
        });
      }),
      fcOptions(RUNS.stan, STAN_EXAMPLES),
    );
    expect(await listedCheckouts(FUZZ.key)).toEqual([]);
  }, 60_000);

  it(`ids, cursors, page sizes and filters: ${RUNS.ids} hostile values answer "nothing" or a request error`, async () => {
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
    const hostileId = fc.oneof(
      hostileText,
      notAnInt,
      fc.constantFrom(rawJson('null'), rawJson('1'), rawJson('2147483648'), rawJson('-0')),
      fc.string({ maxLength: 60 }),
      fc.constantFrom(controlSmartId), // another tenant's real checkout
      fc
        .tuple(
          fc.constantFrom(
            'SmartCheckout',
            'PayerVaultCheckout',
            'StanCheckout',
            'Merchant',
            'Checkout',
            'Node',
            '__proto__',
            'constructor',
            'toString',
            '',
          ),
          fc.oneof(
            hostileText,
            fc.uuid(),
            fc.constantFrom("' OR 1=1 --", '00000000-0000-0000-0000-000000000000', `${randomUUID()}\u0000`),
          ),
        )
        .map(([typename, id]) => b64(`${typename}:${id}`)),
    );
    const hostileCursor = fc.oneof(
      hostileText,
      notAString,
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        b64url('checkout:-1'),
        b64url('checkout:1e5'),
        b64url(`checkout:${'9'.repeat(16)}`),
        b64url('checkout:'),
        b64url('checkout:1\u0000'),
        b64url("checkout:1' OR '1'='1"),
        b64url('offset:10'),
        b64url(`checkout:${'9'.repeat(400)}`),
        b64url('checkout:1'),
      ),
    );
    const hostileFirst = fc.oneof(
      notAnInt,
      negativeAmount,
      fc.constantFrom(rawJson('-0'), 0, 101, 1_000_000, 2_147_483_647),
    );
    const hostileFilter = fc.constantFrom(
      rawJson('{"provider":"NOPE"}'),
      rawJson('{"provider":"smartcheckout"}'),
      rawJson('{"provider":1}'),
      rawJson('{"status":["NOPE"]}'),
      rawJson('{"status":[null]}'),
      rawJson('{"status":"OPEN\\u0000"}'),
      rawJson('{"status":{}}'),
      rawJson('{"__proto__":{"provider":"STAN"}}'),
      rawJson('{"tenant":"someone-else"}'),
      rawJson('"STAN"'),
      rawJson('[]'),
      rawJson(`{"status":[${Array.from({ length: 10_000 }, () => '"OPEN"').join(',')}]}`),
    );

    type IdCase =
      | { op: 'refresh' | 'checkout' | 'node' | 'subscription'; id: unknown }
      | { op: 'checkouts'; variables: Record<string, unknown> };
    const idCase: fc.Arbitrary<IdCase> = fc.oneof(
      fc.record({
        op: fc.constantFrom('refresh' as const, 'checkout' as const, 'node' as const, 'subscription' as const),
        id: hostileId,
      }),
      fc.record({ op: fc.constant('checkouts' as const), variables: fc.record({ first: hostileFirst }) }),
      fc.record({ op: fc.constant('checkouts' as const), variables: fc.record({ last: hostileFirst }) }),
      fc.record({
        op: fc.constant('checkouts' as const),
        variables: fc.record({ first: fc.constant(5), after: hostileCursor }),
      }),
      fc.record({
        op: fc.constant('checkouts' as const),
        variables: fc.record({ last: fc.constant(5), before: hostileCursor }),
      }),
      fc.record({
        op: fc.constant('checkouts' as const),
        variables: fc.record({ first: fc.constant(5), filter: hostileFilter }),
      }),
      fc.record({
        op: fc.constant('checkouts' as const),
        variables: fc.record({ first: hostileFirst, after: hostileCursor, last: hostileFirst, before: hostileCursor }),
      }),
    );

    await fc.assert(
      fc.asyncProperty(idCase, async (c) => {
        await runCase('ids', describeCase(c), async () => {
          if (c.op === 'subscription') {
            const wire = await operation(SUBSCRIPTION_QUERY, { id: c.id }, { accept: 'text/event-stream' });
            expectNoServerFault(wire);
            // A stream with an error, or a request error: never a checkout.
            expect(wire.text).toMatch(/errors/);
            expect(wire.text).not.toMatch(/"checkoutStatusChanged":\{/);
            return;
          }
          const query = {
            refresh: REFRESH_QUERY,
            checkout: CHECKOUT_QUERY,
            node: NODE_QUERY,
            checkouts: CHECKOUTS_QUERY,
          }[c.op];
          const wire = await operation(query, c.op === 'checkouts' ? c.variables : { id: c.id });
          expectNoServerFault(wire);
          const data = wire.body?.data;
          if (!data) {
            expect(wire.body?.errors?.length, wire.text.slice(0, 300)).toBeGreaterThan(0);
            return;
          }
          if (c.op === 'refresh') {
            const result = data.refreshCheckout as { __typename: string; code?: string };
            expect(result.__typename).toBe('NotFoundError');
            expect(result.code).toBe('NOT_FOUND');
          } else if (c.op === 'checkout' || c.op === 'node') {
            expect(data[c.op]).toBeNull();
          } else if (data.checkouts) {
            // Accepted page arguments (e.g. first: -0, or a well-formed cursor): a page of the fuzz
            // tenant's own checkouts (none, unless another case already failed), never the control's.
            const ids = (data.checkouts as { edges: { node: { id: string } }[] }).edges.map((edge) => edge.node.id);
            expect(ids.filter((id) => controlIds.includes(id))).toEqual([]);
          } else {
            expect(wire.body?.errors?.length).toBeGreaterThan(0);
          }
        });
      }),
      fcOptions(RUNS.ids),
    );
  }, 60_000);

  it(`malformed HTTP bodies and GraphQL documents: ${RUNS.documents} cases end in a request error`, async () => {
    const validInput = { customerId: 'cust-doc' };
    const mutationDoc = (inner: string) =>
      `mutation { createPayerVaultCheckout(input: { customerId: ${inner} }) { __typename } }`;
    const bigValidBody = `{"query":${JSON.stringify(PAYERVAULT_QUERY)},"variables":{"input":{"customerId":"cust","idempotencyKey":"${'k'.repeat(2_000_000)}"}}}`;

    type DocCase = { label: string; body?: string | Uint8Array; options?: PostOptions };
    const jsonCase = (label: string, body: string, options?: PostOptions): DocCase => ({ label, body, options });
    const docCase: fc.Arbitrary<DocCase> = fc.oneof(
      // Not JSON at all.
      fc
        .string({ maxLength: 80 })
        .filter((s) => {
          try {
            JSON.parse(s);
            return false;
          } catch {
            return true;
          }
        })
        .map((s) => jsonCase(`invalid JSON ${JSON.stringify(s)}`, s)),
      fc.constantFrom(
        jsonCase('truncated', '{"query":"mutation { createPayerVaultCheckout('),
        jsonCase(
          'NaN literal',
          `{"query":${JSON.stringify(PAYERVAULT_QUERY)},"variables":{"input":{"customerId":NaN}}}`,
        ),
        jsonCase('trailing comma', `{"query":${JSON.stringify(PAYERVAULT_QUERY)},}`),
        jsonCase('single quotes', "{'query':'{ __typename }'}"),
        jsonCase('empty body', ''),
        jsonCase('BOM', `\uFEFF{"query":"{ __typename }"}`),
        jsonCase(
          'deep JSON',
          `{"query":${JSON.stringify(PAYERVAULT_QUERY)},"variables":{"input":${'['.repeat(50_000)}${']'.repeat(50_000)}}}`,
        ),
        jsonCase('deep JSON unbalanced', `{"query":"{ __typename }","extensions":${'{"a":'.repeat(100_000)}`),
      ),
      // JSON, but not an object.
      fc
        .constantFrom(
          '[]',
          '1',
          '"mutation { createPayerVaultCheckout }"',
          'null',
          'true',
          '[{"query":"{ __typename }"}]',
          `[${JSON.stringify({ query: PAYERVAULT_QUERY, variables: { input: validInput } })}]`,
        )
        .map((s) => jsonCase(`not an object ${s.slice(0, 40)}`, s)),
      // A query that is not a string, or missing.
      fc
        .constantFrom('1', '{}', '[]', 'null', 'true', `[${JSON.stringify(PAYERVAULT_QUERY)}]`)
        .map((q) =>
          jsonCase(`query ${q.slice(0, 30)}`, `{"query":${q},"variables":${JSON.stringify({ input: validInput })}}`),
        ),
      fc.constant(jsonCase('no query', `{"variables":${JSON.stringify({ input: validInput })}}`)),
      // Variables, operationName and extensions of the wrong types.
      fc
        .constantFrom('"x"', '1', '[]', 'true', `"${JSON.stringify({ input: validInput }).replaceAll('"', '\\"')}"`)
        .map((v) =>
          jsonCase(`variables ${v.slice(0, 30)}`, `{"query":${JSON.stringify(PAYERVAULT_QUERY)},"variables":${v}}`),
        ),
      fc
        .constantFrom('"x"', '1', '[]', '{}', 'null', `{"customerId":{"id":"cust"}}`, `{"input":"cust"}`)
        .map((v) => jsonCase(`input ${v}`, `{"query":${JSON.stringify(PAYERVAULT_QUERY)},"variables":{"input":${v}}}`)),
      fc
        .constantFrom('1', '{}', '"Nope"', '""')
        .map((v) =>
          jsonCase(
            `operationName ${v}`,
            `{"query":${JSON.stringify(PAYERVAULT_QUERY)},"operationName":${v},"variables":{"input":{"customerId":"\\u0000"}}}`,
          ),
        ),
      fc
        .constantFrom('1', '"x"', '[]', '{"persistedQuery":{"version":1,"sha256Hash":"00"}}')
        .map((v) => jsonCase(`extensions ${v}`, `{"query":${JSON.stringify(mutationDoc('""'))},"extensions":${v}}`)),
      // Broken documents.
      fc
        .constantFrom(
          mutationDoc('"unterminated'),
          mutationDoc('"""unterminated block'),
          mutationDoc('"bad escape \\x"'),
          mutationDoc('"\\uD800"'),
          mutationDoc('"nul \u0000 byte"'),
          'mutation { createPayerVaultCheckout(input: { customerId: "c" }) { __typename }',
          'mutation {',
          '}}}}',
          'subscription',
          'query Q($id: ID!) { checkout(id: $id) { id } } query Q($id: ID!) { checkout(id: $id) { id } }',
          'query A { __typename } query B { __typename }',
          `mutation { createPayerVaultCheckout(input: { customerId: ${'['.repeat(5_000)}"c"${']'.repeat(5_000)} }) { __typename } }`,
          `{ ${'checkouts(first: 1) { edges { node { ... on Checkout { '.repeat(1_000)} id ${'} } } }'.repeat(1_000)} }`,
          `{ ${'a'.repeat(100_000)} }`,
          `{ ${Array.from({ length: 20_000 }, () => '__typename').join(' ')} }`,
          `{ ${Array.from({ length: 3_000 }, (_, i) => `a${i}: checkouts(first: 100) { edges { node { id } } }`).join(' ')} }`,
          `mutation { ${Array.from({ length: 2_000 }, (_, i) => `m${i}: createPayerVaultCheckout(input: { customerId: "" }) { __typename }`).join(' ')} }`,
          `mutation { createPayerVaultCheckout(input: { customerId: 2147483648 }) { __typename } }`,
          `mutation { createStanCheckout(input: { returnUrl: "https://x.example", lineItems: [{ productId: "p", quantity: 1e300, unitPrice: 1 }] }) { __typename } }`,
          `mutation { createStanCheckout(input: { returnUrl: "https://x.example", lineItems: [{ productId: "p", quantity: 1, unitPrice: 99999999999999999999 }] }) { __typename } }`,
          `mutation { createSmartCheckout(input: { productUrl: "https://x.example", email: "a@example.com", userData: { __proto__: { polluted: true } } }) { __typename } }`,
          `mutation { createSmartCheckout(input: { productUrl: "https://x.example", email: "a@example.com", userData: ${'{ a: '.repeat(3_000)}1${' }'.repeat(3_000)} }) { __typename } }`,
          `mutation { createSmartCheckout(input: { productUrl: "https://x.example", email: "a@example.com", userData: { email: "evil@example.com" } }) { __typename } }`,
          `mutation { createSmartCheckout(input: { productUrl: "javascript:alert(1)", email: "a@example.com" }) @skip(if: true) { __typename } }`,
          `mutation M($input: CreatePayerVaultCheckoutInput!) { createPayerVaultCheckout(input: $input) { __typename } }`,
          `mutation M($input: String) { createPayerVaultCheckout(input: $input) { __typename } }`,
        )
        .map((query) =>
          jsonCase(
            `document ${query.slice(0, 60)}…${query.slice(-110, -20)}`,
            `{"query":${JSON.stringify(query)},"variables":{}}`,
          ),
        ),
      fc
        .string({ maxLength: 60 })
        .map((garbage) =>
          jsonCase(
            `garbage document ${JSON.stringify(garbage)}`,
            `{"query":${JSON.stringify(`mutation { createPayerVaultCheckout(input: { customerId: "c" }) ${garbage}`)}}`,
          ),
        ),
      // Bytes that are not UTF-8, other content types and methods.
      fc.constant<DocCase>({
        label: 'invalid UTF-8',
        body: new Uint8Array([0x7b, 0x22, 0x71, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]),
      }),
      fc.constant<DocCase>({
        label: 'UTF-16 body',
        body: new Uint8Array(Buffer.from(`{"query":${JSON.stringify(mutationDoc('""'))}}`, 'utf16le')),
      }),
      fc
        .constantFrom<PostOptions>(
          { contentType: 'text/plain' },
          { contentType: 'application/x-www-form-urlencoded' },
          { contentType: 'multipart/form-data; boundary=x' },
          { contentType: 'application/graphql' },
          { contentType: null },
          { contentType: 'application/json; charset=latin1' },
        )
        .map((options) => ({
          label: `content-type ${String(options.contentType)}`,
          body: JSON.stringify({ query: PAYERVAULT_QUERY, variables: { input: { customerId: 'cust\u0000' } } }),
          options,
        })),
      fc.constant<DocCase>({
        label: 'GET mutation',
        options: {
          method: 'GET',
          path: `/graphql?query=${encodeURIComponent(PAYERVAULT_QUERY)}&variables=${encodeURIComponent(JSON.stringify({ input: validInput }))}`,
        },
      }),
      // GET with a non-simple header (so CSRF prevention lets it through) and broken parameters.
      fc
        .constantFrom(
          `query=${encodeURIComponent('{ __typename }')}&variables=%7b`,
          `query=${encodeURIComponent('{ __typename }')}&variables=%E0%A4%A`,
          `query=${encodeURIComponent('{ __typename }')}&extensions=%7bnope`,
          'query=%ff%fe',
          'query=%',
        )
        .map(
          (search): DocCase => ({ label: `GET ?${search}`, options: { method: 'GET', path: `/graphql?${search}` } }),
        ),
      fc.constant<DocCase>({
        label: 'PUT',
        body: JSON.stringify({ query: PAYERVAULT_QUERY, variables: { input: validInput } }),
        options: { method: 'PUT' },
      }),
      // A 2 MB body (over the 1 MB limit once it lands; until then its 2 MB key is refused by validation).
      fc.constant<DocCase>({ label: '2 MB body', body: bigValidBody }),
    );

    await fc.assert(
      fc.asyncProperty(docCase, async (c) => {
        await runCase('documents', c.label, async () => {
          const wire = await sendBody(c.body, c.options);
          expectNoServerFault(wire, [200, 400, 403, 405, 413, 415]);
          const result = wire.body?.data?.createPayerVaultCheckout as { __typename?: string } | undefined;
          if (wire.body?.data) {
            // (`data: {}` is a mutation skipped by @skip: nothing ran.)
            // Only what validation refuses may come back as data.
            for (const value of Object.values(wire.body.data)) {
              expect((value as { __typename?: string } | null)?.__typename ?? 'null', c.label).toMatch(
                /^(ValidationError|null)$/,
              );
            }
          } else {
            expect(result).toBeUndefined();
            expect(wire.status === 200 ? wire.body?.errors?.length : 1, wire.text.slice(0, 300)).toBeGreaterThan(0);
          }
        });
      }),
      fcOptions<[DocCase]>(RUNS.documents, [
        [
          {
            label: 'GET ?variables={',
            options: { method: 'GET', path: `/graphql?query=${encodeURIComponent('{ __typename }')}&variables=%7b` },
          },
        ],
      ]),
    );
  }, 60_000);

  it('after every run: the fuzz tenant has no checkouts, through the API and in the tables', async () => {
    expect(await listedCheckouts(FUZZ.key)).toEqual([]);
    expect(await rowsOf(FUZZ.name)).toEqual(EMPTY);
  });
});
