import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { isRowId } from '../domain/ids.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { ApiKeyNotFoundError, type ApiKeyRecord, type ApiKeyScope, type ResolvedCheckout } from '../domain/operator.js';
import { definitionOf } from '../providers/index.js';
import { CheckoutStatusEnum } from './checkout.js';
import { CheckoutProviderEnum, ErrorInterface } from './errors.js';
import { decodeGlobalIdSafely } from './global-id.js';

/*
 * The operator fields: API keys and operator resolutions, for an operator credential only
 * (OPERATOR_KEY, or the key a server on the embedded database writes into its data folder's lock
 * file, which `npm run apikey` and `npm run checkout:resolve` use). They go through the same
 * pipeline as every other operation: the same limits, rate limit, logs and metrics.
 */

/** Operator fields: only an operator credential, and the Mutation type's `write` scope does not apply. */
const OPERATOR_ONLY = { authScopes: { operator: true }, skipTypeScopes: true } as const;

const ApiKeyScopeEnum = builder.enumType('ApiKeyScope', {
  description: 'What an API key may do.',
  values: {
    READ: { value: 'read', description: 'Query and subscribe.' },
    WRITE: { value: 'write', description: 'Also create checkouts, record outcomes and manage webhooks.' },
  } as const,
});

const ApiKeyType = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'A stored API key, as operators see it: never the key itself (it is shown once, at creation).',
  fields: (t) => ({
    id: t.exposeString('id', { description: 'Its id, for revokeApiKey.' }),
    tenant: t.exposeString('tenant', { description: 'The tenant whose data the key reaches.' }),
    scope: t.field({ type: ApiKeyScopeEnum, description: 'What it may do.', resolve: (key) => key.scope }),
    prefix: t.exposeString('prefix', {
      description: 'Its first characters, to recognise it (also accepted by revokeApiKey).',
    }),
    label: t.exposeString('label', { nullable: true, description: 'The note it was created with.' }),
    anyDocument: t.exposeBoolean('anyDocument', {
      description:
        'May send any document while TRUSTED_DOCUMENTS=required (GraphiQL, tools); otherwise only the hashes of published documents.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was revoked; null while it is active.',
    }),
  }),
});

builder.objectType(ApiKeyNotFoundError, {
  name: 'ApiKeyNotFoundError',
  description: 'No active API key has this id or prefix.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    idOrPrefix: t.exposeString('idOrPrefix', { description: 'What was asked for.' }),
  }),
});

const CreateApiKeySuccess = builder.objectRef<{ key: string; record: ApiKeyRecord }>('CreateApiKeySuccess').implement({
  description: 'The new key: it is shown only now.',
  fields: (t) => ({
    key: t.exposeString('key', {
      description: 'The key, to send as `Authorization: Bearer <key>`. Stored only as a hash.',
    }),
    apiKey: t.field({ type: ApiKeyType, description: 'The stored key.', resolve: (created) => created.record }),
  }),
});

const ResolveCheckoutSuccess = builder.objectRef<ResolvedCheckout>('ResolveCheckoutSuccess').implement({
  description: 'The resolution as recorded (an event with source `operator`, published to subscribers).',
  fields: (t) => ({
    checkoutId: t.id({
      description: 'Global id of the checkout.',
      resolve: ({ checkout }) => encodeGlobalID(definitionOf(checkout.provider).typename, checkout.id),
    }),
    tenant: t.string({ description: 'Whose checkout it is.', resolve: ({ checkout }) => checkout.tenant }),
    provider: t.field({ type: CheckoutProviderEnum, resolve: ({ checkout }) => checkout.provider }),
    previousStatus: t.field({ type: CheckoutStatusEnum, resolve: (resolved) => resolved.previousStatus }),
    status: t.field({ type: CheckoutStatusEnum, resolve: ({ checkout }) => checkout.status }),
    followed: t.exposeBoolean('followed', { description: 'True when the poller follows the checkout from now on.' }),
  }),
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key.',
  fields: (t) => ({
    tenant: t.string({ required: true, description: 'The tenant: 1 to 64 characters of [A-Za-z0-9_-].' }),
    scope: t.field({ type: ApiKeyScopeEnum, description: 'What it may do (default WRITE).' }),
    label: t.string({ description: 'A note, e.g. where the key is used (at most 200 characters).' }),
    anyDocument: t.boolean({
      description:
        'The any-document scope: the key may send any document while TRUSTED_DOCUMENTS=required, not only published ones (default false). For GraphiQL and tools, never for keys shipped in apps.',
    }),
  }),
});

