import { createHash, timingSafeEqual } from 'node:crypto';
import { createGraphQLError } from 'graphql-yoga';

/** The tenant every request belongs to when no API keys are configured (outside production). */
export const SANDBOX_TENANT = 'sandbox';

/**
 * Resolves `Authorization: Bearer <key>` to a tenant. Keys are compared as SHA-256 digests in
 * constant time, so neither a lookup nor its timing depends on how much of a key matched.
 */
export class ApiKeyAuthenticator {
  private readonly digests: { digest: Buffer; tenant: string }[];

  /** `apiKeys` maps key -> tenant; undefined means open access as tenant `sandbox`. */
  constructor(apiKeys: ReadonlyMap<string, string> | undefined) {
    this.digests = apiKeys ? [...apiKeys].map(([key, tenant]) => ({ digest: sha256(key), tenant })) : [];
    this.open = apiKeys === undefined;
  }

  private readonly open: boolean;

  /** False when every request is tenant `sandbox` (no API keys configured). */
  get requiresKey(): boolean {
    return !this.open;
  }

  /** The caller's tenant, or a 401 GraphQL error (never a stack trace, never the key). */
  tenantFor(authorization: string | null): string {
    if (this.open) return SANDBOX_TENANT;
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) throw unauthenticated('Missing API key: send `Authorization: Bearer <key>`');
    const presented = sha256(match[1]!);
    let tenant: string | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, presented)) tenant = entry.tenant;
    }
    if (!tenant) throw unauthenticated('Invalid API key');
    return tenant;
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
