import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { schemaDocumentChecker } from '../app/trusted-documents.js';
import { loadConfig } from '../config/index.js';
import { brokenDocuments } from '../domain/trusted-documents.js';
import { schema } from '../schema/index.js';
import { runCommand } from './command.js';
import { connectOperator } from './operator-client.js';

/**
 * `npm run documents -- publish --tenant acme --app storefront --version 1.4.0 <persisted-documents.json>`
 * publishes an app version's trusted documents (validated against the schema);
 * `npm run documents -- list [--tenant acme] [--app storefront] [--all]` lists versions (`--all`: retired too);
 * `npm run documents -- retire --tenant acme --app storefront --version 1.3.0` stops serving one;
 * `npm run documents -- check` validates every live version against this checkout's schema and
 * fails when one would break (`npm run schema:check` runs it).
 * Like `npm run apikey`, it opens PostgreSQL beside the servers, or the embedded data folder when
 * no server holds it, or goes through the server that does (its operator credential in the lock file).
 */
const USAGE = `usage:
  npm run documents -- publish --tenant <tenant> --app <name> --version <version> <persisted-documents.json>
  npm run documents -- list [--tenant <tenant>] [--app <name>] [--all]
  npm run documents -- retire --tenant <tenant> --app <name> --version <version>
  npm run documents -- check`;

runCommand('documents', USAGE, async (fail) => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      app: { type: 'string' },
      version: { type: 'string' },
      all: { type: 'boolean' },
    },
  });
  const [command, file] = positionals;
  if (command !== 'publish' && command !== 'list' && command !== 'retire' && command !== 'check')
    return fail(`unknown command ${JSON.stringify(command ?? '')}`);
  const version = { tenant: values.tenant ?? '', appName: values.app ?? '', appVersion: values.version ?? '' };
  if ((command === 'publish' || command === 'retire') && (!version.tenant || !version.appName || !version.appVersion))
    return fail(`${command} needs --tenant, --app and --version`);
  if (command === 'publish' && !file) return fail('publish needs the manifest file (persisted-documents.json)');

  const config = loadConfig(process.env);
  // Nothing can have been published where no database is: the check passes without creating one.
  if (
    command === 'check' &&
    !config.databaseUrl &&
    (/^memory:\/\//.test(config.dataDir) || !existsSync(config.dataDir))
  ) {
    process.stderr.write(
      `no database at DATA_DIR=${config.dataDir} and no DATABASE_URL: no published documents to check\n`,
    );
    return 0;
  }
  const documents = command === 'publish' ? JSON.parse(await readFile(file!, 'utf8')) : undefined;
  const operator = await connectOperator(config, 'documents');
  try {
    if (command === 'publish') {
      const record = await operator.publishDocuments({ ...version, documents });
      process.stdout.write(
        `published ${record.appName} ${record.appVersion} for ${record.tenant}: ${record.documentCount} documents\n`,
      );
      process.stderr.write(`through ${operator.via}\n`);
      return 0;
    }
    if (command === 'retire') {
      const record = await operator.retireDocuments(version);
      process.stdout.write(`retired ${record.appName} ${record.appVersion} of ${record.tenant}\n`);
      return 0;
    }
    const manifests = await operator.listDocumentManifests({
      tenant: values.tenant,
      appName: values.app,
      includeRetired: command === 'list' && values.all === true,
    });
    if (command === 'list') {
      for (const manifest of manifests) {
        const state = manifest.retiredAt ? `retired ${manifest.retiredAt.toISOString()}` : 'live';
        process.stdout.write(
          `${manifest.tenant}  ${manifest.appName}  ${manifest.appVersion}  ${manifest.documentCount} documents  ${state}  ${manifest.createdAt.toISOString()}\n`,
        );
      }
      if (manifests.length === 0) process.stderr.write('no manifests\n');
      return 0;
    }
    const broken = brokenDocuments(manifests, schemaDocumentChecker(schema));
    for (const { manifest, hash, problems } of broken)
      process.stderr.write(
        `${manifest.tenant} ${manifest.appName} ${manifest.appVersion}: document sha256:${hash} breaks: ${problems.join('; ')}\n`,
      );
    process.stderr.write(
      broken.length > 0
        ? `the schema would break ${broken.length} published documents: keep the fields they use, or retire those app versions first (npm run documents -- retire)\n`
        : `${manifests.length} live app versions checked through ${operator.via}: none breaks\n`,
    );
    return broken.length > 0 ? 1 : 0;
  } finally {
    await operator.close();
  }
});
