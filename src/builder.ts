import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import DirectivePlugin from '@pothos/plugin-directives';
import ErrorsPlugin from '@pothos/plugin-errors';
import FederationPlugin from '@pothos/plugin-federation';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { type AuthFailure } from '@pothos/plugin-scope-auth';
import { createGraphQLError } from 'graphql-yoga';
import ZodPlugin from '@pothos/plugin-zod';
import type { Context } from './context.js';
import { ValidationError } from './domain/errors.js';

/** The Pothos schema builder: configuration and plugin order only; types live in src/schema/. */
export const builder = new SchemaBuilder<{
  Context: Context;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    SafeInt: { Input: number; Output: number };
    ID: { Input: string; Output: string };
  };
  // Fields are non-null unless they say `nullable: true`: the contract promises what it can.
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  AuthScopes: { write: boolean; operator: boolean };
}>({
  defaultFieldNullability: false,
  // Scope auth first, so no other plugin's wrapper runs for a caller without the scope; errors
  // must wrap zod so that failed validation becomes a ValidationError result; federation comes
  // after the plugins that wrap resolvers, as its docs require.
  plugins: [ScopeAuthPlugin, ErrorsPlugin, ZodPlugin, RelayPlugin, DataloaderPlugin, DirectivePlugin, FederationPlugin],
  scopeAuth: {
    authScopes: (ctx) => ({ write: ctx.scope === 'write', operator: ctx.scope === 'operator' }),
    unauthorizedError: (_parent, ctx, _info, { failure }) =>
      createGraphQLError(forbiddenMessage(ctx.scope, missingScopes(failure)), {
        extensions: { code: 'FORBIDDEN' },
      }),
  },
  zod: {
    // Anything but a zod error (a bug in a refinement) is not the caller's fault: rethrown as is.
    validationError: (error) =>
      Array.isArray((error as { issues?: unknown }).issues)
        ? new ValidationError(error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })))
        : (error as unknown as Error),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesQueryOptions: false,
    // `node` is defined in src/schema/node.ts so that malformed ids answer null.
    nodeQueryOptions: false,
    nodeTypeOptions: { description: 'An object with a global id, fetchable with `node(id:)`.' },
    idFieldOptions: { description: 'Global id (opaque; pass it back as is).' },
    pageInfoTypeOptions: { description: 'Where a page sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'True when more items follow the last of this page.' },
    hasPreviousPageFieldOptions: { description: 'True when more items precede the first of this page.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of this page.' },
    cursorFieldOptions: { description: 'Opaque position of this item, for `after` or `before`.' },
    edgesFieldOptions: {
      nullable: { list: false, items: false },
      description: 'The items of this page with their cursors.',
    },
    nodeFieldOptions: { nullable: false, description: 'The item.' },
    firstArgOptions: { description: 'Page forwards: at most this many items after `after`.' },
    afterArgOptions: { description: 'Cursor to start after (forward pagination).' },
    lastArgOptions: { description: 'Page backwards: at most this many items before `before`.' },
    beforeArgOptions: { description: 'Cursor to end before (backward pagination).' },
  },
});

/** Why a caller may not use a field, in words that say which credential it needs. */
function forbiddenMessage(callerScope: Context['scope'], missing: string[]): string {
  if (missing.includes('operator'))
    return 'Operator fields need an operator credential (OPERATOR_KEY, or the key a server writes into its data folder for npm run apikey)';
  if (callerScope === 'operator') return 'An operator credential may use only the operator fields';
  return 'This API key may only read: mutations need a key with scope write';
}

/** The scopes a failed check asked for (scope-auth nests them in any/all failures). */
function missingScopes(failure: AuthFailure): string[] {
  if ('failures' in failure) return failure.failures.flatMap(missingScopes);
  return 'scope' in failure ? [failure.scope] : [];
}
