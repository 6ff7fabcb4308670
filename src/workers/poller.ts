import { createHash, randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { ClaimedPoll, CheckoutRepository, UnchangedPollMove } from '../db/repository.js';
import type { CheckoutService } from '../domain/checkout-service.js';
import type { CheckoutLifecycle } from '../domain/lifecycle.js';
import { isTerminal } from '../domain/checkout.js';
import { ProviderError } from '../domain/errors.js';
import { publicCheckoutId } from '../domain/public-id.js';
import type { ProviderSnapshot } from '../domain/snapshot.js';
import type { AppMetrics } from '../metrics.js';
import { backoffMs } from './backoff.js';
import { LeasedWork } from './leased-work.js';

/** Settings of the shared status poller. */
export interface PollerOptions {
  /** Identifies this instance's leases in the database. */
  instanceId: string;
  /** First interval between polls of a checkout; doubles while nothing changes. */
  intervalMs: number;
  /** Longest interval between polls (backoff cap). */
  maxIntervalMs: number;
  /** How long a claimed poll is ours; must exceed the provider timeout. */
  leaseMs: number;
  /**
   * Unusable answers in a row (a 4xx other than 401/403, a body we cannot read) after which a
   * checkout becomes UNKNOWN and is no longer polled. Transport faults never count.
   */
  maxAnswerErrors: number;
  /** Most schedules claimed per round trip. */
  batchSize?: number;
  /** Provider requests in flight at once. */
  concurrency?: number;
  /** Pause between looks for due schedules when there was nothing to do. */
  idleMs?: number;
  /** Source of jitter in [0, 1); tests pass a fixed one. */
  random?: () => number;
  /** Where polls and schedule lag are counted. */
  metrics?: Pick<AppMetrics, 'polls' | 'scheduleLag'>;
}

/**
 * The one poller behind every subscription: it polls each pollable checkout on its durable
 * schedule, however many clients watch it (0 or 10,000 subscribers cause the same provider GETs).
 * Due schedules are claimed with leases, so instances sharing a database never poll one checkout
 * at once, and the leases of a crashed instance lapse and are taken over.
 */
export class Poller {
  /**
   * Keeps up to `concurrency` polls in flight, claiming only as many schedules as there are free
   * slots: one slow provider answer holds one slot, not the whole poller. Its signal aborts the
   * provider requests in flight on stop, so shutdown never waits out a provider timeout.
   */
  private readonly work: LeasedWork<ClaimedPoll>;
  private readonly random: () => number;
  /** Counters since start, for logs, metrics and tests. */
  readonly stats = { polls: 0, changes: 0, errors: 0 };
  /**
   * Moves the schedules of the polls answered in one turn of the event loop in one statement
   * (`reschedulePollsIfRowsUnchanged`): most answers repeat the last one, and under load dozens
   * arrive together, each of which would otherwise cost a statement of its own. Resolves each to
   * true once its schedule moved, false when the row was written since the poll read it.
   */
  private readonly unchangedMoves: DataLoader<UnchangedPollMove, boolean>;

  constructor(
    private readonly repository: CheckoutRepository,
    private readonly service: CheckoutService,
    private readonly lifecycle: CheckoutLifecycle,
    private readonly logger: Logger,
    private readonly options: PollerOptions,
  ) {
    this.random = options.random ?? Math.random;
    const concurrency = options.concurrency ?? 32;
    // While polls keep coming due it looks every 50 ms at most, so a first poll is at most that late
    // (an empty claim is one index look-up); a poller with nothing to do backs off to 250 ms.
    const idleMs = options.idleMs ?? Math.min(50, Math.max(10, Math.floor(options.intervalMs / 4)));
    const maxIdleMs = Math.max(idleMs, Math.min(250, Math.floor(options.intervalMs / 4)));
    this.work = new LeasedWork({
      what: 'polls',
      claim: (limit) => repository.claimDuePolls(options.instanceId, limit, options.leaseMs),
      run: (claim) => this.pollOne(claim),
      concurrency,
      maxClaim: options.batchSize ?? 100,
      // Each claim is a database round trip: a busy poller claims once a quarter of its slots are
      // free, not once per freed slot, which would add a claim to every poll.
      claimBatch: Math.floor(concurrency / 4),
      idle: { minMs: idleMs, maxMs: maxIdleMs },
      release: () => repository.releaseLeases(options.instanceId),
      logger,
    });
    this.unchangedMoves = new DataLoader(
      async (moves) => {
        const moved = await repository.reschedulePollsIfRowsUnchanged(options.instanceId, moves);
        return moves.map((move) => moved.has(move.checkoutId));
      },
      // Every answer of one turn in one batch (DataLoader's default ends a batch with the current tick).
      { cache: false, batchScheduleFn: (callback) => setImmediate(callback) },
    );
  }

  start(): void {
    this.work.start();
  }

  /** Stops claiming, aborts in-flight polls (each hands its schedule back), and gives back this instance's leases. */
  async stop(): Promise<void> {
    if (!this.work.active) return;
    const released = await this.work.stop();
    this.logger.info({ released, ...this.stats }, 'poller stopped');
  }

  /** Claims one batch of due schedules and polls them; resolves to how many were claimed. */
  pollDue(): Promise<number> {
    return this.work.runOnce();
  }

  /** The delay before the next poll after `attempts` polls without change: exponential, jittered ±20%. */
  backoffMs(attempts: number): number {
    const { intervalMs, maxIntervalMs } = this.options;
    return backoffMs(attempts, { baseMs: intervalMs, minMs: intervalMs, maxMs: maxIntervalMs, random: this.random });
  }

  /** Polls one claimed schedule as its own unit of work: its log lines and provider call share one request id. */
  private pollOne(claim: ClaimedPoll): Promise<void> {
    return this.pollClaimed(claim, `poll:${randomUUID()}`);
  }

  private async pollClaimed(claim: ClaimedPoll, requestId: string): Promise<void> {
    const { checkout, dueAt } = claim;
    const log = this.logger.child({
      requestId,
      checkoutId: publicCheckoutId(checkout.provider, checkout.id),
      provider: checkout.provider,
    });
    // Changed since it was scheduled (a refresh reached a final status): never GET again.
    if (!this.service.isPollable(checkout.provider, checkout.providerCheckoutId, checkout.status)) {
      await this.service.record(checkout, { status: checkout.status }, { kind: 'remove' });
      return;
    }
    this.stats.polls++;
    this.options.metrics?.scheduleLag.observe(Math.max(0, Date.now() - dueAt.getTime()) / 1000);
    try {
      const snapshot = await this.service.fetchStatus(checkout, { signal: this.work.signal, requestId });
      await this.applyAnswer(claim, snapshot, log);
    } catch (error) {
      await this.afterFailedPoll(claim, error, log);
    }
  }

  /** Records a status answer and moves the schedule (one statement when the row already shows it all). */
  private async applyAnswer(
    { checkout, attempts, lastAnswerHash }: ClaimedPoll,
    snapshot: ProviderSnapshot,
    log: Logger,
  ): Promise<void> {
    const changed = snapshot.status !== checkout.status;
    const nextAttempts = changed ? 0 : attempts + 1;
    if (changed) this.stats.changes++;
    this.options.metrics?.polls.inc({ provider: checkout.provider, outcome: changed ? 'changed' : 'unchanged' });
    const answerHash = fingerprint(snapshot);
    const next = {
      kind: 'next',
      owner: this.options.instanceId,
      attempts: nextAttempts,
      delayMs: this.backoffMs(nextAttempts),
      answerHash,
      answerErrors: 0,
    } as const;
    // An answer the row already shows (word for word the last one applied, or nothing in it that
    // differs from the row) only moves the schedule, batched with the other answers of the same
    // turn (unchangedMoves), instead of a transaction that rewrites the checkout. The move is
    // conditional on the row being as read; if a refresh wrote it meanwhile, the answer is applied
    // in full.
    const alreadyShown = !changed && (answerHash === lastAnswerHash || addsNothing(checkout, snapshot));
    const moved =
      alreadyShown &&
      (await this.unchangedMoves.load({
        checkoutId: checkout.id,
        readUpdatedAt: checkout.updatedAt,
        attempts: next.attempts,
        delayMs: next.delayMs,
        answerHash,
      }));
    if (!moved) {
      await this.service.record(checkout, snapshot, isTerminal(snapshot.status) ? { kind: 'remove' } : next);
    }
    if (changed) log.info({ from: checkout.status, to: snapshot.status }, 'status changed');
  }

  /**
   * A poll without a usable answer: handed back at once when this instance is stopping; otherwise
   * it backs off (or gives up, after too many unusable answers in a row) without touching the status.
   */
  private async afterFailedPoll(
    { checkout, attempts, answerErrors }: ClaimedPoll,
    error: unknown,
    log: Logger,
  ): Promise<void> {
    const owner = this.options.instanceId;
    if (this.work.signal.aborted) {
      // Abandoned because this instance is stopping: due again at once, for whoever polls next.
      await this.repository
        .reschedulePoll(checkout.id, { kind: 'next', owner, attempts, delayMs: 0 })
        .catch((rescheduleError: unknown) =>
          log.error({ err: rescheduleError }, 'could not hand back an abandoned poll'),
        );
      return;
    }
    this.options.metrics?.polls.inc({ provider: checkout.provider, outcome: 'error' });
    this.stats.errors++;
    const message = error instanceof Error ? error.message : String(error);
    // An answer about this checkout that asking again cannot change (a 404, a body we cannot read)
    // counts towards giving up; so many in a row and the checkout is UNKNOWN, never polled forever.
    const unusable = isUnusableAnswer(error);
    const streak = unusable ? answerErrors + 1 : answerErrors;
    if (
      unusable &&
      streak >= this.options.maxAnswerErrors &&
      (await this.lifecycle.giveUpPolling(checkout, streak, message))
    ) {
      log.warn({ err: message, answerErrors: streak }, 'polling given up: the checkout is now UNKNOWN');
      return;
    }
    // A provider fault backs off without touching the status; Retry-After wins when longer. An
    // answer that asking again cannot change (a 4xx such as 404) waits the longest interval at once.
    const retryAfterMs = error instanceof ProviderError ? (error.retryAfterMs ?? 0) : 0;
    const permanent = error instanceof ProviderError && !error.retryable;
    const backoff = permanent ? this.options.maxIntervalMs : this.backoffMs(attempts + 1);
    const delayMs = Math.max(backoff, retryAfterMs); // capped where it is read (workers/backoff.ts)
    log.warn({ err: message, delayMs, ...(unusable && { answerErrors: streak }) }, 'status poll failed');
    const next = {
      kind: 'next',
      owner,
      attempts: attempts + 1,
      delayMs,
      error: message,
      answerErrors: streak,
    } as const;
    await this.repository
      .reschedulePoll(checkout.id, next)
      .catch((rescheduleError: unknown) => log.error({ err: rescheduleError }, 'could not reschedule poll'));
  }
}

/**
 * True for a provider answer about this checkout that asking again cannot change: a non-retryable
 * ProviderError with an HTTP answer (404, 400, a body we cannot read). Transport faults (timeouts,
 * refused connections, 5xx, 429, an open breaker) are retryable and never count, and neither are
 * 401/403: a rejected credential is our configuration, not the checkout's outcome.
 */
function isUnusableAnswer(error: unknown): boolean {
  return (
    error instanceof ProviderError &&
    !error.retryable &&
    error.httpStatus !== null &&
    error.httpStatus !== 401 &&
    error.httpStatus !== 403
  );
}

/** A fingerprint of a provider answer as the adapter mapped it (its fields are built in a fixed order). */
function fingerprint(snapshot: unknown): string {
  return createHash('sha256').update(JSON.stringify(snapshot)).digest('base64url');
}

/** True when every field of the answer is already on the row (no line items, merchant or details to write). */
function addsNothing(row: ClaimedPoll['checkout'], snapshot: ProviderSnapshot): boolean {
  if (
    snapshot.lineItems !== undefined ||
    snapshot.merchant ||
    (snapshot.details && Object.keys(snapshot.details).length > 0)
  )
    return false;
  const same = <T>(answered: T | undefined, stored: T) => answered === undefined || answered === stored;
  return (
    snapshot.status === row.status &&
    same(snapshot.providerCheckoutId, row.providerCheckoutId) &&
    same(snapshot.currency, row.currency) &&
    same(snapshot.total, row.totalAmount) &&
    same(snapshot.notes, row.notes) &&
    same(snapshot.checkoutUrl, row.checkoutUrl) &&
    same(snapshot.testMode, row.testMode)
  );
}
