import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/index.js';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import type { Logger } from '../logger.js';
import { sandboxedProviders } from '../providers/index.js';
import { startSandboxes, type RunningSandboxes } from '../providers/sandboxes.js';
import { createRealtimeBus, type RealtimeBus } from '../realtime/pubsub.js';
import { startTracing, type Tracing } from '../telemetry.js';
import type { DisposalStack } from './disposal.js';

/** What the app opens before it wires anything: each is closed by the disposal stack. */
export interface AppResources {
  /** Tracing of GraphQL operations, when a collector is configured. */
  tracing: Tracing | undefined;
  /** The database, migrated. */
  database: DatabaseHandle;
  /** Built-in sandboxes of the providers without a base URL. */
  sandboxes: RunningSandboxes;
  /** Pub/sub (and Redis, when configured). */
  bus: RealtimeBus;
}

/**
 * Opens every resource in order, registering each on `stack` as soon as it is open: if a later
 * one fails, the earlier ones are closed by the caller's `stack.dispose()`. Tracing comes first so
 * that it closes last, after the spans of the last operations were made.
 */
export async function openResources(config: AppConfig, logger: Logger, stack: DisposalStack): Promise<AppResources> {
  const tracing = config.tracing
    ? stack.use('tracing', startTracing(config.tracing), (opened) =>
        opened.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'could not export the last traces')),
      )
    : undefined;
  const openingDatabase = performance.now();
  const { description, ...opening } = describeDatabase(config);
  logger.info(opening, `opening the database: ${description}`);
  const database = stack.use(
    'database',
    await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      onIdleConnectionError: (error) =>
        logger.warn({ err: error }, 'an idle PostgreSQL connection failed; the pool replaces it'),
      onDiskWriteFailure: (error) =>
        logger.error(
          { err: error },
          'the disk under the data folder refuses writes; writes answer SERVICE_UNAVAILABLE',
        ),
      onDiskWritable: (downForMs) => logger.info({ downForMs }, 'the disk under the data folder takes writes again'),
    }),
    (opened) => opened.close(),
  );
  logger.info(
    {
      database: database.kind,
      ms: Math.round(performance.now() - openingDatabase),
      ...(database.newDataFolder && { newDataFolder: database.newDataFolder }),
    },
    database.newDataFolder === 'template'
      ? 'database ready: the new folder is a copy of the template, migrations applied'
      : 'database ready, migrations applied',
  );
  void database.failure?.then((error) =>
    logger.fatal(
      { err: error.cause },
      'the embedded database stopped after a failed disk write; the process must restart',
    ),
  );
  const sandboxes = stack.use(
    'sandboxes',
    await startSandboxes(config, sandboxedProviders(config), { faults: config.sandboxFaults }),
    (opened) => opened.close(),
  );
  for (const [provider, url] of Object.entries(sandboxes.urls))
    logger.info({ provider, url }, 'provider sandbox started');
  for (const [provider, settings] of Object.entries(config.providers)) {
    if (!settings.baseUrl) continue;
    const live = { provider, url: new URL(settings.baseUrl).origin, testMode: settings.testMode };
    logger.info(live, `provider ${provider} live at ${live.url}${settings.testMode ? ' (test mode)' : ''}`);
  }
  if (Object.keys(sandboxes.urls).length > 0) {
    if (config.sandboxFaults)
      logger.warn(
        { sandboxFaults: 'on' },
        'SANDBOX_FAULTS=on: the sandboxes inject faults on request (/__faults, loopback only)',
      );
    else logger.info({ sandboxFaults: 'off' }, 'sandbox fault injection off');
  }
  const bus = stack.use(
    'pub/sub',
    await createRealtimeBus(config.redisUrl, {
      commandTimeoutMs: config.redisCommandTimeoutMs,
      onConnectionError: (error) => logger.warn({ err: error.message }, 'Redis connection error; reconnecting'),
    }),
    (opened) => opened.close(),
  );
  logger.info(
    { pubsub: bus.kind },
    bus.kind === 'redis'
      ? `pub/sub: Redis at ${redisAddress(config.redisUrl)}`
      : 'pub/sub: in memory (this process only)',
  );
  return { tracing, database, sandboxes, bus };
}

/** What the start-up line says about the database: never a password. */
function describeDatabase(config: AppConfig): {
  description: string;
  database: 'postgres' | 'pglite';
  host?: string;
  dataDir?: string;
  created?: boolean;
} {
  if (config.databaseUrl) {
    const url = new URL(config.databaseUrl);
    return { description: `PostgreSQL at ${url.host}${url.pathname}`, database: 'postgres', host: url.host };
  }
  if (config.dataDir.startsWith('memory://'))
    return { description: 'PGlite in memory', database: 'pglite', dataDir: config.dataDir };
  const created = !existsSync(join(config.dataDir, 'PG_VERSION'));
  return {
    description: `PGlite in ${config.dataDir}${created ? ' (new)' : ''}`,
    database: 'pglite',
    dataDir: config.dataDir,
    created,
  };
}

/** host:port of a Redis URL, without its credentials. */
function redisAddress(redisUrl: string | undefined): string {
  return redisUrl ? new URL(redisUrl).host : '';
}
