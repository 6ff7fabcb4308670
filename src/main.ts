// Only the logger is imported up front: the first line is written before the configuration (which
// loads every provider) and the app (GraphQL, the database, the sandboxes) are loaded, which takes
// a second or more, so a person sees at once that the service is starting.
import { createLogger, type Logger } from './logger.js';

/** LOG_LEVEL for the first lines, before the configuration checks it (an invalid one is refused there). */
const PINO_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Starts the API from the environment; SIGTERM/SIGINT stop it gracefully. */
async function main(): Promise<void> {
  const startedAt = performance.now();
  const level = process.env.LOG_LEVEL?.trim() || 'info';
  const logger: Logger = createLogger(PINO_LEVELS.has(level) ? level : 'info');
  logger.info({ node: process.version, pid: process.pid }, 'starting checkout graph …');
  const { ConfigError, loadConfig } = await import('./config/index.js');
  let config: import('./config/index.js').AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const { buildApp } = await import('./app/index.js');
  const app = await buildApp(config);
  try {
    await app.start();
  } catch (error) {
    // What was opened is closed (the data folder with it), then the caller prints the one line.
    await app.stop();
    throw error;
  }
  const startupMs = Math.round(performance.now() - startedAt);
  app.logger.info({ startupMs }, `started in ${startupMs} ms`);
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    // A second signal means the operator will not wait: leave at once.
    if (++signals > 1) process.exit(1);
    app.logger.info({ signal }, 'stopping');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        app.logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // PGlite cannot go on after a failed WAL write (PostgreSQL itself would restart): stop, and exit
  // non-zero so that the supervisor starts a new process, which replays the WAL.
  void app.database.failure?.then(() => {
    setTimeout(() => process.exit(1), 15_000).unref();
    app.stop().finally(() => process.exit(1));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`Start-up failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
