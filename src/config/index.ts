import { z } from 'zod';
import type { ProviderName } from '../domain/checkout.js';
import type { ProviderConfig } from '../providers/definition.js';
import { PROVIDER_REGISTRY } from '../providers/index.js';
import {
  flag,
  httpOrigin,
  integer,
  LOG_FORMAT,
  onOff,
  optionalString,
  section,
  variable,
  type Section,
  type Spec,
  type Variable,
} from './variables.js';

/**
 * Every environment variable the API reads, each declared once (name, schema, description) in the
 * section of its concern; `AppConfig` is what the sections become. README's configuration table is
 * written from the descriptions (and a test keeps the two equal).
 */

const server = section({
  port: variable('PORT', integer(4000, 0, 65535), 'HTTP port of the API (GraphQL, GraphiQL, /health).'),
  host: variable(
    'HOST',
    optionalString,
    'Interface the API listens on. Default: `127.0.0.1` (this machine only) without API_KEYS, `0.0.0.0` (every interface) with them. Binding another interface without API_KEYS lets anyone who reaches it write as tenant `sandbox`: a warning says so at start-up.',
  ),
  nodeEnv: variable(
    'NODE_ENV',
    z.enum(['development', 'test', 'production']).default('development'),
    '`production` requires API_KEYS.',
  ),
  logLevel: variable(
    'LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'pino log level.',
  ),
  logFormat: LOG_FORMAT,
  corsOrigins: variable(
    'CORS_ORIGINS',
    optionalString,
    'Comma-separated origins allowed by CORS, e.g. https://shop.example. Unset: any origin outside production, none in production.',
  ),
  introspection: variable(
    'INTROSPECTION',
    z.enum(['on', 'off']).optional(),
    'Schema introspection. Default: on outside production, off in production.',
  ),
  graphiql: variable(
    'GRAPHIQL',
    z.enum(['on', 'off']).optional(),
    'GraphiQL at /graphql. Default: on outside production, off in production.',
  ),
});

