import { NotFoundError, ValidationError } from '../domain/errors.js';
import type {
  WebhookAttemptRecord,
  WebhookDeliveryPageRequest,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
  WebhookEndpointStore,
} from '../domain/ports.js';
import { newWebhookSecret } from './signing.js';
import { targetProblem, type TargetPolicy } from './targets.js';

/** How long a rotated-out secret still signs deliveries. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** Settings of endpoint management. */
export interface WebhookEndpointsOptions {
  policy: TargetPolicy;
  /** Endpoints per tenant. */
  maxEndpoints: number;
  /** Told when a delivery became due now (a redelivery), so the dispatcher looks at once. */
  onDue?: () => void;
}

/** A new endpoint as the caller asked for it (shape already checked by the input schema). */
export interface NewEndpointInput {
  url: string;
  description?: string | null;
  /** Internal event type names; absent for every type. */
  events?: string[] | null;
}

/** Changes to an endpoint; absent fields are kept. */
export interface EndpointUpdateInput {
  url?: string | null;
  description?: string | null;
  events?: string[] | null;
  enabled?: boolean | null;
}

/** A NotFoundError that names what was not found (the class's own message speaks of checkouts). */
export function notFound(what: 'webhook endpoint' | 'webhook delivery', id: string): NotFoundError {
  const error = new NotFoundError(id);
  error.message = `No ${what} with id ${id}`;
  return error;
}

/**
 * The tenant-facing rules of webhook endpoints: URLs checked against the target policy (resolving
 * their host), a cap per tenant, secrets made here and shown once, and redeliveries. The resolvers
 * read endpoints, deliveries and attempts through it too: they never hold the store.
 */
export class WebhookEndpoints {
  constructor(
    private readonly repository: WebhookEndpointStore,
    private readonly options: WebhookEndpointsOptions,
  ) {}

  /** The tenant's endpoints, oldest first. */
  list(tenant: string): Promise<WebhookEndpointRecord[]> {
    return this.repository.endpoints(tenant);
  }

  /** The tenant's endpoints among `ids` (others are not found). */
  byIds(tenant: string, ids: readonly string[]): Promise<WebhookEndpointRecord[]> {
    return this.repository.endpointsByIds(tenant, ids);
  }

  /** A page of an endpoint's deliveries, newest first. */
  deliveriesPage(endpointId: string, request: WebhookDeliveryPageRequest): Promise<WebhookDeliveryRecord[]> {
    return this.repository.deliveriesPage(endpointId, request);
  }

  /** The tenant's deliveries among `ids` (others are not found). */
  deliveriesByIds(tenant: string, ids: readonly string[]): Promise<WebhookDeliveryRecord[]> {
    return this.repository.deliveriesByIds(tenant, ids);
  }

  /** The attempts of these deliveries, oldest first. */
  attemptsOf(deliveryIds: readonly string[]): Promise<WebhookAttemptRecord[]> {
    return this.repository.attemptsOf(deliveryIds);
  }

  /** Creates an endpoint; resolves to it and its secret (shown this once). */
  async create(tenant: string, input: NewEndpointInput) {
    await this.checkUrl(input.url);
    if ((await this.repository.countEndpoints(tenant)) >= this.options.maxEndpoints) {
      throw new ValidationError([
        { path: ['input'], message: `a tenant may have at most ${this.options.maxEndpoints} webhook endpoints` },
      ]);
    }
    const secret = newWebhookSecret();
    const endpoint = await this.repository.createEndpoint({
      tenant,
      url: input.url,
      description: input.description ?? null,
      events: input.events ?? [],
      secret,
    });
    return { endpoint, secret };
  }

  /** Changes the tenant's endpoint; undefined when it is not theirs. */
  async update(tenant: string, id: string, input: EndpointUpdateInput) {
    if (input.url) await this.checkUrl(input.url);
    const updated = await this.repository.updateEndpoint(tenant, id, {
      ...(input.url && { url: input.url }),
      ...(input.description !== undefined && { description: input.description }),
      ...(input.events && { events: input.events }),
      ...(typeof input.enabled === 'boolean' && { enabled: input.enabled }),
    });
    return updated;
  }

  /** Deletes the tenant's endpoint; false when it is not theirs. */
  delete(tenant: string, id: string): Promise<boolean> {
    return this.repository.deleteEndpoint(tenant, id);
  }

  /** A new secret (shown this once); the old one keeps signing, next to it, for 24 hours. Undefined when not theirs. */
  async rotateSecret(tenant: string, id: string) {
    const secret = newWebhookSecret();
    const endpoint = await this.repository.rotateSecret(tenant, id, secret, SECRET_OVERLAP_MS);
    return endpoint && { endpoint, secret };
  }

  /** Makes the tenant's delivery due now for a new attempt; undefined when it is not theirs. */
  async redeliver(tenant: string, id: string) {
    const delivery = await this.repository.redeliver(tenant, id);
    if (delivery) this.options.onDue?.();
    return delivery;
  }

  private async checkUrl(url: string): Promise<void> {
    const problem = await targetProblem(url, this.options.policy);
    if (problem) throw new ValidationError([{ path: ['input', 'url'], message: problem }]);
  }
}
