import type { TestApp } from './app.js';

/**
 * The statements `run` costs, as the fewest of three tries. The database handle's counter counts
 * every statement of the app, the webhook dispatcher's and the sweeps' idle claims included, and
 * one of those can land inside a request now and then; a read repeated three times does not meet
 * one every time. `beforeEach` runs before every try (e.g. to drop the read model for a cold read).
 * Only for reads: a write run three times is three writes.
 */
export async function fewestStatements<T>(
  t: Pick<TestApp, 'app'>,
  run: () => Promise<T>,
  beforeEach: () => void = () => undefined,
): Promise<{ statements: number; result: T }> {
  let fewest: { statements: number; result: T } | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    beforeEach();
    const before = t.app.database.statementCount;
    const result = await run();
    const statements = t.app.database.statementCount - before;
    if (!fewest || statements < fewest.statements) fewest = { statements, result };
  }
  return fewest!;
}
