import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index.js';
import type { ApiKeyScope } from '../domain/operator.js';
import { runCommand } from './command.js';
import { connectOperator } from './operator-client.js';

/**
 * `npm run apikey -- create --tenant acme [--scope read|write] [--any-document] [--label "ci"]` prints a new key once
 * (`--any-document`: it may send any document while TRUSTED_DOCUMENTS=required, for GraphiQL and tools);
 * `npm run apikey -- list [--tenant acme]` shows keys without secrets;
 * `npm run apikey -- revoke <id or prefix>` revokes one.
 * With PostgreSQL it writes to the database beside the servers; on the embedded database it goes
 * through the server that holds the data folder (or opens the folder when no server does), so a
 * key works, or stops working, from the server's next request on.
 * Keys are stored only as SHA-256 hashes; `API_KEYS` in the environment stays as a bootstrap.
 */
const USAGE = `usage:
  npm run apikey -- create --tenant <tenant> [--scope read|write] [--any-document] [--label <text>]
  npm run apikey -- list [--tenant <tenant>]
  npm run apikey -- revoke <key id or prefix>`;

runCommand('apikey', USAGE, async (fail) => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      scope: { type: 'string' },
      label: { type: 'string' },
      'any-document': { type: 'boolean' },
    },
  });
  const [command, target] = positionals;
  if (command !== 'create' && command !== 'list' && command !== 'revoke')
    return fail(`unknown command ${JSON.stringify(command ?? '')}`);
  if (command === 'create' && !/^[A-Za-z0-9_-]{1,64}$/.test(values.tenant ?? ''))
    return fail('--tenant must be 1 to 64 characters of [A-Za-z0-9_-]');
  const scope = (values.scope ?? 'write') as ApiKeyScope;
  if (scope !== 'read' && scope !== 'write') return fail('--scope must be read or write');
  if (command === 'revoke' && !target) return fail('revoke needs a key id or prefix');

  const operator = await connectOperator(loadConfig(process.env), 'apikey');
  try {
    if (command === 'create') {
      const { key, record } = await operator.createApiKey({
        tenant: values.tenant!,
        scope,
        label: values.label,
        anyDocument: values['any-document'] ?? false,
      });
      process.stdout.write(`${key}\n`);
      process.stderr.write(
        `created key ${record.id} (prefix ${record.prefix}, tenant ${record.tenant}, scope ${record.scope}${record.anyDocument ? ', any document' : ''}) through ${operator.via}; it is shown only now\n`,
      );
      return 0;
    }
    if (command === 'list') {
      const records = await operator.listApiKeys(values.tenant);
      for (const record of records) {
        const state = record.revokedAt ? `revoked ${record.revokedAt.toISOString()}` : 'active';
        process.stdout.write(
          `${record.id}  ${record.prefix}…  ${record.tenant}  ${record.scope}${record.anyDocument ? '+any-document' : ''}  ${state}  ${record.createdAt.toISOString()}${record.label ? `  ${record.label}` : ''}\n`,
        );
      }
      if (records.length === 0) process.stderr.write('no keys\n');
      return 0;
    }
    const revoked = await operator.revokeApiKey(target!);
    process.stdout.write(`revoked ${revoked.id} (prefix ${revoked.prefix}, tenant ${revoked.tenant})\n`);
    return 0;
  } finally {
    await operator.close();
  }
});
