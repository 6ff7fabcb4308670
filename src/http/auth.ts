import { createHash, timingSafeEqual } from 'node:crypto';
import { createGraphQLError } from 'graphql-yoga';
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';
import type { ApiKeyRepository } from '../db/api-keys.js';
import type { ApiKeyScope } from '../domain/operator.js';

/** The tenant every keyless request belongs to when no API keys are configured (outside production). */
const SANDBOX_TENANT = 'sandbox';

/**
 * The tenant of operator callers: not a valid tenant name (tenants are [A-Za-z0-9_-]), so an
 * operator credential sees no tenant's checkouts through the tenant fields.
 */
export const OPERATOR_TENANT = '@operator';

/** What a caller may do: `read`, `write` (also mutate), or `operator` (the operator fields only). */
export type PrincipalScope = ApiKeyScope | 'operator';

/** Who is calling: the tenant whose data it sees, and what its key may do. */
export interface Principal {
  tenant: string;
  scope: PrincipalScope;
  /** Identifies the key without revealing it (a hash prefix); null for keyless sandbox callers. */
  keyId: string | null;
  /**
   * May send any document while TRUSTED_DOCUMENTS=required: operators, and stored keys created
   * with the any-document scope (`npm run apikey -- create … --any-document`, for GraphiQL and
   * tools). Every other caller sends only the hashes of published documents then.
   */
  anyDocument: boolean;
}

/** Where keys come from and whether one is required. */
export interface AuthenticatorOptions {
  /** `API_KEYS` from the environment (key -> tenant), scope `write`: the bootstrap keys. */
  bootstrapKeys?: ReadonlyMap<string, string>;
  /** Keys created with `npm run apikey`, stored as hashes. */
  store?: ApiKeyRepository;
  /** When false (no API_KEYS, outside production) a request without a key is tenant `sandbox`. */
  requireKey: boolean;
  /** Credentials of operators (OPERATOR_KEY, and the key this server made for its run). */
  operatorKeys?: readonly string[];
  /** Accept operator credentials from any address; by default only from loopback. */
  operatorAllowRemote?: boolean;
  /** How long a looked-up key is remembered; a revocation takes effect within this time. */
  cacheMs?: number;
}

const MAX_CACHED_KEYS = 10_000;
/**
 * Longest key remembered as it was sent; a longer one (no key this API makes is near it) is
 * remembered by its SHA-256, so the remembered keys hold a few MB at most, whatever clients send.
 */
const MAX_CACHED_KEY_LENGTH = 256;

/**
 * Resolves `Authorization: Bearer <key>` to a principal. Bootstrap keys are compared as SHA-256
 * digests in constant time; stored keys are found by their hash, so no key is ever stored in clear
 * (a presented key stays in this process's memory for `cacheMs` only).
 */
export class ApiKeyAuthenticator {
  private readonly bootstrap: { digest: Buffer; tenant: string }[];
  private readonly operators: Buffer[];
  /** Keys presented in the last `cacheMs`, as sent: bounded, so random keys cannot grow it. */
  private readonly recent: LRUCache<string, { principal: Principal | null }>;

  constructor(private readonly options: AuthenticatorOptions) {
    this.bootstrap = [...(options.bootstrapKeys ?? [])].map(([key, tenant]) => ({ digest: sha256(key), tenant }));
    this.operators = (options.operatorKeys ?? []).map(sha256);
    this.recent = new LRUCache({ max: MAX_CACHED_KEYS, ttl: options.cacheMs ?? 5_000 });
  }

  /** False when keyless requests are accepted as tenant `sandbox`. */
  get requiresKey(): boolean {
    return this.options.requireKey;
  }

  /**
   * The caller, or a 401 GraphQL error (never a stack trace, never the key). A presented key that
   * matches nothing is refused in every mode: only a request with no key at all is tenant
   * `sandbox`, and only when keys are not required. `address` is the client's, for operator keys.
   */
  async authenticate(authorization: string | null, address?: string): Promise<Principal> {
    if (authorization === null || authorization.trim() === '') {
      if (!this.options.requireKey) return { tenant: SANDBOX_TENANT, scope: 'write', keyId: null, anyDocument: false };
      throw unauthenticated('Missing API key: send `Authorization: Bearer <key>`');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // Another scheme, or a bearer without a key: no key was presented where one was looked for.
    if (!match) throw unauthenticated('Missing API key: send `Authorization: Bearer <key>`');
    const principal = await this.recognise(match[1]!);
    if (!principal) throw unauthenticated('Invalid API key');
    if (principal.scope === 'operator' && !this.options.operatorAllowRemote && !isLoopback(address))
      throw unauthenticated('Operator credentials are accepted from this machine only (see OPERATOR_ALLOW_REMOTE)');
    return principal;
  }

  /** Forgets remembered look-ups, so that a revoked key is refused from the next request on. */
  forgetRecentKeys(): void {
    this.recent.clear();
  }

  /**
   * The principal of a key presented in the last `cacheMs`, or a fresh look-up: a client sends the
   * same key with every request, and hashing it (and for stored keys, finding the hash) each time
   * is the largest part of authenticating. A revocation still takes effect within `cacheMs`.
   */
  private async recognise(key: string): Promise<Principal | null> {
    // A key has no whitespace, so a digest with a leading space is never taken for one.
    const remembered = key.length > MAX_CACHED_KEY_LENGTH ? ` ${sha256(key).toString('hex')}` : key;
    const recent = this.recent.get(remembered);
    if (recent) return recent.principal;
    const principal = await this.lookUp(key);
    this.recent.set(remembered, { principal });
    return principal;
  }

  private async lookUp(key: string): Promise<Principal | null> {
    const presented = sha256(key);
    let operator = false;
    for (const digest of this.operators) if (timingSafeEqual(digest, presented)) operator = true;
    const keyId = presented.toString('hex').slice(0, 16);
    if (operator) return { tenant: OPERATOR_TENANT, scope: 'operator', keyId, anyDocument: true };
    let tenant: string | undefined;
    for (const entry of this.bootstrap) {
      if (timingSafeEqual(entry.digest, presented)) tenant = entry.tenant;
    }
    // API_KEYS are the apps' bootstrap keys: like the keys apps ship with, published documents only.
    if (tenant) return { tenant, scope: 'write', keyId, anyDocument: false };
    if (!this.options.store) return null;
    // hashApiKey's digest, already computed: stored keys are kept as its hex.
    const hash = presented.toString('hex');
    const row = await this.options.store.findActiveByHash(hash);
    return row
      ? { tenant: row.tenant, scope: row.scope as ApiKeyScope, keyId: hash.slice(0, 16), anyDocument: row.anyDocument }
      : null;
  }
}

/** True for loopback addresses (IPv4, IPv6 and IPv4-mapped IPv6); false when unknown. */
export function isLoopback(address: string | undefined): boolean {
  if (!address || !ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  return parsed.range() === 'loopback';
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function unauthenticated(message: string) {
  return createGraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}
