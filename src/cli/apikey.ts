import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import { ApiKeyRepository, type ApiKeyScope } from '../db/api-keys.js';
import { openDatabase } from '../db/client.js';

/**
 * `npm run apikey -- create --tenant acme [--scope read|write] [--label "ci"]` prints a new key once;
 * `npm run apikey -- list [--tenant acme]` shows keys without secrets;
 * `npm run apikey -- revoke <id or prefix>` revokes one (servers stop accepting it within 5 s).
 * Keys are stored only as SHA-256 hashes; `API_KEYS` in the environment stays as a bootstrap.
 */
const USAGE = `usage:
  npm run apikey -- create --tenant <tenant> [--scope read|write] [--label <text>]
  npm run apikey -- list [--tenant <tenant>]
  npm run apikey -- revoke <key id or prefix>`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { tenant: { type: 'string' }, scope: { type: 'string' }, label: { type: 'string' } },
  });
  const [command, target] = positionals;
  const fail = (message: string) => {
    process.stderr.write(`${message}\n${USAGE}\n`);
    return 2;
  };
  if (command !== 'create' && command !== 'list' && command !== 'revoke')
    return fail(`unknown command ${JSON.stringify(command ?? '')}`);
  if (command === 'create' && !/^[A-Za-z0-9_-]{1,64}$/.test(values.tenant ?? ''))
    return fail('--tenant must be 1 to 64 characters of [A-Za-z0-9_-]');
  const scope = (values.scope ?? 'write') as ApiKeyScope;
  if (scope !== 'read' && scope !== 'write') return fail('--scope must be read or write');
  if (command === 'revoke' && !target) return fail('revoke needs a key id or prefix');

  const config = loadConfig(process.env);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const keys = new ApiKeyRepository(database.db);
    if (command === 'create') {
      const { key, row } = await keys.create(values.tenant!, scope, values.label);
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `created key ${row.id} (prefix ${row.prefix}, tenant ${row.tenant}, scope ${row.scope}); it is shown only now\n`,
      );
      return 0;
    }
    if (command === 'list') {
      const rows = await keys.list(values.tenant);
      for (const row of rows) {
        const state = row.revokedAt ? `revoked ${row.revokedAt.toISOString()}` : 'active';
        process.stdout.write(
          `${row.id}  ${row.prefix}…  ${row.tenant}  ${row.scope}  ${state}  ${row.createdAt.toISOString()}${row.label ? `  ${row.label}` : ''}\n`,
        );
      }
      if (rows.length === 0) process.stderr.write('no keys\n');
      return 0;
    }
    const revoked = await keys.revoke(target!);
    if (revoked === 0) {
      process.stderr.write(`no active key with id or prefix ${target}\n`);
      return 1;
    }
    process.stdout.write(`revoked ${target}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`apikey failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