const storage = section({
  dataDir: variable(
    'DATA_DIR',
    z.string().trim().min(1).default('.data'),
    'PGlite data folder used when DATABASE_URL is not set (`memory://` keeps it in memory).',
  ),
  databaseUrl: variable(
    'DATABASE_URL',
    optionalString.refine(
      (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
      'must be a postgres:// or postgresql:// URL',
    ),
    'PostgreSQL connection string; when set, PostgreSQL replaces the embedded PGlite.',
    { secret: true },
  ),
  redisUrl: variable(
    'REDIS_URL',
    optionalString.refine(
      (value) => value === undefined || /^rediss?:\/\//.test(value),
      'must be a redis:// or rediss:// URL',
    ),
    'Redis for pub/sub and rate limits shared between instances.',
    { secret: true },
  ),
  redisCommandTimeoutMs: variable(
    'REDIS_COMMAND_TIMEOUT_MS',
    integer(50, 5, 10_000),
    'Deadline of each Redis command on the request path (the shared rate limit, publications). A command past it, or Redis unreachable, switches the instance to its in-memory rate limit and local delivery until Redis answers again.',
  ),
  readModelMaxEntries: variable(
    'READ_MODEL_MAX_ENTRIES',
    integer(10_000, 0, 10_000_000),
    'Checkouts each instance keeps in memory for reads (0: none). With DATABASE_URL but no REDIS_URL an entry is served for 1 s at most, since writes of other processes are not announced.',
  ),
  subscriptionResyncMs: variable(
    'SUBSCRIPTION_RESYNC_MS',
    integer(10_000, 1_000, 3_600_000),
    'How often open status streams re-read their checkout (they also do when the bus is back after an outage), so that a change whose bus message was lost still arrives.',
  ),
});

const auth = section({
  apiKeys: variable(
    'API_KEYS',
    optionalString.transform((value, ctx) => (value === undefined ? undefined : parseApiKeys(value, ctx))),
    'Comma-separated `tenant:key` pairs. Clients send `Authorization: Bearer <key>`. Without it (outside production) every request is tenant `sandbox`.',
    { secret: true },
  ),
  operatorKey: variable(
    'OPERATOR_KEY',
    optionalString.refine((value) => value === undefined || value.length >= 24, 'must be at least 24 characters'),
    "A credential for the operator fields (apiKeys, createApiKey, revokeApiKey, resolveCheckout), sent as `Authorization: Bearer <key>`. On the embedded database each server also makes one for its run, in the data folder's lock file, which `npm run apikey` and `npm run checkout:resolve` use.",
    { secret: true },
  ),
  operatorAllowRemote: variable(
    'OPERATOR_ALLOW_REMOTE',
    flag,
    '`true` accepts operator credentials from any address; by default only from loopback (this machine).',
  ),
  trustedDocuments: variable(
    'TRUSTED_DOCUMENTS',
    z.enum(['optional', 'required']).default('optional'),
    "`required` (recommended in production) runs only documents published for the caller's tenant (`npm run documents -- publish`), sent by hash over HTTP, SSE and graphql-ws: query text answers `PERSISTED_QUERY_ONLY`, an unknown hash `PERSISTED_QUERY_NOT_FOUND`, except for operator credentials and keys created with `--any-document`. `optional` serves published hashes and query text alike.",
  ),
});

const polling = section({
  pollIntervalMs: variable(
    'POLL_INTERVAL_MS',
    integer(1000, 50, 3_600_000),
    'First interval between status polls of a processing checkout.',
  ),
  pollMaxIntervalMs: variable(
    'POLL_MAX_INTERVAL_MS',
    integer(30_000, 50, 86_400_000),
    'Longest interval between status polls (backoff cap).',
  ),
  pollMaxAnswerErrors: variable(
    'POLL_MAX_ANSWER_ERRORS',
    integer(10, 1, 1_000),
    'Polls in a row answered with something asking again cannot fix (a 404, a body that cannot be read) after which a checkout becomes UNKNOWN and polling stops. Timeouts, 5xx, 429 and 401/403 never count.',
  ),
  pollConcurrency: variable(
    'POLL_CONCURRENCY',
    integer(32, 1, 1_000),
    'Status polls (provider GETs) in flight at once per instance.',
  ),
  poller: variable(
    'POLLER',
    onOff('on'),
    '`off` runs an API-only instance that serves subscriptions but polls no provider.',
  ),
});

const providerCalls = section({
  providerTimeoutMs: variable(
    'PROVIDER_TIMEOUT_MS',
    integer(10_000, 100, 120_000),
    'Time budget of one provider HTTP request, connect to last byte.',
  ),
  providerConnectTimeoutMs: variable(
    'PROVIDER_CONNECT_TIMEOUT_MS',
    integer(3_000, 50, 120_000),
    'Time budget of the connection to a provider.',
  ),
  providerGetRetries: variable(
    'PROVIDER_GET_RETRIES',
    integer(2, 0, 10),
    'Retries of a failed safe (GET) provider request, with jittered exponential backoff. POSTs are never retried.',
  ),
  providerBreakerThreshold: variable(
    'PROVIDER_BREAKER_THRESHOLD',
    integer(5, 1, 1_000_000),
    'Consecutive provider failures that open its circuit breaker.',
  ),
  providerBreakerHalfOpenMs: variable(
    'PROVIDER_BREAKER_HALF_OPEN_MS',
    integer(10_000, 100, 3_600_000),
    'How long an open breaker fails calls fast before letting one probe through.',
  ),
});

const lifecycle = section({
  idempotencyKeyTtlHours: variable(
    'IDEMPOTENCY_KEY_TTL_HOURS',
    integer(24, 24, 24 * 365),
    'How long idempotency keys are kept (at least 24 hours) before they are pruned.',
  ),
  pendingGraceMs: variable(
    'PENDING_GRACE_MS',
    integer(120_000, 1_000, 86_400_000),
    'A checkout still PENDING this long after creation (its create call died with a crash) becomes UNKNOWN.',
  ),
  checkoutOpenTtlSeconds: variable(
    'CHECKOUT_OPEN_TTL_SECONDS',
    integer(86_400, 1, 365 * 86_400),
    'An OPEN checkout (a hosted link or session) with no outcome this many seconds after creation becomes EXPIRED.',
  ),
});

const limits = section({
  maxDepth: variable('LIMIT_MAX_DEPTH', integer(10, 1, 100), 'Deepest selection a GraphQL operation may have.'),
  maxAliases: variable(
    'LIMIT_MAX_ALIASES',
    integer(30, 0, 1_000),
    'Most aliases in one operation (`__typename` aliases count too).',
  ),
  maxTokens: variable('LIMIT_MAX_TOKENS', integer(3_000, 100, 100_000), 'Most lexical tokens in one document.'),
  maxDirectives: variable('LIMIT_MAX_DIRECTIVES', integer(20, 0, 1_000), 'Most directives in one operation.'),
  maxCost: variable(
    'LIMIT_MAX_COST',
    integer(5_000, 100, 1_000_000),
    'Highest computed cost of one operation (graphql-armor: object 2, scalar 1, depth factor 1.5).',
  ),
  maxQueryChars: variable(
    'LIMIT_MAX_QUERY_CHARS',
    integer(20_000, 100, 1_000_000),
    'Longest GraphQL document, in characters.',
  ),
  maxBodyBytes: variable(
    'LIMIT_MAX_BODY_BYTES',
    integer(1_048_576, 1_024, 16_777_216),
    'Largest HTTP request body; larger answers 413.',
  ),
  wsMaxSubscriptions: variable(
    'LIMIT_WS_MAX_SUBSCRIPTIONS',
    integer(100, 1, 10_000),
    'Most operations at once on one WebSocket connection.',
  ),
  ratePerMinute: variable(
    'RATE_LIMIT_PER_MINUTE',
    integer(6_000, 1, 1_000_000),
    'GraphQL operations per API key (or per client address without a key) per minute, shared by every instance through Redis when REDIS_URL is set.',
  ),
});

/**
 * Connection-level limits: what one instance and one client address may hold open, how long a
 * request may take to arrive, and how long a WebSocket may stay without a key. They shed floods
 * before any GraphQL work (SECURITY.md lists them with the threats they answer).
 */
const connections = section({
  maxConnections: variable(
    'LIMIT_MAX_CONNECTIONS',
    z
      .string()
      .trim()
      .refine(
        (value) => /^\d+$/.test(value) && Number(value) >= 1 && Number(value) <= 1_000_000,
        'must be an integer from 1 to 1000000',
      )
      .transform(Number)
      .optional(),
    'Open connections (HTTP and WebSocket) one instance accepts; past it new ones are closed at once. Default: half of the open-file limit read from /proc/self/limits, at most 10000 (10000 where it cannot be read), so that the files left serve the database, Redis, provider calls and authenticated clients.',
  ),
  maxConnectionsPerAddress: variable(
    'LIMIT_MAX_CONNECTIONS_PER_ADDRESS',
    integer(256, 0, 1_000_000),
    "Open connections one client address may hold (0: no limit); past it new ones get `503` with `Retry-After` and are closed. Behind a proxy every client has the proxy's address: raise it or set 0 there.",
  ),
  wsAuthTimeoutMs: variable(
    'LIMIT_WS_AUTH_TIMEOUT_MS',
    integer(5_000, 100, 600_000),
    'When API keys are required and GraphiQL is on, a WebSocket opened without a key in `connection_init` is closed (4401) unless an operation authenticated by its `extensions.headers` key started within this time. With GraphiQL off such a socket is refused at once (4403).',
  ),
  headersTimeoutMs: variable(
    'HTTP_HEADERS_TIMEOUT_MS',
    integer(10_000, 500, 300_000),
    "Time a client has to send a request's headers (node:http `headersTimeout`); a slower one (slowloris) gets `408` and is closed. Checked every second.",
  ),
  requestTimeoutMs: variable(
    'HTTP_REQUEST_TIMEOUT_MS',
    integer(30_000, 500, 3_600_000),
    'Time a client has to send a whole request, body included (node:http `requestTimeout`); at least HTTP_HEADERS_TIMEOUT_MS. It ends when the request has arrived: SSE streams and WebSockets outlive it.',
  ),
  keepAliveTimeoutMs: variable(
    'HTTP_KEEP_ALIVE_TIMEOUT_MS',
    integer(5_000, 100, 600_000),
    'How long an idle kept-alive HTTP connection stays open waiting for its next request (node:http `keepAliveTimeout`).',
  ),
});

/**
 * Bounds of an operation's variables and extensions, checked on the raw JSON before it is parsed,
 * so that a body costs a linear scan before it can cost a parse, a coercion or a validation.
 */
const variableLimits = section({
  maxDepth: variable(
    'LIMIT_MAX_VARIABLES_DEPTH',
    integer(64, 2, 1_000),
    "Deepest nesting of lists and objects in an operation's variables or extensions (the variables object is level 1); deeper answers 400 `VARIABLES_TOO_DEEP`. The deepest valid input (userData) nests 34.",
  ),
  maxListLength: variable(
    'LIMIT_MAX_LIST_LENGTH',
    integer(200, 1, 100_000),
    "Most items in one list of an operation's variables or extensions; longer answers 400 `LIST_TOO_LONG` before the list is coerced. Twice the longest documented list (100 Stan line items), so a near miss still gets its typed ValidationError.",
  ),
  maxValues: variable(
    'LIMIT_MAX_VARIABLES_VALUES',
    integer(10_000, 10, 10_000_000),
    "Most values (list items and object members, at any depth) in an operation's variables, and in its extensions; more answers 400 `VARIABLES_TOO_LARGE`.",
  ),
});

const tracing = section({
  endpoint: variable(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    optionalString.refine(
      (value) => value === undefined || /^https?:\/\/[^\s]+$/.test(value),
      'must be an http(s) URL such as http://otel-collector:4318',
    ),
    'OTLP/HTTP collector base URL; set, each GraphQL operation is traced (spans sent to <url>/v1/traces). Unset: no tracing.',
  ),
  serviceName: variable(
    'OTEL_SERVICE_NAME',
    z.string().trim().min(1).default('checkout-graph'),
    'service.name of the traces.',
  ),
});

const webhooks = section({
  retryBaseMs: variable(
    'WEBHOOK_RETRY_BASE_MS',
    integer(5_000, 10, 3_600_000),
    'Delay before the first retry of a failed webhook delivery; each further retry waits 2.5 times longer (±20% jitter), or longer when the receiver sends Retry-After.',
  ),
  maxAttempts: variable(
    'WEBHOOK_MAX_ATTEMPTS',
    integer(12, 1, 100),
    'Attempts of one webhook delivery before it is FAILED (12 with the default base: about 22 hours).',
  ),
  timeoutMs: variable(
    'WEBHOOK_TIMEOUT_MS',
    integer(10_000, 100, 120_000),
    'Time budget of one webhook POST, connect to last byte; a slower receiver counts as failed.',
  ),
  disableAfterMs: variable(
    'WEBHOOK_DISABLE_AFTER_MS',
    integer(86_400_000, 1_000, 30 * 86_400_000),
    'An endpoint whose every attempt failed for this long is disabled, with the reason (re-enable it with updateWebhookEndpoint).',
  ),
  maxEndpoints: variable('WEBHOOK_MAX_ENDPOINTS', integer(10, 1, 1_000), 'Webhook endpoints per tenant.'),
  allowPrivateTargets: variable(
    'WEBHOOK_ALLOW_PRIVATE_TARGETS',
    z.enum(['true', 'false']).optional(),
    'Webhook URLs may point at loopback, private, link-local (cloud metadata) and unique-local addresses. Default: true outside production, false in production (where webhook URLs must also be https).',
  ),
});

const sandboxes = section({
  sandboxFaults: variable(
    'SANDBOX_FAULTS',
    onOff('off'),
    "`on` enables the sandboxes' fault-injection endpoint (/__faults, loopback only).",
  ),
});

/** The variables of one provider: its base URL and test-mode flag, its credentials and its settings. */
function providerSection(definition: (typeof PROVIDER_REGISTRY)[number]) {
  const connection = section({
    baseUrl: variable(
      `${definition.envPrefix}_BASE_URL`,
      httpOrigin,
      `${definition.label} origin (live: ${definition.liveOrigin}). Unset: the built-in sandbox.`,
    ),
    testMode: variable(
      `${definition.envPrefix}_TEST_MODE`,
      flag,
      `\`true\` marks the ${definition.label} reached at ${definition.envPrefix}_BASE_URL as a test environment (a shared sandbox): its checkouts report \`testMode: true\`. The built-in sandbox always does.`,
    ),
  });
  return {
    definition,
    connection,
    credentials: section(definition.credentials as Spec),
    settings: section(definition.settings),
  };
}

const PROVIDER_SECTIONS = PROVIDER_REGISTRY.map(providerSection);

const SECTIONS: Section<Spec>[] = [
  server,
  storage,
  auth,
  polling,
  providerCalls,
  lifecycle,
  limits,
  connections,
  variableLimits,
  tracing,
  webhooks,
  sandboxes,
  ...PROVIDER_SECTIONS.flatMap((provider) => [provider.connection, provider.credentials, provider.settings]),
];

/** Every variable, by name. */
const VARIABLES: ReadonlyMap<string, Variable> = new Map(
  SECTIONS.flatMap((s) => Object.values(s.spec)).map((v) => [v.env, v]),
);

/** The schema of the environment: one entry per variable (with its description). */
export const envSchema = z.object(Object.assign({}, ...SECTIONS.map((s) => s.shape)) as Record<string, z.ZodType>);

type Env = Readonly<Record<string, unknown>>;

/** Checks between variables, reported at the variable to change. */
function checkTogether(env: Env, ctx: z.RefinementCtx): void {
  const fail = (name: string, message: string) => ctx.addIssue({ code: 'custom', path: [name], message });
  for (const provider of PROVIDER_SECTIONS) {
    const baseUrl = provider.connection.spec.baseUrl.env;
    if (env[baseUrl] === undefined) continue;
    for (const credential of Object.values(provider.credentials.spec)) {
      if (env[credential.env] === undefined) fail(credential.env, `is required when ${baseUrl} is set`);
    }
  }
  const apiKeys = env.API_KEYS as Map<string, string> | undefined;
  if (env.NODE_ENV === 'production' && (apiKeys === undefined || apiKeys.size === 0))
    fail('API_KEYS', 'is required when NODE_ENV is production');
  if ((env.POLL_MAX_INTERVAL_MS as number) < (env.POLL_INTERVAL_MS as number))
    fail('POLL_MAX_INTERVAL_MS', 'must be at least POLL_INTERVAL_MS');
  // node:http refuses a headers timeout longer than the request timeout.
  if ((env.HTTP_REQUEST_TIMEOUT_MS as number) < (env.HTTP_HEADERS_TIMEOUT_MS as number))
    fail('HTTP_REQUEST_TIMEOUT_MS', 'must be at least HTTP_HEADERS_TIMEOUT_MS');
}

/** One provider's settings; credentials left unset are the sandbox's. */
function providerConfig(provider: (typeof PROVIDER_SECTIONS)[number], env: Env): ProviderConfig {
  const { baseUrl, testMode } = provider.connection.read(env);
  const given = provider.credentials.read(env) as Record<string, string | undefined>;
  const credentials: Record<string, string> = Object.fromEntries(
    Object.entries(provider.definition.sandboxCredentials as Record<string, string>).map(([name, fallback]) => [
      name,
      given[name] ?? fallback,
    ]),
  );
  return { baseUrl, testMode, credentials, settings: provider.settings.read(env) };
}

/** Webhook delivery settings; private targets (and http) are allowed outside production unless set. */
function webhookConfig(env: Env, production: boolean) {
  const { allowPrivateTargets, ...rest } = webhooks.read(env);
  return {
    ...rest,
    allowPrivateTargets: allowPrivateTargets === undefined ? !production : allowPrivateTargets === 'true',
    /** Targets must be https (production). */
    requireHttps: production,
  };
}

/** The configuration the sections make of a valid environment. */
function build(env: Env) {
  const { corsOrigins, introspection, graphiql, host, ...rest } = server.read(env);
  const production = rest.nodeEnv === 'production';
  const otel = tracing.read(env);
  const keys = auth.read(env);
  return {
    ...rest,
    /** Loopback unless told otherwise; every interface by default only when keys are required. */
    host: host ?? (keys.apiKeys === undefined ? '127.0.0.1' : '0.0.0.0'),
    ...storage.read(env),
    ...keys,
    ...polling.read(env),
    ...providerCalls.read(env),
    ...lifecycle.read(env),
    ...sandboxes.read(env),
    /** Limits applied identically over HTTP and WebSocket. */
    limits: limits.read(env),
    /** Connection limits and HTTP timeouts; `maxConnections` undefined: derived from the open-file limit at start. */
    connections: connections.read(env),
    /** Bounds of variables and extensions, checked on the raw JSON of every transport. */
    variableLimits: variableLimits.read(env),
    webhooks: webhookConfig(env, production),
    /** Origins allowed by CORS; `*` for any. */
    corsOrigins: corsOrigins
      ? corsOrigins
          .split(',')
          .map((origin) => origin.trim())
          .filter(Boolean)
      : production
        ? []
        : ['*'],
    introspection: introspection ? introspection === 'on' : !production,
    graphiql: graphiql ? graphiql === 'on' : !production,
    /** OpenTelemetry tracing of GraphQL operations; undefined when no collector is configured. */
    tracing: otel.endpoint ? { endpoint: otel.endpoint, serviceName: otel.serviceName } : undefined,
    /** Each provider's settings, by name. A provider whose `baseUrl` is unset is served by its built-in sandbox. */
    providers: Object.fromEntries(
      PROVIDER_SECTIONS.map((provider) => [provider.definition.name, providerConfig(provider, env)]),
    ) as Record<ProviderName, ProviderConfig>,
  };
}

const configSchema = envSchema.superRefine(checkTogether).transform(build);

/** The validated runtime configuration. */
export type AppConfig = z.output<typeof configSchema>;

/** A configuration problem, with one line that names the variable. */
export class ConfigError extends Error {}

/**
 * Reads and validates the environment. Throws ConfigError whose message is one line naming the
 * first bad variable (never its value when it is a secret).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? 'environment');
  const raw = env[name];
  const shown = raw === undefined || VARIABLES.get(name)?.secret !== false ? '' : ` (got ${JSON.stringify(raw)})`;
  throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${shown}`);
}

/** The variables whose values are secrets (never echoed, never logged). */
export function secretVariables(): string[] {
  return [...VARIABLES.values()].filter((v) => v.secret).map((v) => v.env);
}

function parseApiKeys(value: string, ctx: z.RefinementCtx): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [index, pair] of value.split(',').entries()) {
    const separator = pair.indexOf(':');
    const tenant = pair.slice(0, separator).trim();
    const key = pair.slice(separator + 1).trim();
    if (separator < 1 || !/^[A-Za-z0-9_-]{1,64}$/.test(tenant) || key.length < 8) {
      // The key itself is never echoed: only the position of the bad pair.
      ctx.addIssue({
        code: 'custom',
        message: `pair ${index + 1} must be tenant:key (tenant [A-Za-z0-9_-], key at least 8 characters)`,
      });
      continue;
    }
    if (keys.has(key))
      ctx.addIssue({ code: 'custom', message: `pair ${index + 1} repeats a key already given to another tenant` });
    keys.set(key, tenant);
  }
  return keys;
}
