import type { Logger } from 'pino';
import type { CheckoutRepository } from '../db/repository.js';
import type { CheckoutLifecycle } from '../domain/lifecycle.js';
import { PeriodicSweep, SWEEP_BATCH, type SweepTiming } from './periodic.js';

/** Settings of the periodic housekeeping (by default a round every quarter of the grace period). */
export interface MaintenanceOptions extends SweepTiming {
  /** A checkout PENDING this long has lost its create call: it becomes UNKNOWN. */
  pendingGraceMs: number;
  /** Idempotency keys are forgotten after this many hours. */
  idempotencyKeyTtlHours: number;
}

/**
 * Housekeeping every instance runs (each step is safe to run on several at once): checkouts left
 * PENDING by a crash become UNKNOWN after a grace period, and old idempotency keys are pruned.
 */
export class Maintenance extends PeriodicSweep<{ abandoned: number; prunedKeys: number }> {
  constructor(
    private readonly repository: CheckoutRepository,
    private readonly lifecycle: CheckoutLifecycle,
    logger: Logger,
    private readonly options: MaintenanceOptions,
  ) {
    super('maintenance', logger, { deadlineMs: options.pendingGraceMs, intervalMs: options.intervalMs });
  }

  /** One round: returns how many checkouts became UNKNOWN and how many keys were pruned. */
  async runOnce(): Promise<{ abandoned: number; prunedKeys: number }> {
    const stale = await this.repository.inStatusOlderThan('PENDING', this.options.pendingGraceMs, SWEEP_BATCH);
    let abandoned = 0;
    for (const row of stale) {
      // False when the create call recorded its answer after all, between the look-up and the write.
      if (!(await this.lifecycle.markAbandoned(row))) continue;
      abandoned++;
      this.logger.warn(
        { checkoutId: row.id, provider: row.provider, createdAt: row.createdAt },
        'create call never answered: checkout is now UNKNOWN',
      );
    }
    const prunedKeys = await this.repository.pruneIdempotencyKeys(this.options.idempotencyKeyTtlHours);
    if (prunedKeys) this.logger.info({ prunedKeys }, 'pruned idempotency keys');
    return { abandoned, prunedKeys };
  }
}
