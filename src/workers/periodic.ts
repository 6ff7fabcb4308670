import type { Logger } from 'pino';

/** Rows a sweep handles per round at most; the next round takes the rest. */
export const SWEEP_BATCH = 100;

/** How often a sweep runs. */
export interface SweepTiming {
  /** Pause between rounds; by default a quarter of the sweep's deadline, from 1 to 30 seconds. */
  intervalMs?: number;
}

/** A deadline-driven round every instance runs: a quarter of its deadline apart, 1 to 30 seconds. */
export function roundIntervalMs(deadlineMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(deadlineMs / 4)));
}

/**
 * A sweep: `runOnce` every interval on every instance until stopped, one round at a time (the next
 * waits for the last). A failed round is logged and the next one runs as planned.
 *
 * Not a leased-work loop (leased-work.ts) on purpose: a sweep claims nothing. It reads a batch of
 * rows past a deadline and writes each under a guard that makes the write happen once however many
 * instances sweep at once (a status check under the row lock), so a lease would add a write per
 * row and protect nothing; and part of a round is not row work at all (pruning keys). Its rhythm
 * is the deadline's, not the arrival of work: there is nothing to wake it for.
 */
export abstract class PeriodicSweep<Result> {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly name: string,
    protected readonly logger: Logger,
    { deadlineMs, intervalMs }: SweepTiming & { deadlineMs: number },
  ) {
    this.intervalMs = intervalMs ?? roundIntervalMs(deadlineMs);
  }

  /** One round, run by the timer or directly (tests, tools). */
  abstract runOnce(): Promise<Result>;

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.round = this.runOnce()
        .catch((error: unknown) => this.logger.error({ err: error }, `${this.name} round failed`))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.intervalMs).unref();
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }
}
