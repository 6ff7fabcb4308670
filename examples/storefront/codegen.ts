import type { CodegenConfig } from '@graphql-codegen/cli';

type Target = CodegenConfig['generates'][string];

/**
 * Typed documents for the storefront: GraphQL Code Generator's client preset reads the
 * `graphql(...)` calls in examples/storefront/src and writes examples/storefront/src/gql.
 * `documentMode: 'string'` makes each document a typed string, so the bundle needs no `graphql`
 * runtime. `persistedDocuments` gives each operation its sha256 (`__meta__.hash`, which the page
 * sends instead of the text) and writes the manifest, src/gql/persisted-documents.json, that
 * `npm run documents -- publish` registers with the API as this app version's trusted documents.
 *
 * The root codegen.ts includes this target (so `npm run schema:check` catches drift);
 * `npm run storefront:codegen` runs it alone against the committed schema/schema.graphql.
 */
export function storefrontTarget(schema: string): Target {
  return {
    schema,
    documents: ['examples/storefront/src/**/*.ts', '!examples/storefront/src/gql/**'],
    preset: 'client',
    presetConfig: { fragmentMasking: false, persistedDocuments: { hashAlgorithm: 'sha256' } },
    config: {
      documentMode: 'string',
      // Only the types the storefront's documents use: a change elsewhere in the schema leaves it alone.
      onlyOperationTypes: true,
      useTypeImports: true,
      enumsAsTypes: true,
      emitLegacyCommonJSImports: false,
      scalars: { DateTime: 'string', JSON: 'unknown', SafeInt: 'number' },
    },
  };
}

const config: CodegenConfig = {
  overwrite: true,
  generates: { 'examples/storefront/src/gql/': storefrontTarget('schema/schema.graphql') },
};

export default config;
