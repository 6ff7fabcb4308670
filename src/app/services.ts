import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AppConfig } from '../config/index.js';
import { ApiKeyRepository } from '../db/api-keys.js';
import { CheckoutRepository } from '../db/repository.js';
import { CheckoutQueries } from '../domain/checkout-queries.js';
import { WebhookRepository } from '../db/webhooks.js';
import { CheckoutService } from '../domain/checkout-service.js';
import { CheckoutLifecycle } from '../domain/lifecycle.js';
import { OperatorService } from '../domain/operator.js';
import { TrustedDocuments } from '../domain/trusted-documents.js';
import { DocumentManifestRepository } from '../db/trusted-documents.js';
import { schema } from '../schema/index.js';
import { DocumentGate, schemaDocumentChecker } from './trusted-documents.js';
import type { ProviderCatalog } from '../domain/ports.js';
import { ApiKeyAuthenticator } from '../http/auth.js';
import { OperationRateLimiter } from '../http/rate-limit.js';
import type { Logger } from '../logger.js';
import type { AppMetrics } from '../metrics.js';
import { createProviderCatalog, createResilience, hasStatusEndpoint } from '../providers/index.js';
import type { ProviderResilience } from '../providers/resilience.js';
import { CheckoutReadModel } from '../readmodel/checkout-read-model.js';
import { invalidatingStore } from '../readmodel/invalidating-store.js';
import { changePublisher } from '../realtime/pubsub.js';
import { ResyncTicker } from '../realtime/resync.js';
import { WebhookEndpoints } from '../webhooks/endpoints.js';
import { statusChangedPayload } from '../webhooks/events.js';
import { WebhookMetrics } from '../webhooks/metrics.js';
import { wakingStore } from '../webhooks/waking-store.js';
import { ExpirySweep } from '../workers/expiry.js';
import { Maintenance } from '../workers/maintenance.js';
import { Poller } from '../workers/poller.js';
import { WebhookDispatcher } from '../workers/webhook-dispatcher.js';
import type { AppResources } from './resources.js';

/** How long the read model serves an entry when other processes' writes are not announced (PostgreSQL without Redis). */
const UNANNOUNCED_WRITES_TTL_MS = 1_000;

/** The app's parts between the resources and the transports: domain, providers, auth and workers. */
export interface AppServices {
  repository: CheckoutRepository;
  /** The reads of checkouts the read model does not answer (pages, fresh states). */
  queries: CheckoutQueries;
  /** Checkout aggregates in memory, for reads. */
  readModel: CheckoutReadModel;
  /** When open status streams re-read their checkout. */
  resync: ResyncTicker;
  providers: ProviderCatalog;
  resilience: Record<string, ProviderResilience>;
  lifecycle: CheckoutLifecycle;
  checkouts: CheckoutService;
  authenticator: ApiKeyAuthenticator;
  /** API keys and resolutions, for the operator fields. */
  operator: OperatorService;
  /** Published manifests of trusted documents. */
  documents: TrustedDocuments;
  /** Which document each operation runs (TRUSTED_DOCUMENTS), on every transport. */
  documentGate: DocumentGate;
  /**
   * The operator credential this server made for its run, written into the data folder's lock file
   * for the commands that find the folder held (embedded database only).
   */
  operatorRunKey: string | undefined;
  rateLimiter: OperationRateLimiter;
  /** This instance's id in poll leases. */
  instanceId: string;
  poller: Poller;
  maintenance: Maintenance;
  expiry: ExpirySweep;
  /** Webhook endpoints and deliveries, as the GraphQL layer manages them. */
  webhooks: WebhookEndpoints;
  /** Sends the webhook outbox (started with the other workers). */
  webhookDispatcher: WebhookDispatcher;
}

