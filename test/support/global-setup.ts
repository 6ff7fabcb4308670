import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LOGS = fileURLToPath(new URL('../../test-results/logs/', import.meta.url));

/**
 * Says once per run which database the suite uses (so a run without PostgreSQL says so), and
 * after the run scans every log line every test app wrote for every secret configured in any of
 * them (API keys, provider credentials): one found fails the run.
 */
export default function setup(): () => void {
  const url = process.env.DATABASE_URL;
  process.stdout.write(
    url
      ? `Database: PostgreSQL (${url.replace(/\/\/[^@/]*@/, '//***@')})\n`
      : 'Database: embedded PGlite in memory. PostgreSQL runs skipped: set DATABASE_URL to run the suite against PostgreSQL.\n',
  );
  rmSync(LOGS, { recursive: true, force: true });
  return scanLogsForSecrets;
}

function scanLogsForSecrets(): void {
  if (!existsSync(LOGS)) return;
  const apps = readdirSync(LOGS).map(
    (file) => JSON.parse(readFileSync(`${LOGS}${file}`, 'utf8')) as { secrets: string[]; lines: string[] },
  );
  const secrets = [...new Set(apps.flatMap((app) => app.secrets))];
  let lines = 0;
  const leaks: string[] = [];
  for (const app of apps) {
    for (const line of app.lines) {
      lines++;
      // Name the leak by its position only: printing the secret would leak it again.
      const found = secrets.findIndex((secret) => line.includes(secret));
      if (found >= 0)
        leaks.push(`secret #${found} in a log line: ${line.slice(0, 80).replaceAll(secrets[found]!, '[secret]')}…`);
    }
  }
  process.stdout.write(
    `secrets scan: ${lines} log lines from ${apps.length} test apps checked for ${secrets.length} configured secrets: ${leaks.length} found\n`,
  );
  if (leaks.length) throw new Error(`Configured secrets appear in logs:\n${leaks.slice(0, 10).join('\n')}`);
}
