import { isTerminal, type CheckoutStatus, type ProviderName } from './checkout.js';
import { DomainError, NotFoundError, ValidationError } from './errors.js';
import type { CheckoutLifecycle } from './lifecycle.js';
import type { CheckoutRecord } from './records.js';

/**
 * What operators do beside the tenants' API: manage API keys and resolve checkouts whose outcome
 * only a person can find out. One service, called by the operator fields of the graph and by the
 * commands when they open the database themselves, so both paths make the same writes.
 */

/** What an API key may do: `read` queries and subscribes, `write` may also mutate. */
export type ApiKeyScope = 'read' | 'write';

/** A stored API key as operators see it (never the key, never its hash). */
export interface ApiKeyRecord {
  id: string;
  tenant: string;
  scope: ApiKeyScope;
  /** The key's first characters, to recognise it. */
  prefix: string;
  label: string | null;
  /**
   * May send any document while TRUSTED_DOCUMENTS=required, not only the published ones (for
   * operators' tools and GraphiQL); false for the keys apps ship with.
   */
  anyDocument: boolean;
  createdAt: Date;
  revokedAt: Date | null;
}

/** Where API keys are kept (implemented by db/api-keys.ts). */
export interface ApiKeyStore {
  /** Stores a new key for `tenant` and returns it: the only time the key itself is available. */
  create(
    tenant: string,
    scope: ApiKeyScope,
    label?: string | null,
    anyDocument?: boolean,
  ): Promise<{ key: string; record: ApiKeyRecord }>;
  /** Every key, oldest first, optionally of one tenant. */
  list(tenant?: string | null): Promise<ApiKeyRecord[]>;
  /** Revokes the active key with this id or prefix; undefined when there is none. */
  revoke(idOrPrefix: string): Promise<ApiKeyRecord | undefined>;
}

/** No active API key has this id or prefix. */
export class ApiKeyNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(readonly idOrPrefix: string) {
    super(`No active API key with id or prefix ${idOrPrefix}`);
  }
}

/** What an operator found out about a checkout. */
export interface Resolution {
  /** Row id of the checkout (any tenant's). */
  checkoutId: string;
  status: CheckoutStatus;
  /** Why, in words: required, it becomes the event's notes. */
  note: string;
  /** The provider's id, when the operator found it: a checkout that is not final is then polled. */
  providerCheckoutId?: string | null;
}

/** A resolution as recorded. */
export interface ResolvedCheckout {
  /** The status before. */
  previousStatus: CheckoutStatus;
  checkout: CheckoutRecord;
  /** True when the poller follows the checkout from now on. */
  followed: boolean;
}

/** What the operator service works with. */
export interface OperatorServiceOptions {
  apiKeys: ApiKeyStore;
  /** Finds a checkout of any tenant by row id. */
  findCheckout(id: string): Promise<CheckoutRecord | undefined>;
  lifecycle: CheckoutLifecycle;
  /** True for providers whose checkouts are polled (a documented status endpoint). */
  isPolled(provider: ProviderName): boolean;
  /** Told after a key was revoked, so that no cached look-up lets it in again. */
  onKeyRevoked?: (record: ApiKeyRecord) => void;
}

const TENANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_LABEL_CHARS = 200;
const MAX_NOTE_CHARS = 2_000;

/** API keys and operator resolutions. */
export class OperatorService {
  constructor(private readonly options: OperatorServiceOptions) {}

  /** Creates a key; it is usable at once, on every instance (they look unknown keys up in the store). */
  async createApiKey(input: {
    tenant: string;
    scope?: ApiKeyScope | null;
    label?: string | null;
    anyDocument?: boolean | null;
  }): Promise<{ key: string; record: ApiKeyRecord }> {
    const errors = [
      ...(TENANT_PATTERN.test(input.tenant)
        ? []
        : [{ path: ['input', 'tenant'], message: 'must be 1 to 64 characters of [A-Za-z0-9_-]' }]),
      ...((input.label?.length ?? 0) > MAX_LABEL_CHARS
        ? [{ path: ['input', 'label'], message: `must be at most ${MAX_LABEL_CHARS} characters` }]
        : []),
    ];
    if (errors.length > 0) throw new ValidationError(errors);
    return this.options.apiKeys.create(
      input.tenant,
      input.scope ?? 'write',
      input.label?.trim() || null,
      input.anyDocument ?? false,
    );
  }

  listApiKeys(tenant?: string | null): Promise<ApiKeyRecord[]> {
    return this.options.apiKeys.list(tenant);
  }

  /** Revokes a key by id or prefix; the instance that revokes it refuses it from the next request on. */
  async revokeApiKey(idOrPrefix: string): Promise<ApiKeyRecord> {
    const revoked = await this.options.apiKeys.revoke(idOrPrefix.trim());
    if (!revoked) throw new ApiKeyNotFoundError(idOrPrefix);
    this.options.onKeyRevoked?.(revoked);
    return revoked;
  }

  /**
   * Records what an operator found out at the provider, as an event with source `operator` (which
   * may leave a final status). With a provider checkout id and a status that is not final, the
   * poller follows the checkout from then on.
   */
  async resolveCheckout(resolution: Resolution): Promise<ResolvedCheckout> {
    const note = resolution.note.trim();
    if (note === '' || note.length > MAX_NOTE_CHARS)
      throw new ValidationError([
        { path: ['input', 'note'], message: `must say why, in 1 to ${MAX_NOTE_CHARS} characters` },
      ]);
    const row = await this.options.findCheckout(resolution.checkoutId);
    if (!row) throw new NotFoundError(resolution.checkoutId);
    const providerCheckoutId = resolution.providerCheckoutId ?? row.providerCheckoutId;
    const followed =
      this.options.isPolled(row.provider) && Boolean(providerCheckoutId) && !isTerminal(resolution.status);
    const checkout = await this.options.lifecycle.recordOutcome(
      row,
      { status: resolution.status, note, providerCheckoutId: resolution.providerCheckoutId ?? undefined },
      'operator',
    );
    return { previousStatus: row.status, checkout, followed };
  }
}
