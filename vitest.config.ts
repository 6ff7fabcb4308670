import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// One copy of graphql for everything: Vite would otherwise load graphql's ESM build for our code
// while Yoga uses the CommonJS one, and errors from one copy are not recognised by the other.
const graphqlEntry = createRequire(import.meta.url).resolve('graphql');

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Test files start real servers and databases; two cores are all the machine has.
    maxWorkers: 2,
  },
});
