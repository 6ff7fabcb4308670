import type { AppConfig } from '../config/index.js';
import { ApiKeyRepository } from '../db/api-keys.js';
import { openDatabase } from '../db/client.js';
import { DataDirLockedError, type DataDirHolder } from '../db/data-dir-lock.js';
import { CheckoutRepository } from '../db/repository.js';
import type { CheckoutStatus } from '../domain/checkout.js';
import { CheckoutLifecycle } from '../domain/lifecycle.js';
import { OperatorService, type ApiKeyRecord, type ApiKeyScope, type Resolution } from '../domain/operator.js';
import {
  TrustedDocuments,
  type DocumentManifest,
  type DocumentManifestRecord,
  type ManifestFilter,
} from '../domain/trusted-documents.js';
import { DocumentManifestRepository } from '../db/trusted-documents.js';
import { schemaDocumentChecker } from '../app/trusted-documents.js';
import { schema } from '../schema/index.js';
import { createLogger } from '../logger.js';
import { hasStatusEndpoint } from '../providers/index.js';
import { invalidatingStore } from '../readmodel/invalidating-store.js';
import { changePublisher, createRealtimeBus } from '../realtime/pubsub.js';
import { decodeGlobalIdSafely } from '../schema/global-id.js';
import { statusChangedPayload } from '../webhooks/events.js';

/**
 * How the operator commands reach the data. With PostgreSQL they open it themselves, beside the
 * servers. An embedded data folder has one writer: a command that finds it free takes its lock and
 * opens it; one that finds a server holding it goes through that server's operator fields, on the
 * URL and with the credential the server wrote into the folder's lock file. Either way the same
 * OperatorService makes the writes.
 */

/** A resolution as the commands report it. */
export interface ResolutionOutcome {
  /** Row id of the checkout. */
  checkoutId: string;
  previousStatus: CheckoutStatus;
  status: CheckoutStatus;
  followed: boolean;
}

/** What the operator commands can do, whichever way they reach the data. */
export interface OperatorClient {
  /** `database` (opened by the command) or the URL of the server it goes through. */
  readonly via: string;
  createApiKey(input: {
    tenant: string;
    scope: ApiKeyScope;
    label?: string;
    anyDocument?: boolean;
  }): Promise<{ key: string; record: ApiKeyRecord }>;
  listApiKeys(tenant?: string): Promise<ApiKeyRecord[]>;
  revokeApiKey(idOrPrefix: string): Promise<ApiKeyRecord>;
  resolveCheckout(resolution: Resolution): Promise<ResolutionOutcome>;
  /** Publishes a manifest of trusted documents (hash -> text) for a tenant's app version. */
  publishDocuments(input: {
    tenant: string;
    appName: string;
    appVersion: string;
    documents: unknown;
  }): Promise<DocumentManifestRecord>;
  /** Manifests with their documents. */
  listDocumentManifests(filter: ManifestFilter): Promise<DocumentManifest[]>;
  retireDocuments(input: { tenant: string; appName: string; appVersion: string }): Promise<DocumentManifestRecord>;
  close(): Promise<void>;
}

/** A refusal to show as is (one line), with exit code 1. */
export class OperatorCommandError extends Error {}

