import type { Logger } from 'pino';
import { isTerminal, type CheckoutStatus, type ProviderName } from './checkout.js';
import { CheckoutFinalError, ValidationError } from './errors.js';
import type { ApplyOptions, ChangePublisher, CheckoutStore, ScheduleChange, SnapshotResult } from './ports.js';
import type { CheckoutRecord } from './records.js';
import type { ProviderSnapshot } from './snapshot.js';

/** Who ended a checkout by hand: the merchant through the API, or an operator with `checkout:resolve`. */
export type OutcomeSource = 'merchant' | 'operator';

/** The statuses a merchant may record: how a checkout ended. */
export const MERCHANT_OUTCOMES: readonly CheckoutStatus[] = ['COMPLETED', 'FAILED', 'EXPIRED'];

/** An outcome learnt outside the provider's API (its dashboard, a return URL, an operator's call). */
export interface OutcomeRequest {
  status: CheckoutStatus;
  /** Why; becomes the checkout's notes and its event's. */
  note?: string | null;
  /** Operators only: the provider's id of a checkout whose create answer was lost. */
  providerCheckoutId?: string | null;
}

/** Counters the lifecycle reports to (Prometheus in the app). */
export interface LifecycleMetrics {
  unreadableAnswers: { inc(labels: { provider: string }): void };
  lifecycleEnds: { inc(labels: { reason: 'expired' | 'polling_given_up' | 'merchant_outcome' }): void };
}

/** What the lifecycle needs from the rest of the app. */
export interface CheckoutLifecycleOptions {
  store: Pick<CheckoutStore, 'applySnapshot'>;
  /** Where status changes are published (every instance, with Redis). */
  publisher: ChangePublisher;
  /** True for providers with a status endpoint: their checkouts are polled and report their own outcome. */
  isPolled(provider: ProviderName): boolean;
  logger: Logger;
  metrics?: LifecycleMetrics;
}

/** At most this many times a recorded outcome is re-decided when the checkout changed under it. */
const MAX_OUTCOME_ATTEMPTS = 3;

/**
 * The one place a checkout's state is written and its change published, and every status change
 * that no provider call makes: outcomes recorded by the merchant or an operator, open checkouts
 * expiring, polling given up, creates lost with their process. Each write is guarded by the
 * statuses it may start from, checked under the row lock, so instances running the same sweep at
 * once write (and publish) each change exactly once.
 */
export class CheckoutLifecycle {
  constructor(private readonly options: CheckoutLifecycleOptions) {}

  /**
   * Writes a snapshot with its schedule change in one transaction and publishes the status change,
   * if any, after commit. An answer with unreadable parts is counted and logged once here.
   */
  async apply(
    row: CheckoutRecord,
    snapshot: ProviderSnapshot,
    source: string,
    options: ApplyOptions = {},
  ): Promise<SnapshotResult> {
    const result = await this.options.store.applySnapshot(row, snapshot, source, options);
    if (result.event) this.options.publisher.publish(result.row, result.event);
    if (result.written && snapshot.unreadable?.length) {
      this.options.metrics?.unreadableAnswers.inc({ provider: row.provider });
      this.options.logger.warn(
        { checkoutId: row.id, provider: row.provider, status: snapshot.status, unreadable: snapshot.unreadable },
        'provider answer recorded with parts that could not be read exactly',
      );
    }
    return result;
  }

  /**
   * Records an outcome. For the merchant: COMPLETED, FAILED or EXPIRED, from OPEN or PENDING at a
   * provider that cannot report one (no status endpoint) or from UNKNOWN at any provider. The same
   * outcome again answers the checkout as it is, without a second event; another final status is a
   * CheckoutFinalError. Operators may set any status from any status (they correct records).
   */
  async recordOutcome(row: CheckoutRecord, request: OutcomeRequest, source: OutcomeSource): Promise<CheckoutRecord> {
    let current = row;
    for (let attempt = 0; attempt < MAX_OUTCOME_ATTEMPTS; attempt++) {
      const from = source === 'operator' ? undefined : this.merchantMayRecord(current, request.status);
      if (from === 'repeat') return current;
      const result = await this.apply(current, this.outcomeSnapshot(request, source), source, {
        onlyFrom: from,
        schedule: this.scheduleAfterOutcome(current, request, source),
      });
      if (result.written) {
        if (source === 'merchant') this.options.metrics?.lifecycleEnds.inc({ reason: 'merchant_outcome' });
        return result.row;
      }
      // Changed since it was read (a poll, the expiry sweep, another merchant call): decide again.
      current = result.row;
    }
    throw new Error(`checkout ${row.id} kept changing while an outcome was recorded`);
  }

