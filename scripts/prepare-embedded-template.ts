/**
 * `npm install`'s postinstall: makes the embedded database's template (src/db/embedded-template.ts)
 * for the installed PGlite and this checkout's migrations, so that the first `npm start` of a fresh
 * install copies it (about 0.25 s) instead of making it (about 3 s of one core). Never fails the
 * install: where it cannot run (no sources yet, as in the Docker image's dependency layer, or a
 * read-only node_modules), the first start makes the folder as before, and says so.
 */
import { fileURLToPath } from 'node:url';

const migrationsFolder = fileURLToPath(new URL('../src/db/migrations', import.meta.url));
const started = performance.now();
try {
  const { ensureTemplate } = await import('../src/db/embedded-template.js');
  const template = await ensureTemplate(migrationsFolder);
  console.log(`embedded database template ready in ${Math.round(performance.now() - started)} ms: ${template}`);
} catch (error) {
  console.log(
    `embedded database template not made (the first npm start makes its data folder instead): ${String(error)}`,
  );
}