/** Wires the domain to its adapters: the repository, the providers, the publisher, and the workers around them. */
export function createServices(
  config: AppConfig,
  resources: AppResources,
  logger: Logger,
  metrics: AppMetrics,
): AppServices {
  const repository = new CheckoutRepository(resources.database.db, statusChangedPayload);
  const instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const sharedBus = resources.bus.kind === 'redis';
  // With PostgreSQL but no Redis, nothing announces writes of other processes (one instance, but
  // `checkout:resolve` may write): entries then live one second, so such a write shows within it.
  const unannouncedWrites = config.databaseUrl !== undefined && !sharedBus;
  const readModel = new CheckoutReadModel(repository, {
    maxEntries: config.readModelMaxEntries,
    ...(unannouncedWrites && { ttlMs: UNANNOUNCED_WRITES_TTL_MS }),
    counters: {
      lookup: (outcome, count) => metrics.readModelLookups.inc({ outcome }, count),
      evicted: (reason, count) => metrics.readModelEvictions.inc({ reason }, count),
    },
  });
  const webhookDispatcher = createWebhookDispatcher(config, resources, logger, metrics, instanceId);
  const webhooks = new WebhookEndpoints(webhookDispatcher.repository, {
    policy: webhookPolicy(config),
    maxEndpoints: config.webhooks.maxEndpoints,
    onDue: () => webhookDispatcher.wake(),
  });
  const store = wakingStore(
    invalidatingStore(repository, {
      readModel,
      bus: sharedBus ? resources.bus.pubsub : undefined,
      origin: instanceId,
    }),
    () => webhookDispatcher.wake(),
  );
  const providerLogger = logger.child({ component: 'provider' });
  const resilience = createResilience(config, (provider, method, outcome, seconds, requestId) => {
    metrics.providerLatency.observe({ provider, method, outcome }, seconds);
    // One line per provider call, carrying the id of the request (or poll) that made it.
    providerLogger.info(
      { requestId, provider, method, outcome, durationMs: Math.round(seconds * 1000) },
      'provider call',
    );
  });
  const providers = createProviderCatalog(config, resources.sandboxes.urls, resilience);
  const lifecycle = new CheckoutLifecycle({
    store,
    publisher: changePublisher(resources.bus.pubsub),
    isPolled: hasStatusEndpoint,
    logger: logger.child({ component: 'lifecycle' }),
    metrics,
  });
  const checkouts = new CheckoutService({
    store,
    providers,
    lifecycle,
    pollIntervalMs: config.pollIntervalMs,
    logger,
  });
  const access = createAccess(config, resources, repository, lifecycle);
  return {
    ...createTrustedDocuments(config, resources),
    repository,
    queries: new CheckoutQueries(repository),
    readModel,
    resync: new ResyncTicker(resources.bus, config.subscriptionResyncMs),
    providers,
    resilience,
    lifecycle,
    checkouts,
    ...access,
    rateLimiter: new OperationRateLimiter({ perMinute: config.limits.ratePerMinute, redis: resources.bus.redis }),
    instanceId,
    poller: new Poller(repository, checkouts, lifecycle, logger.child({ component: 'poller', instanceId }), {
      instanceId,
      intervalMs: config.pollIntervalMs,
      maxIntervalMs: config.pollMaxIntervalMs,
      maxAnswerErrors: config.pollMaxAnswerErrors,
      concurrency: config.pollConcurrency,
      leaseMs: config.providerTimeoutMs + 5_000,
      metrics,
    }),
    maintenance: new Maintenance(repository, lifecycle, logger.child({ component: 'maintenance' }), {
      pendingGraceMs: config.pendingGraceMs,
      idempotencyKeyTtlHours: config.idempotencyKeyTtlHours,
    }),
    expiry: new ExpirySweep(repository, lifecycle, logger.child({ component: 'expiry' }), {
      openTtlSeconds: config.checkoutOpenTtlSeconds,
    }),
    webhooks,
    webhookDispatcher,
  };
}

/**
 * Who may call: tenants' keys (API_KEYS and stored keys) and operators, and the operator service.
 * Only a server holding a data folder on disk makes a credential for its run: the commands run
 * beside it find it in the folder's lock file.
 */
function createAccess(
  config: AppConfig,
  resources: AppResources,
  repository: CheckoutRepository,
  lifecycle: CheckoutLifecycle,
): Pick<AppServices, 'authenticator' | 'operator' | 'operatorRunKey'> {
  const apiKeys = new ApiKeyRepository(resources.database.db);
  const operatorRunKey = resources.database.dataDirLock ? `cgop_${randomBytes(32).toString('base64url')}` : undefined;
  const authenticator = new ApiKeyAuthenticator({
    bootstrapKeys: config.apiKeys,
    store: apiKeys,
    requireKey: config.apiKeys !== undefined || config.nodeEnv === 'production',
    operatorKeys: [config.operatorKey, operatorRunKey].filter((key): key is string => key !== undefined),
    operatorAllowRemote: config.operatorAllowRemote,
  });
  const operator = new OperatorService({
    apiKeys,
    findCheckout: (id) => repository.findAnyById(id),
    lifecycle,
    isPolled: hasStatusEndpoint,
    // Revoked keys are refused by this instance at once; others forget cached keys within 5 s.
    onKeyRevoked: () => authenticator.forgetRecentKeys(),
  });
  return { authenticator, operator, operatorRunKey };
}

/** Published manifests, and the gate that serves them by hash on every transport (TRUSTED_DOCUMENTS). */
function createTrustedDocuments(
  config: AppConfig,
  resources: AppResources,
): Pick<AppServices, 'documents' | 'documentGate'> {
  let documentGate: DocumentGate | undefined;
  const documents = new TrustedDocuments({
    store: new DocumentManifestRepository(resources.database.db),
    check: schemaDocumentChecker(schema),
    // This instance serves a publication or retirement from the next request on; others within 5 s.
    onChange: () => documentGate?.forget(),
  });
  documentGate = new DocumentGate(config.trustedDocuments, documents);
  return { documents, documentGate };
}

/** Which webhook targets are allowed (production: https and public addresses only, unless configured). */
function webhookPolicy(config: AppConfig) {
  return { requireHttps: config.webhooks.requireHttps, allowPrivate: config.webhooks.allowPrivateTargets };
}

/** The webhook dispatcher of this instance, its metrics on the app's registry. */
function createWebhookDispatcher(
  config: AppConfig,
  resources: AppResources,
  logger: Logger,
  metrics: AppMetrics,
  instanceId: string,
): WebhookDispatcher {
  const repository = new WebhookRepository(resources.database.db);
  const webhookMetrics = new WebhookMetrics(metrics.registry);
  webhookMetrics.bindBacklog(() => repository.backlog());
  return new WebhookDispatcher(repository, logger.child({ component: 'webhooks', instanceId }), {
    instanceId,
    retryBaseMs: config.webhooks.retryBaseMs,
    maxAttempts: config.webhooks.maxAttempts,
    timeoutMs: config.webhooks.timeoutMs,
    disableAfterMs: config.webhooks.disableAfterMs,
    policy: webhookPolicy(config),
    metrics: webhookMetrics,
  });
}
