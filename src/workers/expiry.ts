import type { Logger } from 'pino';
import type { CheckoutRepository } from '../db/repository.js';
import type { CheckoutLifecycle } from '../domain/lifecycle.js';
import { PeriodicSweep, SWEEP_BATCH, type SweepTiming } from './periodic.js';

/** Settings of the expiry sweep (by default a round every quarter of the TTL). */
export interface ExpiryOptions extends SweepTiming {
  /** An OPEN checkout this old (seconds since creation) becomes EXPIRED. */
  openTtlSeconds: number;
}

/**
 * Ends the OPEN checkouts nobody reported an outcome for (hosted links, sessions): EXPIRED after
 * their TTL. Every instance runs it; each write is guarded by `OPEN` under the row lock, so a
 * checkout gets exactly one EXPIRED event however many instances sweep at once.
 */
export class ExpirySweep extends PeriodicSweep<{ expired: number }> {
  constructor(
    private readonly repository: CheckoutRepository,
    private readonly lifecycle: CheckoutLifecycle,
    logger: Logger,
    private readonly options: ExpiryOptions,
  ) {
    super('expiry', logger, { deadlineMs: options.openTtlSeconds * 1000, intervalMs: options.intervalMs });
  }

  /** One round: returns how many checkouts this instance expired. */
  async runOnce(): Promise<{ expired: number }> {
    const open = await this.repository.inStatusOlderThan('OPEN', this.options.openTtlSeconds * 1000, SWEEP_BATCH);
    let expired = 0;
    for (const row of open) {
      // False when another instance expired it first, or an outcome was recorded meanwhile.
      if (!(await this.lifecycle.expire(row, this.options.openTtlSeconds))) continue;
      expired++;
      this.logger.info(
        { checkoutId: row.id, provider: row.provider, createdAt: row.createdAt },
        'open checkout expired',
      );
    }
    return { expired };
  }
}
