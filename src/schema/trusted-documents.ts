import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { ValidationError } from '../domain/errors.js';
import {
  DocumentManifestNotFoundError,
  type DocumentManifest,
  type DocumentManifestRecord,
  type PersistedDocument,
} from '../domain/trusted-documents.js';
import { ErrorInterface } from './errors.js';

/*
 * Trusted documents: manifests of the documents an app version sends (GraphQL Code Generator's
 * persisted-documents.json), published per tenant, app and version, listed and retired. A tenant
 * key with scope `write` manages its own tenant's; an operator credential names the tenant (what
 * `npm run documents` does through a server that holds the embedded database).
 */

/**
 * Tenant keys with scope `write`, and operators: the Mutation type's `write` scope alone would
 * refuse operators, and a read key is told it needs `write` (not an operator credential).
 */
const WRITERS = {
  authScopes: (_parent: unknown, _args: unknown, ctx: Context) => (ctx.scope === 'operator' ? true : { write: true }),
  skipTypeScopes: true,
} as const;

/** The tenant a field acts for: the caller's own, or for an operator the one it names. */
function tenantOf(ctx: Context, requested: string | null | undefined): string {
  if (ctx.scope === 'operator') {
    if (!requested) throw new ValidationError([{ path: ['input', 'tenant'], message: 'operators name the tenant' }]);
    return requested;
  }
  if (requested && requested !== ctx.tenant)
    throw new ValidationError([
      { path: ['input', 'tenant'], message: "a tenant key manages its own tenant's manifests only" },
    ]);
  return ctx.tenant;
}

const PersistedDocumentType = builder.objectRef<PersistedDocument>('PersistedDocument').implement({
  description: 'One published document.',
  fields: (t) => ({
    hash: t.string({
      description: 'Its id as clients send it: `sha256:` and the hex SHA-256 of its text.',
      resolve: (document) => `sha256:${document.hash}`,
    }),
    body: t.exposeString('body', { description: 'Its text.' }),
  }),
});

const DocumentManifestType = builder.objectRef<DocumentManifestRecord>('DocumentManifest').implement({
  description:
    "A published version of an app's trusted documents: served by hash to its tenant until retired, and checked by `npm run schema:check` against every schema change.",
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Its row id.' }),
    tenant: t.exposeString('tenant', { description: 'The tenant whose callers may send its documents.' }),
    appName: t.exposeString('appName', { description: 'The app, e.g. `storefront`.' }),
    appVersion: t.exposeString('appVersion', { description: 'The version of the app these documents belong to.' }),
    documentCount: t.exposeInt('documentCount', { description: 'How many documents it holds.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was published.' }),
    retiredAt: t.expose('retiredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was retired (its documents no longer served); null while it is live.',
    }),
    documents: t.field({
      type: [PersistedDocumentType],
      description: 'Its documents, by hash.',
      // Lists load them with the manifests; a publish or retire result reads them when asked.
      resolve: async (manifest, _args, ctx) =>
        'documents' in manifest
          ? (manifest as DocumentManifest).documents
          : ((await ctx.documents.find(manifest.tenant, manifest.appName, manifest.appVersion))?.documents ?? []),
    }),
  }),
});

builder.objectType(DocumentManifestNotFoundError, {
  name: 'DocumentManifestNotFoundError',
  description: 'No live manifest has this app and version.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    appName: t.exposeString('appName', { description: 'The app asked for.' }),
    appVersion: t.exposeString('appVersion', { description: 'The version asked for.' }),
  }),
});

const PublishDocumentManifestInput = builder.inputType('PublishDocumentManifestInput', {
  description: "A version of an app's documents, as GraphQL Code Generator's client preset writes them.",
  fields: (t) => ({
    tenant: t.string({
      description: "Operators only: the tenant it is published for (a tenant key publishes its own tenant's).",
    }),
    appName: t.string({
      required: true,
      description: 'The app, e.g. `storefront` (1 to 100 characters of [A-Za-z0-9._@/-]).',
    }),
    appVersion: t.string({ required: true, description: 'Its version, e.g. `1.4.0` or a commit (same characters).' }),
    documents: t.field({
      type: 'JSON',
      required: true,
      description:
        'The manifest: an object of document id (`sha256:<hex>` or `<hex>`, the SHA-256 of the text) to document text, i.e. the content of persisted-documents.json.',
    }),
  }),
});

const RetireDocumentManifestInput = builder.inputType('RetireDocumentManifestInput', {
  description: 'The app version whose documents stop being served.',
  fields: (t) => ({
    tenant: t.string({ description: 'Operators only: whose manifest.' }),
    appName: t.string({ required: true, description: 'The app.' }),
    appVersion: t.string({ required: true, description: 'Its version.' }),
  }),
});

builder.queryFields((t) => ({
  documentManifests: t.field({
    type: [DocumentManifestType],
    description:
      "Published manifests of trusted documents, oldest first: the caller's tenant's (operators: every tenant's, or the one named).",
    args: {
      tenant: t.arg.string({ description: 'Operators: only this tenant. A tenant key sees its own tenant only.' }),
      appName: t.arg.string({ description: 'Only this app.' }),
      includeRetired: t.arg.boolean({ description: 'Also retired versions (default false).' }),
    },
    resolve: (_root, args, ctx) => {
      const own = ctx.scope !== 'operator';
      // Another tenant's manifests answer like none at all.
      if (own && args.tenant && args.tenant !== ctx.tenant) return [];
      return ctx.documents.listWithDocuments({
        tenant: own ? ctx.tenant : args.tenant,
        appName: args.appName,
        includeRetired: args.includeRetired ?? false,
      });
    },
  }),
}));

builder.mutationFields((t) => ({
  publishDocumentManifest: t.field({
    ...WRITERS,
    type: DocumentManifestType,
    description:
      "Publishes a version of an app's trusted documents: each must be valid against the schema and named by its SHA-256. Its documents are served by hash at once (other instances within 5 seconds). Publishing the same documents again answers the stored version.",
    args: { input: t.arg({ type: PublishDocumentManifestInput, required: true }) },
    errors: {
      types: [ValidationError],
      result: { name: 'PublishDocumentManifestSuccess', description: 'The published version.' },
      union: { name: 'PublishDocumentManifestResult', description: 'The published version, or why not.' },
      dataField: { name: 'manifest', description: 'The published version.' },
    },
    resolve: (_root, { input }, ctx) =>
      ctx.documents.publish({
        tenant: tenantOf(ctx, input.tenant),
        appName: input.appName,
        appVersion: input.appVersion,
        documents: input.documents,
      }),
  }),
  retireDocumentManifest: t.field({
    ...WRITERS,
    type: DocumentManifestType,
    description:
      'Retires an app version: its documents are no longer served (at once here, within 5 seconds on other instances) nor checked by `npm run schema:check`.',
    args: { input: t.arg({ type: RetireDocumentManifestInput, required: true }) },
    errors: {
      types: [DocumentManifestNotFoundError, ValidationError],
      result: { name: 'RetireDocumentManifestSuccess', description: 'The retired version.' },
      union: { name: 'RetireDocumentManifestResult', description: 'The retired version, or why not.' },
      dataField: { name: 'manifest', description: 'The retired version.' },
    },
    resolve: (_root, { input }, ctx) =>
      ctx.documents.retire(tenantOf(ctx, input.tenant), input.appName, input.appVersion),
  }),
}));
