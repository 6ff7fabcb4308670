import { z } from 'zod';
import { isCurrency } from './domain/money.js';

const SECRET_VARIABLES = new Set([
  'API_KEYS',
  'SMARTCHECKOUT_API_KEY',
  'PAYERVAULT_ACCESS_KEY',
  'PAYERVAULT_ACCESS_SECRET',
  'STAN_CLIENT_ID',
  'STAN_CLIENT_SECRET',
  'DATABASE_URL',
  'REDIS_URL',
]);

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const httpOrigin = optionalString.refine(
  (value) => value === undefined || /^https?:\/\/[^/?#\s]+\/?$/.test(value),
  'must be an http(s) origin such as https://api.example.com (no path)',
);

/** `true` or `false`, default false: a test-environment flag. */
const flag = z.enum(['true', 'false']).default('false').transform((value) => value === 'true');

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .trim()
    .default(String(fallback))
    .refine((value) => /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max, `must be an integer from ${min} to ${max}`)
    .transform(Number);

/**
 * Every environment variable the API reads, in one place. `.describe()` is the documentation;
 * README's configuration table is written from it.
 */
export const envSchema = z.object({
  PORT: integer(4000, 0, 65535).describe('HTTP port of the API (GraphQL, GraphiQL, /health).'),
  HOST: z.string().trim().min(1).default('0.0.0.0').describe('Interface the API listens on.'),
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development').describe('`production` requires API_KEYS.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  DATA_DIR: z.string().trim().min(1).default('.data').describe('PGlite data folder used when DATABASE_URL is not set (`memory://` keeps it in memory).'),
  DATABASE_URL: optionalString
    .refine((value) => value === undefined || /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL')
    .describe('PostgreSQL connection string; when set, PostgreSQL replaces the embedded PGlite.'),
  REDIS_URL: optionalString
    .refine((value) => value === undefined || /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL')
    .describe('Redis for pub/sub between instances (used by live status).'),
  API_KEYS: optionalString
    .transform((value, ctx) => (value === undefined ? undefined : parseApiKeys(value, ctx)))
    .describe('Comma-separated `tenant:key` pairs. Clients send `Authorization: Bearer <key>`. Without it (outside production) every request is tenant `sandbox`.'),
  POLL_INTERVAL_MS: integer(1000, 50, 3_600_000).describe('First interval between status polls of a processing checkout.'),
  POLL_MAX_INTERVAL_MS: integer(30_000, 50, 86_400_000).describe('Longest interval between status polls (backoff cap).'),
  POLL_MAX_ANSWER_ERRORS: integer(10, 1, 1_000).describe(
    'Polls in a row answered with something asking again cannot fix (a 404, a body that cannot be read) after which a checkout becomes UNKNOWN and polling stops. Timeouts, 5xx, 429 and 401/403 never count.',
  ),
  CHECKOUT_OPEN_TTL_SECONDS: integer(86_400, 1, 365 * 86_400).describe(
    'An OPEN checkout (PayerVault link, Stan session) with no outcome this many seconds after creation becomes EXPIRED.',
  ),
  POLL_CONCURRENCY: integer(32, 1, 1_000).describe('Status polls (provider GETs) in flight at once per instance.'),
  POLLER: z
    .enum(['on', 'off'])
    .default('on')
    .describe('`off` runs an API-only instance that serves subscriptions but polls no provider.'),
  PROVIDER_TIMEOUT_MS: integer(10_000, 100, 120_000).describe('Time budget of one provider HTTP request, connect to last byte.'),
  PROVIDER_CONNECT_TIMEOUT_MS: integer(3_000, 50, 120_000).describe('Time budget of the connection to a provider.'),
  PROVIDER_GET_RETRIES: integer(2, 0, 10).describe('Retries of a failed safe (GET) provider request, with jittered exponential backoff. POSTs are never retried.'),
  PROVIDER_BREAKER_THRESHOLD: integer(5, 1, 1_000_000).describe('Consecutive provider failures that open its circuit breaker.'),
  PROVIDER_BREAKER_HALF_OPEN_MS: integer(10_000, 100, 3_600_000).describe('How long an open breaker fails calls fast before letting one probe through.'),
  IDEMPOTENCY_KEY_TTL_HOURS: integer(24, 24, 24 * 365).describe('How long idempotency keys are kept (at least 24 hours) before they are pruned.'),
  PENDING_GRACE_MS: integer(120_000, 1_000, 86_400_000).describe('A checkout still PENDING this long after creation (its create call died with a crash) becomes UNKNOWN.'),
  LIMIT_MAX_DEPTH: integer(10, 1, 100).describe('Deepest selection a GraphQL operation may have.'),
  LIMIT_MAX_ALIASES: integer(30, 0, 1_000).describe('Most aliases in one operation.'),
  LIMIT_MAX_TOKENS: integer(3_000, 100, 100_000).describe('Most lexical tokens in one document.'),
  LIMIT_MAX_DIRECTIVES: integer(20, 0, 1_000).describe('Most directives in one operation.'),
  LIMIT_MAX_COST: integer(5_000, 100, 1_000_000).describe('Highest computed cost of one operation (graphql-armor: object 2, scalar 1, depth factor 1.5).'),
  LIMIT_MAX_QUERY_CHARS: integer(20_000, 100, 1_000_000).describe('Longest GraphQL document, in characters.'),
  LIMIT_MAX_BODY_BYTES: integer(1_048_576, 1_024, 16_777_216).describe('Largest HTTP request body; larger answers 413.'),
  LIMIT_WS_MAX_SUBSCRIPTIONS: integer(100, 1, 10_000).describe('Most operations at once on one WebSocket connection.'),
  RATE_LIMIT_PER_MINUTE: integer(600, 1, 1_000_000).describe('GraphQL operations per API key (or per client address without a key) per minute, per instance.'),
  CORS_ORIGINS: optionalString.describe('Comma-separated origins allowed by CORS, e.g. https://shop.example. Unset: any origin outside production, none in production.'),
  INTROSPECTION: z.enum(['on', 'off']).optional().describe('Schema introspection. Default: on outside production, off in production.'),
  GRAPHIQL: z.enum(['on', 'off']).optional().describe('GraphiQL at /graphql. Default: on outside production, off in production.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString
    .refine((value) => value === undefined || /^https?:\/\/[^\s]+$/.test(value), 'must be an http(s) URL such as http://otel-collector:4318')
    .describe('OTLP/HTTP collector base URL; set, each GraphQL operation is traced (spans sent to <url>/v1/traces). Unset: no tracing.'),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('checkout-graph').describe('service.name of the traces.'),
  SANDBOX_FAULTS: z.enum(['on', 'off']).default('off').describe('`on` enables the sandboxes\' fault-injection endpoint (/__faults, loopback only).'),
  SMARTCHECKOUT_BASE_URL: httpOrigin.describe('Smartcheckout origin (live: https://api.smartcheckout.dev). Unset: the built-in sandbox.'),
  SMARTCHECKOUT_API_KEY: optionalString.describe('Smartcheckout API key (Bearer). Required with SMARTCHECKOUT_BASE_URL.'),
  SMARTCHECKOUT_TEST_MODE: flag.describe('`true` marks the Smartcheckout reached at SMARTCHECKOUT_BASE_URL as a test environment (a shared sandbox): its checkouts report `testMode: true`. The built-in sandbox always does.'),
  PAYERVAULT_BASE_URL: httpOrigin.describe('PayerVault origin (live: https://merchant.payervault.com). Unset: the built-in sandbox.'),
  PAYERVAULT_ACCESS_KEY: optionalString.describe('PayerVault `accessKey` header. Required with PAYERVAULT_BASE_URL.'),
  PAYERVAULT_ACCESS_SECRET: optionalString.describe('PayerVault `accessSecret` header. Required with PAYERVAULT_BASE_URL.'),
  PAYERVAULT_TEST_MODE: flag.describe('`true` marks the PayerVault reached at PAYERVAULT_BASE_URL as a test environment: its checkouts report `testMode: true`.'),
  STAN_BASE_URL: httpOrigin.describe('Stan origin (live: https://api.stan-app.fr). Unset: the built-in sandbox.'),
  STAN_CLIENT_ID: optionalString.describe('Stan client id (Basic auth user). Required with STAN_BASE_URL.'),
  STAN_CLIENT_SECRET: optionalString.describe('Stan client secret (Basic auth password). Required with STAN_BASE_URL.'),
  STAN_TEST_MODE: flag.describe('`true` marks every Stan checkout as test mode, whatever Stan\'s `is_testmode` says (a shared sandbox or a test account).'),
  STAN_CURRENCY: z
    .string()
    .trim()
    .default('EUR')
    .refine(isCurrency, 'must be an ISO 4217 currency code with a minor unit, such as EUR')
    .transform((value) => value.toUpperCase())
    .describe('Currency of Stan amounts (Stan amounts carry none).'),
});

function parseApiKeys(value: string, ctx: z.RefinementCtx): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [index, pair] of value.split(',').entries()) {
    const separator = pair.indexOf(':');
    const tenant = pair.slice(0, separator).trim();
    const key = pair.slice(separator + 1).trim();
    if (separator < 1 || !/^[A-Za-z0-9_-]{1,64}$/.test(tenant) || key.length < 8) {
      // The key itself is never echoed: only the position of the bad pair.
      ctx.addIssue({ code: 'custom', message: `pair ${index + 1} must be tenant:key (tenant [A-Za-z0-9_-], key at least 8 characters)` });
      continue;
    }
    if (keys.has(key)) ctx.addIssue({ code: 'custom', message: `pair ${index + 1} repeats a key already given to another tenant` });
    keys.set(key, tenant);
  }
  return keys;
}

/** Credentials used for a built-in sandbox when the provider's real credentials are not configured. */
export const SANDBOX_CREDENTIALS = {
  smartcheckoutApiKey: 'sandbox-smartcheckout-key',
  payervaultAccessKey: 'sandbox-access-key',
  payervaultAccessSecret: 'sandbox-access-secret',
  stanClientId: 'sandbox-client-id',
  stanClientSecret: 'sandbox-client-secret',
} as const;

/** The validated runtime configuration. */
export interface AppConfig {
  port: number;
  host: string;
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  dataDir: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** API key -> tenant. `undefined` means open access as tenant `sandbox` (refused in production). */
  apiKeys?: ReadonlyMap<string, string>;
  pollIntervalMs: number;
  pollMaxIntervalMs: number;
  /** Status polls in flight at once in this instance. */
  pollConcurrency: number;
  /** Unusable poll answers in a row before a checkout becomes UNKNOWN. */
  pollMaxAnswerErrors: number;
  /** Seconds after creation at which an OPEN checkout becomes EXPIRED. */
  checkoutOpenTtlSeconds: number;
  /** Whether this instance runs the shared status poller. */
  poller: boolean;
  providerTimeoutMs: number;
  providerConnectTimeoutMs: number;
  providerGetRetries: number;
  providerBreakerThreshold: number;
  providerBreakerHalfOpenMs: number;
  idempotencyKeyTtlHours: number;
  pendingGraceMs: number;
  /** Whether the built-in sandboxes accept fault injection. */
  sandboxFaults: boolean;
  /** Limits applied identically over HTTP and WebSocket. */
  limits: {
    maxDepth: number;
    maxAliases: number;
    maxTokens: number;
    maxDirectives: number;
    maxCost: number;
    maxQueryChars: number;
    maxBodyBytes: number;
    wsMaxSubscriptions: number;
    ratePerMinute: number;
  };
  /** Origins allowed by CORS; `*` for any. */
  corsOrigins: string[];
  introspection: boolean;
  graphiql: boolean;
  /** OpenTelemetry tracing of GraphQL operations; undefined when no collector is configured. */
  tracing?: { endpoint: string; serviceName: string };
  /** A provider whose `baseUrl` is undefined is served by its built-in sandbox. */
  /** `testMode`: the provider reached by URL is a test environment (the built-in sandbox always is). */
  smartcheckout: { baseUrl?: string; apiKey: string; testMode: boolean };
  payervault: { baseUrl?: string; accessKey: string; accessSecret: string; testMode: boolean };
  stan: { baseUrl?: string; clientId: string; clientSecret: string; currency: string; testMode: boolean };
}

/** A configuration problem, with one line that names the variable. */
export class ConfigError extends Error {}

/**
 * Reads and validates the environment. Throws ConfigError whose message is one line naming
 * the first bad variable (never its value when it is a secret).
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    const raw = env[name];
    const shown = raw === undefined || SECRET_VARIABLES.has(name) ? '' : ` (got ${JSON.stringify(raw)})`;
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}${shown}`);
  }
  const e = parsed.data;
  const requireWith = (base: string, names: string[]) => {
    for (const name of names) {
      if (e[base as keyof typeof e] !== undefined && e[name as keyof typeof e] === undefined) {
        throw new ConfigError(`Invalid configuration: ${name} is required when ${base} is set`);
      }
    }
  };
  requireWith('SMARTCHECKOUT_BASE_URL', ['SMARTCHECKOUT_API_KEY']);
  requireWith('PAYERVAULT_BASE_URL', ['PAYERVAULT_ACCESS_KEY', 'PAYERVAULT_ACCESS_SECRET']);
  requireWith('STAN_BASE_URL', ['STAN_CLIENT_ID', 'STAN_CLIENT_SECRET']);
  if (e.NODE_ENV === 'production' && (e.API_KEYS === undefined || e.API_KEYS.size === 0)) {
    throw new ConfigError('Invalid configuration: API_KEYS is required when NODE_ENV is production');
  }
  if (e.POLL_MAX_INTERVAL_MS < e.POLL_INTERVAL_MS) {
    throw new ConfigError('Invalid configuration: POLL_MAX_INTERVAL_MS must be at least POLL_INTERVAL_MS');
  }
  return {
    port: e.PORT,
    host: e.HOST,
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    apiKeys: e.API_KEYS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    pollMaxIntervalMs: e.POLL_MAX_INTERVAL_MS,
    pollConcurrency: e.POLL_CONCURRENCY,
    pollMaxAnswerErrors: e.POLL_MAX_ANSWER_ERRORS,
    checkoutOpenTtlSeconds: e.CHECKOUT_OPEN_TTL_SECONDS,
    poller: e.POLLER === 'on',
    providerTimeoutMs: e.PROVIDER_TIMEOUT_MS,
    providerConnectTimeoutMs: e.PROVIDER_CONNECT_TIMEOUT_MS,
    providerGetRetries: e.PROVIDER_GET_RETRIES,
    providerBreakerThreshold: e.PROVIDER_BREAKER_THRESHOLD,
    providerBreakerHalfOpenMs: e.PROVIDER_BREAKER_HALF_OPEN_MS,
    idempotencyKeyTtlHours: e.IDEMPOTENCY_KEY_TTL_HOURS,
    pendingGraceMs: e.PENDING_GRACE_MS,
    sandboxFaults: e.SANDBOX_FAULTS === 'on',
    limits: {
      maxDepth: e.LIMIT_MAX_DEPTH,
      maxAliases: e.LIMIT_MAX_ALIASES,
      maxTokens: e.LIMIT_MAX_TOKENS,
      maxDirectives: e.LIMIT_MAX_DIRECTIVES,
      maxCost: e.LIMIT_MAX_COST,
      maxQueryChars: e.LIMIT_MAX_QUERY_CHARS,
      maxBodyBytes: e.LIMIT_MAX_BODY_BYTES,
      wsMaxSubscriptions: e.LIMIT_WS_MAX_SUBSCRIPTIONS,
      ratePerMinute: e.RATE_LIMIT_PER_MINUTE,
    },
    corsOrigins: e.CORS_ORIGINS ? e.CORS_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean) : e.NODE_ENV === 'production' ? [] : ['*'],
    introspection: e.INTROSPECTION ? e.INTROSPECTION === 'on' : e.NODE_ENV !== 'production',
    graphiql: e.GRAPHIQL ? e.GRAPHIQL === 'on' : e.NODE_ENV !== 'production',
    tracing: e.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME } : undefined,
    smartcheckout: {
      baseUrl: e.SMARTCHECKOUT_BASE_URL,
      apiKey: e.SMARTCHECKOUT_API_KEY ?? SANDBOX_CREDENTIALS.smartcheckoutApiKey,
      testMode: e.SMARTCHECKOUT_TEST_MODE,
    },
    payervault: {
      baseUrl: e.PAYERVAULT_BASE_URL,
      accessKey: e.PAYERVAULT_ACCESS_KEY ?? SANDBOX_CREDENTIALS.payervaultAccessKey,
      accessSecret: e.PAYERVAULT_ACCESS_SECRET ?? SANDBOX_CREDENTIALS.payervaultAccessSecret,
      testMode: e.PAYERVAULT_TEST_MODE,
    },
    stan: {
      baseUrl: e.STAN_BASE_URL,
      clientId: e.STAN_CLIENT_ID ?? SANDBOX_CREDENTIALS.stanClientId,
      clientSecret: e.STAN_CLIENT_SECRET ?? SANDBOX_CREDENTIALS.stanClientSecret,
      currency: e.STAN_CURRENCY,
      testMode: e.STAN_TEST_MODE,
    },
  };
}
