import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * Builds the storefront into examples/storefront/dist (`npm run storefront` builds, then serve.ts
 * serves it). The API's URL and key are not baked in: the page reads them from /config.js.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  logLevel: 'warn',
});
