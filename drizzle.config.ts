import { defineConfig } from 'drizzle-kit';

// Generates the one migration set shared by PGlite and PostgreSQL: `npm run db:generate`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './src/db/migrations',
});
