import { buildApp } from './app/index.js';
import { type AppConfig, ConfigError, loadConfig } from './config/index.js';

/** Starts the API from the environment; SIGTERM/SIGINT stop it gracefully. */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await buildApp(config);
  await app.start();
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