  /** An OPEN checkout nobody reported an outcome for within the TTL becomes EXPIRED; false when it is no longer OPEN. */
  async expire(row: CheckoutRecord, ttlSeconds: number): Promise<boolean> {
    const { written } = await this.apply(
      row,
      {
        status: 'EXPIRED',
        notes: `No outcome was reported within ${formatDuration(ttlSeconds)} of creation (CHECKOUT_OPEN_TTL_SECONDS=${ttlSeconds}), so the checkout expired`,
      },
      'api',
      { onlyFrom: 'OPEN', schedule: { kind: 'remove' } },
    );
    if (written) this.options.metrics?.lifecycleEnds.inc({ reason: 'expired' });
    return written;
  }

  /**
   * Polling stops for a checkout whose provider answered `count` times in a row with something
   * asking again cannot fix: it becomes UNKNOWN (still resolvable by the merchant or an operator).
   * False when `owner` no longer holds the poll or the checkout changed meanwhile.
   */
  async giveUpPolling(row: CheckoutRecord, count: number, lastError: string): Promise<boolean> {
    const { written } = await this.apply(
      row,
      {
        status: 'UNKNOWN',
        notes: `Polling stopped after ${count} unusable answers in a row from the provider (last: ${lastError}); the outcome is unknown: record it with recordCheckoutOutcome or have an operator resolve it`,
      },
      'api',
      { onlyFrom: row.status, schedule: { kind: 'remove' } },
    );
    if (written) this.options.metrics?.lifecycleEnds.inc({ reason: 'polling_given_up' });
    return written;
  }

  /**
   * A checkout whose create call died with its process (row written, answer never recorded)
   * becomes UNKNOWN: the provider may or may not have acted, and it is not asked again blindly.
   */
  async markAbandoned(row: CheckoutRecord): Promise<boolean> {
    const { written } = await this.apply(
      row,
      {
        status: 'UNKNOWN',
        notes:
          "The provider's answer to the create call was never recorded (the process stopped); the provider may have created the checkout",
      },
      'api',
      // The create call may have finished since the row was found stale: then its answer stands.
      { onlyFrom: 'PENDING' },
    );
    return written;
  }

  /** The statuses a merchant's outcome may be written from, 'repeat' for the outcome already recorded, or why not. */
  private merchantMayRecord(row: CheckoutRecord, status: CheckoutStatus): readonly CheckoutStatus[] | 'repeat' {
    if (!MERCHANT_OUTCOMES.includes(status)) {
      throw new ValidationError([
        {
          path: ['input', 'status'],
          message: `must be one of ${MERCHANT_OUTCOMES.join(', ')}: how the checkout ended`,
        },
      ]);
    }
    const current = row.status;
    if (current === status) return 'repeat';
    if (isTerminal(current)) throw new CheckoutFinalError(row.id, row.provider, current, status);
    const from: readonly CheckoutStatus[] = this.options.isPolled(row.provider)
      ? ['UNKNOWN']
      : ['OPEN', 'PENDING', 'UNKNOWN'];
    if (!from.includes(current)) {
      throw new ValidationError([
        {
          path: ['input', 'status'],
          message: `cannot be recorded while the checkout is ${current}: its provider reports the outcome itself (an outcome can be recorded once it is UNKNOWN)`,
        },
      ]);
    }
    return from;
  }

  private outcomeSnapshot(request: OutcomeRequest, source: OutcomeSource): ProviderSnapshot {
    const note = request.note?.trim() || `Recorded by the ${source} as ${request.status}`;
    return {
      status: request.status,
      notes: note,
      ...(request.providerCheckoutId && { providerCheckoutId: request.providerCheckoutId }),
    };
  }

  /** Final: no more polls. An operator's non-final status with a provider id at a polled provider: the poller follows it. */
  private scheduleAfterOutcome(row: CheckoutRecord, request: OutcomeRequest, source: OutcomeSource): ScheduleChange {
    if (isTerminal(request.status)) return { kind: 'remove' };
    const providerCheckoutId = request.providerCheckoutId ?? row.providerCheckoutId;
    const follow = source === 'operator' && providerCheckoutId && this.options.isPolled(row.provider);
    return follow ? { kind: 'ensure', delayMs: 0 } : { kind: 'keep' };
  }
}

/** 86400 -> "24 h", 90 -> "90 s", 3600 -> "1 h", 600 -> "10 min". */
function formatDuration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
