import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`apt-get install -y chromium`), or CHROMIUM_PATH; browser tests drive it with playwright-core. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether chromium is installed, for `describe.runIf`. When it is not, says once which suite is
 * skipped and how to get chromium, so a skipped browser test never passes silently.
 */
export function chromiumAvailable(suite: string): boolean {
  const available = existsSync(CHROMIUM_PATH);
  if (!available) {
    console.log(
      `${suite} skipped: Debian's chromium is not installed at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH); .ci/run installs it`,
    );
  }
  return available;
}

/** Headless chromium with the flags the project uses on its machines (DESIGN §2). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
