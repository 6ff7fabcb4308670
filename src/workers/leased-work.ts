import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';

/**
 * The controller whose signal stops the loop's work. Every item in flight listens to it once (a
 * provider call's deadline, a webhook attempt) and stops listening when it ends, so up to
 * `concurrency` listeners at once is expected, not the leak node warns about past 10.
 */
function stopSignalController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/** What a leased-work loop claims, runs and hands back. */
export interface LeasedWorkOptions<T> {
  /** What is claimed, for log lines ("could not claim due <what>"). */
  what: string;
  /** Claims up to `limit` due items with a lease held by this instance (never waits for others' rows). */
  claim(limit: number): Promise<T[]>;
  /**
   * Runs one claimed item. `signal` aborts when the loop stops: an item cut short hands its row back
   * (or leaves its lease to `release`). A rejection is logged, never fatal to the loop.
   */
  run(item: T, signal: AbortSignal): Promise<void>;
  /** Items in flight at once. */
  concurrency: number;
  /** Most items claimed per round trip (default: `concurrency`). */
  maxClaim?: number;
  /**
   * Claim only once at least this many slots are free (at most `concurrency`), default 1: each
   * claim is a database round trip, so a busy loop may wait for several free slots before claiming.
   */
  claimBatch?: number;
  /** Pause between looks when nothing was due: `minMs` at first, doubling while nothing is found, up to `maxMs` (default `minMs`). */
  idle: { minMs: number; maxMs?: number };
  /** Look again as soon as an item finishes (when finishing one item may make others due). */
  wakeWhenSettled?: boolean;
  /** Gives back this instance's leases once stopped; resolves to how many were released. */
  release(): Promise<number>;
  logger: Logger;
}

/**
 * The one loop over leased work (the poller's schedules, the webhook outbox): keeps up to
 * `concurrency` items in flight, claiming only as many as there are free slots, so one slow item
 * holds one slot and no claimed row waits in memory with its lease running. While nothing is due
 * it looks less and less often; `wake()` makes it look at once. `stop()` stops claiming, aborts
 * the items in flight, waits for them, and releases what this instance still holds.
 */
export class LeasedWork<T> {
  private running = false;
  private stopping = false;
  private woken = false;
  private controller = stopSignalController();
  private loop: Promise<void> | undefined;
  /** Ends the current pause (set while the loop rests). */
  private endPause: (() => void) | undefined;
  /** Whether the current pause also ends when a slot frees. */
  private pauseForSlot = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly claimBatch: number;
  private readonly maxClaim: number;
  private readonly minIdleMs: number;
  private readonly maxIdleMs: number;
  private idleMs: number;

  constructor(private readonly options: LeasedWorkOptions<T>) {
    this.maxClaim = options.maxClaim ?? options.concurrency;
    this.claimBatch = Math.min(options.concurrency, Math.max(1, options.claimBatch ?? 1));
    this.minIdleMs = options.idle.minMs;
    this.maxIdleMs = Math.max(this.minIdleMs, options.idle.maxMs ?? this.minIdleMs);
    this.idleMs = this.minIdleMs;
  }

  /** Aborted when the loop stops; items pass it on to what they wait for. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True between start() and stop(). */
  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.controller = stopSignalController();
    this.idleMs = this.minIdleMs;
    this.loop = this.run();
  }

  /** Looks for due items now, and starts the idle pause over from its shortest. */
  wake(): void {
    this.woken = true;
    this.endPause?.();
  }

  /**
   * Stops claiming, aborts the items in flight, waits for them, and releases this instance's
   * leases; resolves to how many were released (0 when it was not running or the release failed).
   */
  async stop(): Promise<number> {
    if (!this.running) return 0;
    this.running = false;
    this.stopping = true;
    this.controller.abort();
    this.endPause?.();
    await this.loop;
    return this.options.release().catch(() => 0);
  }

  /**
   * One claim of up to `limit` items, run `concurrency` at a time; resolves to how many were
   * claimed. A round driven from outside (tests, tools) instead of the loop; items not started
   * when the loop stops keep their lease until `release`.
   */
  async runOnce(limit = this.maxClaim): Promise<number> {
    const claimed = await this.options.claim(limit);
    let next = 0;
    const worker = async () => {
      while (next < claimed.length && !this.stopping) await this.runOne(claimed[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, claimed.length) }, worker));
    return claimed.length;
  }

  private async run(): Promise<void> {
    const { concurrency } = this.options;
    while (this.running) {
      if (this.woken) this.idleMs = this.minIdleMs;
      this.woken = false;
      const free = concurrency - this.inFlight.size;
      const worthClaiming = free >= this.claimBatch;
      const claimed = worthClaiming ? await this.claim(Math.min(free, this.maxClaim)) : [];
      for (const item of claimed) this.startOne(item);
      if (claimed.length > 0) this.idleMs = this.minIdleMs;
      // Claim again at once while there is work and room; otherwise rest until the next look, or
      // until a slot frees when slots are what is missing.
      const waitForSlot = !worthClaiming || this.inFlight.size >= concurrency;
      if (this.running && !this.woken && (claimed.length === 0 || waitForSlot)) {
        const restMs = claimed.length > 0 ? this.minIdleMs : this.idleMs;
        // Nothing was due: the look after this one comes later still, up to the longest pause.
        if (claimed.length === 0 && worthClaiming) this.idleMs = Math.min(this.maxIdleMs, this.idleMs * 2);
        await this.pause(restMs, waitForSlot && this.inFlight.size > 0);
      }
    }
    await Promise.all(this.inFlight);
  }

  private async claim(limit: number): Promise<T[]> {
    try {
      return await this.options.claim(limit);
    } catch (error) {
      this.options.logger.error({ err: error }, `could not claim due ${this.options.what}`);
      return [];
    }
  }

  private startOne(item: T): void {
    const running: Promise<void> = this.runOne(item).finally(() => {
      this.inFlight.delete(running);
      if (this.options.wakeWhenSettled) this.wake();
      else if (this.pauseForSlot) this.endPause?.();
    });
    this.inFlight.add(running);
  }

  private async runOne(item: T): Promise<void> {
    try {
      await this.options.run(item, this.controller.signal);
    } catch (error) {
      this.options.logger.error({ err: error }, `one of the claimed ${this.options.what} failed`);
    }
  }

  private pause(ms: number, orFreeSlot: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.pauseForSlot = orFreeSlot;
      this.endPause = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.endPause = undefined;
      this.pauseForSlot = false;
    });
  }
}
