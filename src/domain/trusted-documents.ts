import { createHash } from 'node:crypto';
import { DomainError, type FieldError, ValidationError } from './errors.js';

/**
 * Trusted documents: the GraphQL documents an app may send, published per tenant, app name and
 * version as a manifest (hash -> document, as GraphQL Code Generator's client preset writes
 * `persisted-documents.json`), checked against the schema when published and served by hash on
 * every transport. A version's documents never change once published; retiring the version stops
 * serving them (and stops `npm run schema:check` from counting them).
 */

/** A published manifest as it is listed (without its documents). */
export interface DocumentManifestRecord {
  id: string;
  tenant: string;
  appName: string;
  appVersion: string;
  documentCount: number;
  createdAt: Date;
  /** When it stopped being served; null while it is live. */
  retiredAt: Date | null;
}

/** One document of a manifest: its sha256 (hex, without the `sha256:` prefix) and its text. */
export interface PersistedDocument {
  hash: string;
  body: string;
}

/** A manifest with its documents (what schema:check reads). */
export interface DocumentManifest extends DocumentManifestRecord {
  documents: PersistedDocument[];
}

/** Which manifests to list. */
export interface ManifestFilter {
  /** Only this tenant's (every tenant's when null or undefined). */
  tenant?: string | null;
  appName?: string | null;
  /** Also retired versions. */
  includeRetired?: boolean;
}

/** Where manifests are kept (implemented by db/trusted-documents.ts). */
export interface DocumentManifestStore {
  /**
   * Stores a new version with its documents, in one transaction; undefined when this tenant, app
   * and version exist already (live or retired).
   */
  publish(
    manifest: Pick<DocumentManifestRecord, 'tenant' | 'appName' | 'appVersion'>,
    documents: PersistedDocument[],
  ): Promise<DocumentManifestRecord | undefined>;
  /** One manifest with its documents, retired or not. */
  find(tenant: string, appName: string, appVersion: string): Promise<DocumentManifest | undefined>;
  /** Manifests with their documents, oldest first. */
  listWithDocuments(filter: ManifestFilter): Promise<DocumentManifest[]>;
  /** Retires a live version; undefined when there is no such live version. */
  retire(tenant: string, appName: string, appVersion: string): Promise<DocumentManifestRecord | undefined>;
  /** The text of the document with this hash in any live manifest of `tenant`. */
  findDocument(tenant: string, hash: string): Promise<string | undefined>;
}

/**
 * Checks one document against the schema the API serves: the problems (parse and validation
 * errors) in words, none when it is valid. Injected, since the schema is not the domain's.
 */
export type DocumentChecker = (body: string) => readonly string[];

/** No live manifest has this tenant, app and version. */
export class DocumentManifestNotFoundError extends DomainError {
  readonly code = 'NOT_FOUND' as const;
  constructor(
    readonly appName: string,
    readonly appVersion: string,
  ) {
    super(`No live manifest of app ${appName} version ${appVersion}`);
  }
}

/** What the service works with. */
export interface TrustedDocumentsOptions {
  store: DocumentManifestStore;
  /** Validates documents against the schema at publish. */
  check: DocumentChecker;
  /** Told after a version was published or retired, so that cached look-ups are dropped. */
  onChange?: () => void;
}

/** A document that does not pass the schema any more, in a live manifest. */
export interface BrokenDocument {
  manifest: DocumentManifestRecord;
  hash: string;
  problems: readonly string[];
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@/-]{0,99}$/;
const HASH_PATTERN = /^(?:sha256:)?([0-9a-f]{64})$/;
/** A manifest is one app's documents: thousands would be a mistake (or an attack on the store). */
const MAX_DOCUMENTS = 2_000;
const MAX_DOCUMENT_CHARS = 100_000;

/** The hex sha256 of a document id (`sha256:<hex>` or `<hex>`), or undefined when it is not one. */
export function documentHash(id: string): string | undefined {
  return HASH_PATTERN.exec(id.trim().toLowerCase())?.[1];
}

/** Publishing, listing and retiring manifests, serving documents by hash, and checking them against a schema. */
export class TrustedDocuments {
  constructor(private readonly options: TrustedDocumentsOptions) {}

