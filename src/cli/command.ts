import { ConfigError } from '../config/index.js';
import { DomainError } from '../domain/errors.js';
import { OperatorCommandError } from './operator-client.js';

/**
 * Runs an operator command: its exit code is what `main` returns (2 for a usage error, through
 * `fail`); an expected refusal (a bad configuration, a key or checkout that does not exist, a
 * folder held by a process that cannot take the command) is one line on stderr and exit code 1.
 */
export function runCommand(
  name: string,
  usage: string,
  main: (fail: (message: string) => number) => Promise<number>,
): void {
  const fail = (message: string) => {
    process.stderr.write(`${message}\n${usage}\n`);
    return 2;
  };
  main(fail).then(
    (code) => process.exit(code),
    (error: unknown) => {
      const expected =
        error instanceof OperatorCommandError || error instanceof ConfigError || error instanceof DomainError;
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(expected ? `${message}\n` : `${name} failed: ${message}\n`);
      process.exit(1);
    },
  );
}
