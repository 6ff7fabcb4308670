import type { Logger } from 'pino';
import type { CheckoutRepository } from '../db/repository.js';
import type { CheckoutLifecycle } from './lifecycle.js';

/** Settings of the periodic housekeeping. */
export interface MaintenanceOptions {
  /** A checkout PENDING this long has lost its create call: it becomes UNKNOWN. */
  pendingGraceMs: number;
  /** Idempotency keys are forgotten after this many hours. */
  idempotencyKeyTtlHours: number;
  /** An OPEN checkout this old (seconds since creation) becomes EXPIRED. */
  openTtlSeconds: number;
  /** Pause between rounds; by default a quarter of the shortest deadline, from 1 to 30 seconds. */
  intervalMs?: number;
}

/** Checkouts turned UNKNOWN (or EXPIRED) per round at most; the next round takes the rest. */
const SWEEP_BATCH = 100;

/**
 * Housekeeping every instance runs (each step is safe to run on several at once: every write is
 * guarded by the status it starts from, under the row lock, so one checkout gets one event):
 * checkouts left PENDING by a crash become UNKNOWN after a grace period, OPEN checkouts nobody
 * reported an outcome for become EXPIRED after their TTL, and old idempotency keys are pruned.
 */
export class Maintenance {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;

  constructor(
    private readonly repository: CheckoutRepository,
    private readonly lifecycle: CheckoutLifecycle,
    private readonly logger: Logger,
    private readonly options: MaintenanceOptions,
  ) {}

  start(): void {
    const shortestDeadlineMs = Math.min(this.options.pendingGraceMs, this.options.openTtlSeconds * 1000);
    const intervalMs = this.options.intervalMs ?? Math.min(30_000, Math.max(1_000, Math.floor(shortestDeadlineMs / 4)));
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

  /** One round: how many checkouts became UNKNOWN and EXPIRED, and how many keys were pruned. */
  async runOnce(): Promise<{ abandoned: number; expired: number; prunedKeys: number }> {
    const stale = await this.repository.inStatusOlderThan('PENDING', this.options.pendingGraceMs, SWEEP_BATCH);
    let abandoned = 0;
    for (const row of stale) {
      // False when the create call recorded its answer after all, between the look-up and the write.
      if (!(await this.lifecycle.markAbandoned(row))) continue;
      abandoned++;
      this.logger.warn({ checkoutId: row.id, provider: row.provider, createdAt: row.createdAt }, 'create call never answered: checkout is now UNKNOWN');
    }
    const open = await this.repository.inStatusOlderThan('OPEN', this.options.openTtlSeconds * 1000, SWEEP_BATCH);
    let expired = 0;
    for (const row of open) {
      // False when another instance expired it first, or an outcome was recorded meanwhile.
      if (!(await this.lifecycle.expire(row, this.options.openTtlSeconds))) continue;
      expired++;
      this.logger.info({ checkoutId: row.id, provider: row.provider, createdAt: row.createdAt }, 'open checkout expired');
    }
    const prunedKeys = await this.repository.pruneIdempotencyKeys(this.options.idempotencyKeyTtlHours);
    if (prunedKeys) this.logger.info({ prunedKeys }, 'pruned idempotency keys');
    return { abandoned, expired, prunedKeys };
  }
}