  /**
   * Publishes `documents` (hash -> text, the client preset's persisted-documents.json) as version
   * `appVersion` of `appName` for `tenant`. Every hash must be the document's sha256 and every
   * document valid against the schema. Publishing the same documents again answers the stored
   * version (CI may run twice); other documents under a published version are refused.
   */
  async publish(input: {
    tenant: string;
    appName: string;
    appVersion: string;
    documents: unknown;
  }): Promise<DocumentManifestRecord> {
    const documents = this.validate(input);
    const manifest = { tenant: input.tenant, appName: input.appName, appVersion: input.appVersion };
    const published = await this.options.store.publish(manifest, documents);
    if (published) {
      this.options.onChange?.();
      return published;
    }
    const existing = await this.options.store.find(input.tenant, input.appName, input.appVersion);
    if (existing && sameDocuments(existing.documents, documents)) {
      const { documents: _documents, ...record } = existing;
      return record;
    }
    throw new ValidationError([
      {
        path: ['input', 'appVersion'],
        message: 'this version was published with other documents: publish a new version',
      },
    ]);
  }

  /** Manifests with their documents, oldest first (what schema:check validates). */
  listWithDocuments(filter: ManifestFilter): Promise<DocumentManifest[]> {
    return this.options.store.listWithDocuments(filter);
  }

  /** One version with its documents, retired or not. */
  find(tenant: string, appName: string, appVersion: string): Promise<DocumentManifest | undefined> {
    return this.options.store.find(tenant, appName, appVersion);
  }

  /** Retires a live version: its documents are no longer served (by other instances within their cache time). */
  async retire(tenant: string, appName: string, appVersion: string): Promise<DocumentManifestRecord> {
    const retired = await this.options.store.retire(tenant, appName, appVersion);
    if (!retired) throw new DocumentManifestNotFoundError(appName, appVersion);
    this.options.onChange?.();
    return retired;
  }

  /** The text of a live document of `tenant` by its id (`sha256:<hex>` or `<hex>`), if any. */
  async documentOf(tenant: string, id: string): Promise<string | undefined> {
    const hash = documentHash(id);
    return hash === undefined ? undefined : this.options.store.findDocument(tenant, hash);
  }

  private validate(input: { tenant: string; appName: string; appVersion: string; documents: unknown }) {
    const errors: FieldError[] = [];
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(input.tenant))
      errors.push({ path: ['input', 'tenant'], message: 'must be 1 to 64 characters of [A-Za-z0-9_-]' });
    for (const field of ['appName', 'appVersion'] as const)
      if (!NAME_PATTERN.test(input[field]))
        errors.push({ path: ['input', field], message: 'must be 1 to 100 characters of [A-Za-z0-9._@/-]' });
    const given = input.documents;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      errors.push({ path: ['input', 'documents'], message: 'must be an object of hash to document text' });
      throw new ValidationError(errors);
    }
    const entries = Object.entries(given);
    if (entries.length === 0 || entries.length > MAX_DOCUMENTS)
      errors.push({ path: ['input', 'documents'], message: `must hold 1 to ${MAX_DOCUMENTS} documents` });
    const documents: PersistedDocument[] = [];
    for (const [id, body] of entries.slice(0, MAX_DOCUMENTS)) {
      const path = ['input', 'documents', id];
      const hash = documentHash(id);
      if (typeof body !== 'string' || body.length > MAX_DOCUMENT_CHARS) {
        errors.push({ path, message: `must be a document of at most ${MAX_DOCUMENT_CHARS} characters` });
        continue;
      }
      // The hash is what clients send: a manifest whose hash names another text would serve a
      // document nobody reviewed under a reviewed one's name.
      if (hash === undefined || hash !== createHash('sha256').update(body).digest('hex')) {
        errors.push({ path, message: 'must be the sha256 of its document (sha256:<hex> or <hex>)' });
        continue;
      }
      const problems = this.options.check(body);
      if (problems.length > 0) errors.push({ path, message: problems.join('; ') });
      else documents.push({ hash, body });
    }
    if (errors.length > 0) throw new ValidationError(errors);
    return documents;
  }
}

/**
 * Every document of every live manifest that `check` (the schema about to be served) refuses:
 * what `npm run schema:check` reports, since a published app version still sends them.
 */
export function brokenDocuments(manifests: readonly DocumentManifest[], check: DocumentChecker): BrokenDocument[] {
  const broken: BrokenDocument[] = [];
  for (const { documents, ...manifest } of manifests) {
    if (manifest.retiredAt) continue;
    for (const document of documents) {
      const problems = check(document.body);
      if (problems.length > 0) broken.push({ manifest, hash: document.hash, problems });
    }
  }
  return broken;
}

function sameDocuments(stored: readonly PersistedDocument[], given: readonly PersistedDocument[]): boolean {
  if (stored.length !== given.length) return false;
  const hashes = new Set(stored.map((document) => document.hash));
  return given.every((document) => hashes.has(document.hash));
}
