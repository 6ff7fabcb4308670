import type { contextCacheSymbol } from '@pothos/core';
import type { CheckoutQueries } from './domain/checkout-queries.js';
import type { CheckoutService } from './domain/checkout-service.js';
import type { CheckoutLifecycle } from './domain/lifecycle.js';
import type { OperatorService } from './domain/operator.js';
import type { TrustedDocuments } from './domain/trusted-documents.js';
import type { PrincipalScope } from './http/auth.js';
import type { Logger } from './logger.js';
import type { CheckoutReadModel } from './readmodel/checkout-read-model.js';
import type { CheckoutPubSub } from './realtime/pubsub.js';
import type { WebhookEndpoints } from './webhooks/endpoints.js';

/** What every resolver of one operation sees. Built per request by the server. */
export interface Context {
  /**
   * Where Pothos keeps this operation's DataLoaders and other per-operation caches (its
   * `initContextCache()`; patched to hold them here rather than in WeakMaps, patches/README.md).
   */
  [contextCacheSymbol]: object;
  /** The tenant the caller's API key belongs to; every read and write is scoped to it. */
  tenant: string;
  /** What the caller's key may do: `read` (queries, subscriptions), `write` (also mutations) or `operator`. */
  scope: PrincipalScope;
  /** Correlates logs of one request; echoed in the `x-request-id` response header. */
  requestId: string;
  logger: Logger;
  /** Reads of checkouts that the read model does not answer (pages, fresh states). */
  queries: CheckoutQueries;
  /** Checkouts, line items, events and merchants, from memory when held. */
  reads: CheckoutReadModel;
  /** Calls `listener` when open status streams should re-read their checkout (see ResyncTicker); returns the unsubscribe. */
  onResync(listener: () => void): () => void;
  checkouts: CheckoutService;
  /** Outcomes recorded by the merchant, and every other change no provider call makes. */
  lifecycle: CheckoutLifecycle;
  /** Status changes, one topic per checkout (in memory or Redis). */
  pubsub: CheckoutPubSub;
  /** The tenant's webhook endpoints and their delivery log. */
  webhooks: WebhookEndpoints;
  /** API keys and operator resolutions (the operator fields; scope `operator` only). */
  operator: OperatorService;
  /** Published manifests of trusted documents (publish, list, retire). */
  documents: TrustedDocuments;
  /** Counts the status subscriptions being served (the open-subscriptions gauge on /metrics). */
  openSubscriptions: { inc(): void; dec(): void };
}
