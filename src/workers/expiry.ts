import type { Logger } from 'pino';
import type { CheckoutRepository } from '../db/repository.js';
import type { CheckoutLifecycle } from '../domain/lifecycle.js';
import { PeriodicWorker, roundIntervalMs } from './periodic.js';

/** Settings of the expiry sweep. */
export interface ExpiryOptions {
  /** An OPEN checkout this old (seconds since creation) becomes EXPIRED. */
  openTtlSeconds: number;
  /** Pause between rounds; by default a quarter of the TTL, from 1 to 30 seconds. */
  intervalMs?: number;
}

/** Checkouts expired per round at most; the next round takes the rest. */
const SWEEP_BATCH = 100;

/**
 * Ends the OPEN checkouts nobody reported an outcome for (hosted links, sessions): EXPIRED after
 * their TTL. Every instance runs it; each write is guarded by `OPEN` under the row lock, so a
 * checkout gets exactly one EXPIRED event however many instances sweep at once.
 */
export class ExpirySweep {
  private readonly worker: PeriodicWorker<unknown>;

  constructor(
    private readonly repository: CheckoutRepository,
    private readonly lifecycle: CheckoutLifecycle,
    private readonly logger: Logger,
    private readonly options: ExpiryOptions,
  ) {
    const intervalMs = options.intervalMs ?? roundIntervalMs(options.openTtlSeconds * 1000);
    this.worker = new PeriodicWorker('expiry', () => this.runOnce(), intervalMs, logger);
  }

  start(): void {
    this.worker.start();
  }

  stop(): Promise<void> {
    return this.worker.stop();
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
