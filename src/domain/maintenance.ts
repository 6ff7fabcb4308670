import type { Logger } from 'pino';
import type { CheckoutRepository } from '../db/repository.js';
import type { CheckoutService } from './checkout-service.js';

/** Settings of the periodic housekeeping. */
export interface MaintenanceOptions {
  /** A checkout PENDING this long has lost its create call: it becomes UNKNOWN. */
  pendingGraceMs: number;
  /** Idempotency keys are forgotten after this many hours. */
  idempotencyKeyTtlHours: number;
  /** Pause between rounds. */
  intervalMs?: number;
}

/** Checkouts turned UNKNOWN per round at most; the next round takes the rest. */
const SWEEP_BATCH = 100;

/**
 * Housekeeping every instance runs (each step is safe to run on several at once): checkouts left
 * PENDING by a crash become UNKNOWN after a grace period, and old idempotency keys are pruned.
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;

  constructor(
    private readonly repository: CheckoutRepository,
    private readonly service: CheckoutService,
    private readonly logger: Logger,
    private readonly options: MaintenanceOptions,
  ) {}

  start(): void {
    const intervalMs = this.options.intervalMs ?? Math.min(30_000, Math.max(1_000, Math.floor(this.options.pendingGraceMs / 4)));
    const tick = () => {
      this.round = this.runOnce()
        .catch((error: unknown) => this.logger.error({ err: error }, 'maintenance round failed'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round: returns how many checkouts became UNKNOWN and how many keys were pruned. */
  async runOnce(): Promise<{ abandoned: number; prunedKeys: number }> {
    const stale = await this.repository.stalePending(this.options.pendingGraceMs, SWEEP_BATCH);
    let abandoned = 0;
    for (const row of stale) {
      // False when the create call recorded its answer after all, between the look-up and the write.
      if (!(await this.service.markAbandoned(row))) continue;
      abandoned++;
      this.logger.warn({ checkoutId: row.id, provider: row.provider, createdAt: row.createdAt }, 'create call never answered: checkout is now UNKNOWN');
    }
    const prunedKeys = await this.repository.pruneIdempotencyKeys(this.options.idempotencyKeyTtlHours);
    if (prunedKeys) this.logger.info({ prunedKeys }, 'pruned idempotency keys');
    return { abandoned, prunedKeys };
  }
}
