import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '../domain/operator.js';
import type { Database } from './client.js';
import { apiKeys, type ApiKeyRow } from './schema.js';

export type { ApiKeyScope } from '../domain/operator.js';

/** SHA-256 of a key, hex: the only form in which keys are stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Stored API keys (created through the operator fields or `npm run apikey`; `API_KEYS` is separate). */
export class ApiKeyRepository implements ApiKeyStore {
  constructor(private readonly db: Database) {}

  async create(
    tenant: string,
    scope: ApiKeyScope,
    label?: string | null,
    anyDocument = false,
  ): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = `cg_${randomBytes(24).toString('base64url')}`;
    const [row] = await this.db
      .insert(apiKeys)
      .values({ tenant, scope, keyHash: hashApiKey(key), prefix: key.slice(0, 10), label: label ?? null, anyDocument })
      .returning();
    return { key, record: recordOf(row!) };
  }

  /** The active key with this hash, if any. */
  async findActiveByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
    return row;
  }

  async revoke(idOrPrefix: string): Promise<ApiKeyRecord | undefined> {
    const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
    const [revoked] = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(byId ? eq(apiKeys.id, idOrPrefix) : eq(apiKeys.prefix, idOrPrefix), isNull(apiKeys.revokedAt)))
      .returning();
    return revoked && recordOf(revoked);
  }

  async list(tenant?: string | null): Promise<ApiKeyRecord[]> {
    const rows = await this.db
      .select()
      .from(apiKeys)
      .where(tenant ? eq(apiKeys.tenant, tenant) : undefined)
      .orderBy(asc(apiKeys.createdAt));
    return rows.map(recordOf);
  }
}

/** A row without its hash: hashes never leave this class. */
function recordOf({ keyHash: _hash, ...row }: ApiKeyRow): ApiKeyRecord {
  return { ...row, scope: row.scope as ApiKeyScope };
}
