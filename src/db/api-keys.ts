import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Database } from './client.js';
import { apiKeys, type ApiKeyRow } from './schema.js';

/** What an API key may do: `read` queries and subscribes, `write` may also mutate. */
export type ApiKeyScope = 'read' | 'write';

/** SHA-256 of a key, hex: the only form in which keys are stored. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Stored API keys (created by the `apikey` command; `API_KEYS` from the environment is separate). */
export class ApiKeyRepository {
  constructor(private readonly db: Database) {}

  /** Creates a key for `tenant` and returns it: the only time the key itself is available. */
  async create(tenant: string, scope: ApiKeyScope, label?: string): Promise<{ key: string; row: ApiKeyRow }> {
    const key = `cg_${randomBytes(24).toString('base64url')}`;
    const [row] = await this.db
      .insert(apiKeys)
      .values({ tenant, scope, keyHash: hashApiKey(key), prefix: key.slice(0, 10), label: label ?? null })
      .returning();
    return { key, row: row! };
  }

  /** The active key with this hash, if any. */
  async findActiveByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    const [row] = await this.db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
    return row;
  }

  /** Revokes a key by id or prefix; returns how many keys were revoked (0 or 1). */
  async revoke(idOrPrefix: string): Promise<number> {
    const byId = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
    const revoked = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(byId ? eq(apiKeys.id, idOrPrefix) : eq(apiKeys.prefix, idOrPrefix), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    return revoked.length;
  }

  /** Every key, oldest first, optionally of one tenant (hashes never leave this class). */
  async list(tenant?: string): Promise<Omit<ApiKeyRow, 'keyHash'>[]> {
    const rows = await this.db
      .select()
      .from(apiKeys)
      .where(tenant ? eq(apiKeys.tenant, tenant) : undefined)
      .orderBy(asc(apiKeys.createdAt));
    return rows.map(({ keyHash: _hash, ...row }) => row);
  }
}
