import { and, asc, eq, inArray, isNull, type SQL } from 'drizzle-orm';
import type {
  DocumentManifest,
  DocumentManifestRecord,
  DocumentManifestStore,
  ManifestFilter,
  PersistedDocument,
} from '../domain/trusted-documents.js';
import type { Database } from './client.js';
import { documentManifests, persistedDocuments } from './schema.js';

/** Published manifests of trusted documents and their documents. */
export class DocumentManifestRepository implements DocumentManifestStore {
  constructor(private readonly db: Database) {}

  async publish(
    manifest: Pick<DocumentManifestRecord, 'tenant' | 'appName' | 'appVersion'>,
    documents: PersistedDocument[],
  ): Promise<DocumentManifestRecord | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(documentManifests)
        .values({ ...manifest, documentCount: documents.length })
        .onConflictDoNothing()
        .returning();
      if (!row) return undefined;
      await tx.insert(persistedDocuments).values(documents.map((document) => ({ ...document, manifestId: row.id })));
      return row;
    });
  }

  /** Manifests without their documents, oldest first. */
  list(filter: ManifestFilter): Promise<DocumentManifestRecord[]> {
    return this.db
      .select()
      .from(documentManifests)
      .where(whereOf(filter))
      .orderBy(asc(documentManifests.createdAt), asc(documentManifests.appName), asc(documentManifests.appVersion));
  }

  async find(tenant: string, appName: string, appVersion: string): Promise<DocumentManifest | undefined> {
    const [row] = await this.db
      .select()
      .from(documentManifests)
      .where(
        and(
          eq(documentManifests.tenant, tenant),
          eq(documentManifests.appName, appName),
          eq(documentManifests.appVersion, appVersion),
        ),
      );
    if (!row) return undefined;
    const [manifest] = await this.withDocuments([row]);
    return manifest;
  }

  async listWithDocuments(filter: ManifestFilter): Promise<DocumentManifest[]> {
    return this.withDocuments(await this.list(filter));
  }

  async retire(tenant: string, appName: string, appVersion: string): Promise<DocumentManifestRecord | undefined> {
    const [row] = await this.db
      .update(documentManifests)
      .set({ retiredAt: new Date() })
      .where(
        and(
          eq(documentManifests.tenant, tenant),
          eq(documentManifests.appName, appName),
          eq(documentManifests.appVersion, appVersion),
          isNull(documentManifests.retiredAt),
        ),
      )
      .returning();
    return row;
  }

  async findDocument(tenant: string, hash: string): Promise<string | undefined> {
    const [row] = await this.db
      .select({ body: persistedDocuments.body })
      .from(persistedDocuments)
      .innerJoin(documentManifests, eq(documentManifests.id, persistedDocuments.manifestId))
      .where(
        and(
          eq(persistedDocuments.hash, hash),
          eq(documentManifests.tenant, tenant),
          isNull(documentManifests.retiredAt),
        ),
      )
      .limit(1);
    return row?.body;
  }

  private async withDocuments(rows: DocumentManifestRecord[]): Promise<DocumentManifest[]> {
    if (rows.length === 0) return [];
    const documents = await this.db
      .select()
      .from(persistedDocuments)
      .where(
        inArray(
          persistedDocuments.manifestId,
          rows.map((row) => row.id),
        ),
      )
      .orderBy(asc(persistedDocuments.hash));
    return rows.map((row) => ({
      ...row,
      documents: documents
        .filter((document) => document.manifestId === row.id)
        .map(({ hash, body }) => ({ hash, body })),
    }));
  }
}

function whereOf(filter: ManifestFilter): SQL | undefined {
  return and(
    filter.tenant ? eq(documentManifests.tenant, filter.tenant) : undefined,
    filter.appName ? eq(documentManifests.appName, filter.appName) : undefined,
    filter.includeRetired ? undefined : isNull(documentManifests.retiredAt),
  );
}