/** Opens the data itself, or finds the server that holds it. */
export async function connectOperator(config: AppConfig, command: string): Promise<OperatorClient> {
  if (!config.databaseUrl && /^memory:\/\//.test(config.dataDir))
    throw new OperatorCommandError('DATA_DIR=memory:// keeps no data between processes: there is nothing to manage');
  try {
    return await openDirect(config, command);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    return throughServer(error);
  }
}

async function openDirect(config: AppConfig, command: string): Promise<OperatorClient> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, role: command });
  // Only a resolution is published; API keys need no Redis, and must not fail for want of it.
  const redisUrl = command === 'checkout:resolve' ? config.redisUrl : undefined;
  const bus = await createRealtimeBus(redisUrl).catch(async (error: unknown) => {
    await database.close();
    throw error;
  });
  const repository = new CheckoutRepository(database.db, statusChangedPayload);
  // Servers sharing Redis hold checkouts in their read models: they hear of this write through the bus.
  const store = invalidatingStore(repository, {
    bus: bus.kind === 'redis' ? bus.pubsub : undefined,
    origin: command,
  });
  const service = new OperatorService({
    apiKeys: new ApiKeyRepository(database.db),
    findCheckout: (id) => repository.findAnyById(id),
    lifecycle: new CheckoutLifecycle({
      store,
      publisher: changePublisher(bus.pubsub),
      isPolled: hasStatusEndpoint,
      logger: createLogger('warn', process.stderr),
    }),
    isPolled: hasStatusEndpoint,
  });
  const documents = new TrustedDocuments({
    store: new DocumentManifestRepository(database.db),
    check: schemaDocumentChecker(schema),
  });
  return {
    via: config.databaseUrl ? 'PostgreSQL' : `the data folder (no server holds it)`,
    publishDocuments: (input) => documents.publish(input),
    listDocumentManifests: (filter) => documents.listWithDocuments(filter),
    retireDocuments: (input) => documents.retire(input.tenant, input.appName, input.appVersion),
    createApiKey: (input) => service.createApiKey(input),
    listApiKeys: (tenant) => service.listApiKeys(tenant),
    revokeApiKey: (idOrPrefix) => service.revokeApiKey(idOrPrefix),
    async resolveCheckout(resolution) {
      const { checkout, previousStatus, followed } = await service.resolveCheckout(resolution);
      return { checkoutId: checkout.id, previousStatus, status: checkout.status, followed };
    },
    async close() {
      await bus.close();
      await database.close();
    },
  };
}

const API_KEY_FIELDS = 'id tenant scope prefix label anyDocument createdAt revokedAt';
const MANIFEST_FIELDS = 'id tenant appName appVersion documentCount createdAt retiredAt';

interface ManifestJson extends Omit<DocumentManifestRecord, 'createdAt' | 'retiredAt'> {
  createdAt: string;
  retiredAt: string | null;
}

interface ApiKeyJson extends Omit<ApiKeyRecord, 'scope' | 'createdAt' | 'revokedAt'> {
  scope: 'READ' | 'WRITE';
  createdAt: string;
  revokedAt: string | null;
}

