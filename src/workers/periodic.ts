import type { Logger } from 'pino';

/** A deadline-driven round every instance runs: a quarter of its deadline apart, 1 to 30 seconds. */
export function roundIntervalMs(deadlineMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(deadlineMs / 4)));
}

/**
 * Runs `round` every `intervalMs` until stopped, one round at a time (the next waits for the last).
 * A failed round is logged and the next one runs as planned.
 */
export class PeriodicWorker<Result> {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;

  constructor(
    private readonly name: string,
    private readonly runRound: () => Promise<Result>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.round = this.runRound()
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
