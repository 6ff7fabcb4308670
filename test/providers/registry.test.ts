import { describe, expect, it } from 'vitest';
import { envSchema, loadConfig, secretVariables } from '../../src/config/index.js';
import { PROVIDERS } from '../../src/domain/checkout.js';
import { createProviderCatalog, hasStatusEndpoint, PROVIDER_REGISTRY } from '../../src/providers/index.js';
import { schema } from '../../src/schema/index.js';

/*
 * The provider registry is the one list the rest of the app iterates: each definition must agree
 * with the domain's provider names, with the provider it builds, with the GraphQL schema and with
 * the configuration.
 */

const config = loadConfig({ DATA_DIR: 'memory://' });
const catalog = createProviderCatalog(
  config,
  Object.fromEntries(PROVIDERS.map((name) => [name, 'http://127.0.0.1:9'])),
);

describe('the provider registry', () => {
  it('lists exactly the domain providers, in order', () => {
    expect(PROVIDER_REGISTRY.map((definition) => definition.name)).toEqual([...PROVIDERS]);
  });

  it.each(PROVIDER_REGISTRY.map((definition) => [definition.name, definition] as const))(
    '%s: its provider matches the definition (name, status endpoint, create idempotence)',
    (name, definition) => {
      const provider = catalog.get(name)!;
      expect(provider.name).toBe(name);
      expect(typeof provider.fetchStatus === 'function').toBe(definition.pollable);
      expect(hasStatusEndpoint(name)).toBe(definition.pollable);
      expect(provider.idempotentCreate).toBe(definition.idempotentCreate);
    },
  );

  it.each(PROVIDER_REGISTRY.map((definition) => [definition.name, definition] as const))(
    '%s: its GraphQL type, enum value, variables and secrets come from the definition',
    (name, definition) => {
      const type = schema.getType(definition.typename);
      expect(type?.name).toBe(definition.typename);
      const enumValue = schema.getType('CheckoutProvider')?.toConfig() as {
        values: Record<string, { description?: string }>;
      };
      expect(enumValue.values[name]?.description).toBe(definition.description);
      const variables = [`${definition.envPrefix}_BASE_URL`, `${definition.envPrefix}_TEST_MODE`];
      for (const variable of Object.values(definition.credentials)) variables.push(variable.env);
      for (const variable of Object.values(definition.settings)) variables.push(variable.env);
      for (const variable of variables) expect(envSchema.shape, variable).toHaveProperty(variable);
      for (const variable of Object.values(definition.credentials)) {
        expect(secretVariables().includes(variable.env), variable.env).toBe(variable.secret);
      }
      // Unset credentials are the sandbox's, which its own sandbox checks.
      expect(config.providers[name].credentials).toEqual(definition.sandboxCredentials);
    },
  );

  it('requires every credential of a provider reached by URL, naming the variable', () => {
    for (const definition of PROVIDER_REGISTRY) {
      const [first] = Object.values(definition.credentials);
      expect(() => loadConfig({ [`${definition.envPrefix}_BASE_URL`]: 'https://provider.example' })).toThrow(
        `${first!.env} is required when ${definition.envPrefix}_BASE_URL is set`,
      );
    }
  });
});