/** Goes through the operator fields of the server that holds the data folder. */
function throughServer(locked: DataDirLockedError): OperatorClient {
  const server = usableHolder(locked);
  const call = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json;q=0.9',
          authorization: `Bearer ${server.operatorKey}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new OperatorCommandError(
        `The server holding ${locked.dataDir} (PID ${server.pid}) does not answer at ${server.url}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length || !body.data)
      throw new OperatorCommandError(
        `The server at ${server.url} refused: ${body.errors?.map((e) => e.message).join('; ') ?? `HTTP ${response.status}`}`,
      );
    return body.data;
  };
  /** A union result: its success member, or its typed error as a refusal. */
  const success = <T extends { __typename: string; message?: string }>(result: T, typename: string): T => {
    if (result.__typename !== typename) throw new OperatorCommandError(result.message ?? result.__typename);
    return result;
  };
  /** publishDocumentManifest or retireDocumentManifest: the manifest, or its typed error as a refusal. */
  const manifestMutation = async (
    field: 'publishDocumentManifest' | 'retireDocumentManifest',
    input: Record<string, unknown>,
  ): Promise<DocumentManifestRecord> => {
    const type = `${field[0]!.toUpperCase()}${field.slice(1)}`;
    const data = await call<Record<string, { __typename: string; message?: string; manifest: ManifestJson }>>(
      `mutation ($input: ${type}Input!) { ${field}(input: $input) { __typename
         ... on ${type}Success { manifest { ${MANIFEST_FIELDS} } } ... on Error { message } } }`,
      { input },
    );
    return manifestRecord(success(data[field]!, `${type}Success`).manifest);
  };
  return {
    via: `the server at ${server.url} (PID ${server.pid}, which holds ${locked.dataDir})`,
    async createApiKey(input) {
      const data = await call<{
        createApiKey: { __typename: string; message?: string; key: string; apiKey: ApiKeyJson };
      }>(
        `mutation ($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename
           ... on CreateApiKeySuccess { key apiKey { ${API_KEY_FIELDS} } } ... on Error { message } } }`,
        { input: { ...input, scope: input.scope.toUpperCase() } },
      );
      const created = success(data.createApiKey, 'CreateApiKeySuccess');
      return { key: created.key, record: apiKeyRecord(created.apiKey) };
    },
    async listApiKeys(tenant) {
      const data = await call<{ apiKeys: ApiKeyJson[] }>(
        `query ($tenant: String) { apiKeys(tenant: $tenant) { ${API_KEY_FIELDS} } }`,
        { tenant },
      );
      return data.apiKeys.map(apiKeyRecord);
    },
    async revokeApiKey(idOrPrefix) {
      const data = await call<{ revokeApiKey: { __typename: string; message?: string; apiKey: ApiKeyJson } }>(
        `mutation ($id: String!) { revokeApiKey(idOrPrefix: $id) { __typename
           ... on RevokeApiKeySuccess { apiKey { ${API_KEY_FIELDS} } } ... on Error { message } } }`,
        { id: idOrPrefix },
      );
      return apiKeyRecord(success(data.revokeApiKey, 'RevokeApiKeySuccess').apiKey);
    },
    async resolveCheckout(resolution) {
      type Resolved = { __typename: string; message?: string } & Omit<ResolutionOutcome, 'checkoutId'> & {
          checkoutId: string;
        };
      const data = await call<{ resolveCheckout: Resolved }>(
        `mutation ($input: ResolveCheckoutInput!) { resolveCheckout(input: $input) { __typename
           ... on ResolveCheckoutSuccess { checkoutId previousStatus status followed } ... on Error { message } } }`,
        {
          input: {
            id: resolution.checkoutId,
            status: resolution.status,
            note: resolution.note,
            providerCheckoutId: resolution.providerCheckoutId,
          },
        },
      );
      const resolved = success(data.resolveCheckout, 'ResolveCheckoutSuccess');
      const { __typename: _typename, message: _message, ...outcome } = resolved;
      return { ...outcome, checkoutId: decodeGlobalIdSafely(resolved.checkoutId)?.id ?? resolved.checkoutId };
    },
    publishDocuments: (input) => manifestMutation('publishDocumentManifest', input),
    async listDocumentManifests(filter) {
      const data = await call<{
        documentManifests: (ManifestJson & { documents: { hash: string; body: string }[] })[];
      }>(
        `query ($tenant: String, $appName: String, $includeRetired: Boolean) {
           documentManifests(tenant: $tenant, appName: $appName, includeRetired: $includeRetired) {
             ${MANIFEST_FIELDS} documents { hash body } } }`,
        { tenant: filter.tenant, appName: filter.appName, includeRetired: filter.includeRetired },
      );
      return data.documentManifests.map((json) => ({
        ...manifestRecord(json),
        documents: json.documents.map(({ hash, body }) => ({ hash: hash.replace(/^sha256:/, ''), body })),
      }));
    },
    retireDocuments: (input) => manifestMutation('retireDocumentManifest', input),
    close: async () => undefined,
  };
}

function manifestRecord({
  documents: _documents,
  ...json
}: ManifestJson & { documents?: unknown }): DocumentManifestRecord {
  return {
    ...json,
    createdAt: new Date(json.createdAt),
    retiredAt: json.retiredAt ? new Date(json.retiredAt) : null,
  };
}

/** The holder, when it is a server that says where it listens; otherwise a refusal naming it. */
function usableHolder(locked: DataDirLockedError): DataDirHolder & { url: string; operatorKey: string } {
  const holder = locked.holder;
  if (holder?.url && holder.operatorKey) return holder as DataDirHolder & { url: string; operatorKey: string };
  const who = holder ? `PID ${holder.pid} (${holder.role})` : 'another process';
  throw new OperatorCommandError(
    holder?.role === 'server'
      ? `The data folder ${locked.dataDir} is held by a server (PID ${holder.pid}) that is still starting: run the command again in a moment.`
      : `The data folder ${locked.dataDir} is in use by ${who}: run the command again when it has finished.`,
  );
}

function apiKeyRecord(json: ApiKeyJson): ApiKeyRecord {
  return {
    ...json,
    scope: json.scope.toLowerCase() as ApiKeyScope,
    createdAt: new Date(json.createdAt),
    revokedAt: json.revokedAt ? new Date(json.revokedAt) : null,
  };
}
