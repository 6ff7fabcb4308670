import { createHash, timingSafeEqual } from 'node:crypto';
import { createGraphQLError } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { ApiKeyRepository, ApiKeyScope } from '../db/api-keys.js';

/** The tenant every keyless request belongs to when no API keys are configured (outside production). */
const SANDBOX_TENANT = 'sandbox';

/** Who is calling: the tenant whose data it sees, and what its key may do. */
export interface Principal {
  tenant: string;
  scope: ApiKeyScope;
  /** Identifies the key without revealing it (a hash prefix); null for keyless sandbox callers. */
  keyId: string | null;
}

/** Where keys come from and whether one is required. */
export interface AuthenticatorOptions {
  /** `API_KEYS` from the environment (key -> tenant), scope `write`: the bootstrap keys. */
  bootstrapKeys?: ReadonlyMap<string, string>;
  /** Keys created with `npm run apikey`, stored as hashes. */
  store?: ApiKeyRepository;
  /** When false (no API_KEYS, outside production) a request without a key is tenant `sandbox`. */
  requireKey: boolean;
  /** How long a looked-up key is remembered; a revocation takes effect within this time. */
  cacheMs?: number;
}

const MAX_CACHED_KEYS = 10_000;

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Bootstrap keys are compared as SHA-256
 * digests in constant time; stored keys are found by their hash, so no key is ever stored in clear
 * (a presented key stays in this process's memory for `cacheMs` only).
 */
export class ApiKeyAuthenticator {
  private readonly bootstrap: { digest: Buffer; tenant: string }[];
  /** Keys presented in the last `cacheMs`, as sent: bounded, so random keys cannot grow it. */
  private readonly recent: LRUCache<string, { principal: Principal | null }>;

  constructor(private readonly options: AuthenticatorOptions) {
    this.bootstrap = [...(options.bootstrapKeys ?? [])].map(([key, tenant]) => ({ digest: sha256(key), tenant }));
    this.recent = new LRUCache({ max: MAX_CACHED_KEYS, ttl: options.cacheMs ?? 5_000 });
  }

  /** False when keyless requests are accepted as tenant `sandbox`. */
  get requiresKey(): boolean {
    return this.options.requireKey;
  }

  /** The caller, or a 401 GraphQL error (never a stack trace, never the key). */
  async authenticate(authorization: string | null): Promise<Principal> {
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    const principal = match ? await this.recognise(match[1]!) : null;
    if (principal) return principal;
    // Open access (no API_KEYS, outside production): every other request is tenant `sandbox`.
    if (!this.options.requireKey) return { tenant: SANDBOX_TENANT, scope: 'write', keyId: null };
    throw unauthenticated(match ? 'Invalid API key' : 'Missing API key: send `Authorization: Bearer <key>`');
  }

  /**
   * The principal of a key presented in the last `cacheMs`, or a fresh look-up: a client sends the
   * same key with every request, and hashing it (and for stored keys, finding the hash) each time
   * is the largest part of authenticating. A revocation still takes effect within `cacheMs`.
   */
  private async recognise(key: string): Promise<Principal | null> {
    const recent = this.recent.get(key);
    if (recent) return recent.principal;
    const principal = await this.lookUp(key);
    this.recent.set(key, { principal });
    return principal;
  }

  private async lookUp(key: string): Promise<Principal | null> {
    const presented = sha256(key);
    let tenant: string | undefined;
    for (const entry of this.bootstrap) {
      if (timingSafeEqual(entry.digest, presented)) tenant = entry.tenant;
    }
    if (tenant) return { tenant, scope: 'write', keyId: presented.toString('hex').slice(0, 16) };
    if (!this.options.store) return null;
    // hashApiKey's digest, already computed: stored keys are kept as its hex.
    const hash = presented.toString('hex');
    const row = await this.options.store.findActiveByHash(hash);
    return row ? { tenant: row.tenant, scope: row.scope as ApiKeyScope, keyId: hash.slice(0, 16) } : null;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function unauthenticated(message: string) {
  return createGraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}