const ResolveCheckoutInput = builder.inputType('ResolveCheckoutInput', {
  description: 'What an operator found out at the provider about a checkout (of any tenant).',
  fields: (t) => ({
    id: t.id({ required: true, description: "The checkout's global id, or its row id (as in the logs)." }),
    status: t.field({ type: CheckoutStatusEnum, required: true, description: 'Its status at the provider.' }),
    note: t.string({ required: true, description: 'Why, in words (1 to 2000 characters).' }),
    providerCheckoutId: t.string({
      description: "The provider's id, when the create's answer was lost; a status that is not final is then polled.",
    }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.field({
    ...OPERATOR_ONLY,
    type: [ApiKeyType],
    description: 'Operators: every stored API key, oldest first (API_KEYS from the environment are not listed).',
    args: { tenant: t.arg.string({ description: "Only this tenant's keys." }) },
    resolve: (_root, args, ctx) => ctx.operator.listApiKeys(args.tenant),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.field({
    ...OPERATOR_ONLY,
    type: CreateApiKeySuccess,
    description: 'Operators: creates an API key, usable at once on every instance.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    errors: {
      types: [ValidationError],
      directResult: true,
      union: { name: 'CreateApiKeyResult', description: 'The new key, or why not.' },
    },
    resolve: (_root, { input }, ctx) =>
      ctx.operator.createApiKey({
        tenant: input.tenant,
        scope: input.scope as ApiKeyScope | null,
        label: input.label,
        anyDocument: input.anyDocument,
      }),
  }),
  revokeApiKey: t.field({
    ...OPERATOR_ONLY,
    type: ApiKeyType,
    description:
      'Operators: revokes an API key by id or prefix. This instance refuses it from the next request on; other instances within 5 seconds.',
    args: { idOrPrefix: t.arg.string({ required: true, description: "The key's id or prefix." }) },
    errors: {
      types: [ApiKeyNotFoundError],
      result: { name: 'RevokeApiKeySuccess', description: 'The key, revoked.' },
      union: { name: 'RevokeApiKeyResult', description: 'The revoked key, or why not.' },
      dataField: { name: 'apiKey', description: 'The key, revoked.' },
    },
    resolve: (_root, args, ctx) => ctx.operator.revokeApiKey(args.idOrPrefix),
  }),
  resolveCheckout: t.field({
    ...OPERATOR_ONLY,
    type: ResolveCheckoutSuccess,
    description:
      'Operators: records what was found out at the provider about a checkout of any tenant (an UNKNOWN outcome, say), as an event with source `operator`; it may leave a final status.',
    args: { input: t.arg({ type: ResolveCheckoutInput, required: true }) },
    errors: {
      types: [NotFoundError, ValidationError],
      directResult: true,
      union: { name: 'ResolveCheckoutResult', description: 'The resolution as recorded, or why not.' },
    },
    resolve: (_root, { input }, ctx) => {
      const id = String(input.id);
      return ctx.operator.resolveCheckout({
        // A row id is taken as it is: decoding it as base64 could find a `Type:` prefix by chance.
        checkoutId: isRowId(id) ? id : (decodeGlobalIdSafely(id)?.id ?? id),
        status: input.status,
        note: input.note,
        providerCheckoutId: input.providerCheckoutId,
      });
    },
  }),
}));
