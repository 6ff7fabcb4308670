import type { Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffMs, MAX_RETRY_AFTER_MS, retryAfterMs } from '../src/workers/backoff.js';
import { LeasedWork, type LeasedWorkOptions } from '../src/workers/leased-work.js';

/*
 * The one leased-work loop (src/workers/leased-work.ts) behind the poller and the webhook
 * dispatcher, and the one backoff and Retry-After reader (src/workers/backoff.ts). The loop runs on
 * fake timers: every pause is counted in simulated milliseconds, so a loaded machine cannot make
 * these tests late or early.
 */

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

function fakeLogger() {
  const error = vi.fn();
  return { logger: { error } as unknown as Logger, error };
}

/**
 * A queue of numbered items behind a LeasedWork: `claims` records each claim (when, how many asked,
 * how many got), `running` holds the items in flight until the test finishes them.
 */
function workQueue(
  options: Partial<LeasedWorkOptions<number>> & {
    due?: number;
    /** Called at the start of each claim with its number (0 first); may throw to fail the claim. */
    onClaim?: (call: number) => void;
  } = {},
) {
  let calls = 0;
  let due = options.due ?? Number.POSITIVE_INFINITY;
  let next = 0;
  let maxInFlight = 0;
  const claims: { at: number; limit: number; got: number }[] = [];
  const running = new Map<number, Deferred>();
  const signals: AbortSignal[] = [];
  const release = vi.fn(async () => 7);
  const { logger, error } = fakeLogger();
  const work = new LeasedWork<number>({
    what: 'items',
    claim: async (limit) => {
      options.onClaim?.(calls++);
      const got = Math.min(limit, due);
      due -= got;
      claims.push({ at: Date.now(), limit, got });
      return Array.from({ length: got }, () => next++);
    },
    run: (item, signal) => {
      const done = deferred();
      running.set(item, done);
      signals.push(signal);
      maxInFlight = Math.max(maxInFlight, running.size);
      return done.promise.finally(() => running.delete(item));
    },
    concurrency: 4,
    idle: { minMs: 100 },
    release,
    logger,
    ...options,
  });
  return {
    work,
    claims,
    running,
    signals,
    release,
    logError: error,
    get maxInFlight() {
      return maxInFlight;
    },
    /** Makes `count` more items due. */
    add(count: number) {
      due += count;
    },
    /** Finishes the oldest `count` items in flight. */
    finish(count = 1) {
      for (const [, done] of [...running].slice(0, count)) done.resolve();
    },
  };
}

/** Lets the loop run for `ms` simulated milliseconds (0: only what is ready now). */
const elapse = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

describe('LeasedWork', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps at most `concurrency` items in flight and claims only as many as there are free slots', async () => {
    const q = workQueue({ concurrency: 4 });
    q.work.start();
    await elapse();
    expect(q.claims).toEqual([{ at: 0, limit: 4, got: 4 }]);
    expect(q.running.size).toBe(4);

    // All slots busy: no claim however long it waits.
    await elapse(1_000);
    expect(q.claims).toHaveLength(1);

    // One slot frees: one item is claimed at once (not after the pause).
    q.finish(1);
    await elapse();
    expect(q.claims.at(-1)).toEqual({ at: 1_000, limit: 1, got: 1 });
    q.finish(3);
    await elapse();
    expect(q.claims.at(-1)).toMatchObject({ limit: 3, got: 3 });
    expect(q.running.size).toBe(4);
    expect(q.maxInFlight).toBe(4);

    const stopping = q.work.stop();
    q.finish(4);
    await stopping;
  });

  it('with a claim batch, waits until that many slots are free, and never claims more than `maxClaim`', async () => {
    const q = workQueue({ concurrency: 8, claimBatch: 3, maxClaim: 5 });
    q.work.start();
    await elapse();
    // Claimed some and 3 slots are still free: it claims again at once.
    expect(q.claims).toEqual([
      { at: 0, limit: 5, got: 5 },
      { at: 0, limit: 3, got: 3 },
    ]);
    expect(q.running.size).toBe(8);

    q.finish(2);
    await elapse(500);
    expect(q.claims).toHaveLength(2); // 2 free slots: not worth a claim
    q.finish(1);
    await elapse();
    expect(q.claims.at(-1)).toEqual({ at: 500, limit: 3, got: 3 });

    const stopping = q.work.stop();
    q.finish(8);
    await stopping;
  });

  it('looks less and less often while nothing is due, and at the shortest pause again once work is found', async () => {
    const q = workQueue({ due: 0, idle: { minMs: 100, maxMs: 800 } });
    q.work.start();
    await elapse(3_100);
    const gaps = q.claims.slice(1).map((claim, i) => claim.at - q.claims[i]!.at);
    expect(gaps).toEqual([100, 200, 400, 800, 800, 800]);

    // Work appears: it is found at the next look, and the looks after it are the shortest again.
    q.add(1);
    await elapse(800);
    expect(q.running.size).toBe(1);
    const found = q.claims.findIndex((claim) => claim.got === 1);
    q.finish(1);
    await elapse(1_000);
    const after = q.claims.slice(found).map((claim) => claim.at);
    expect(after[1]! - after[0]!).toBe(0); // found some: it looks again at once
    expect(after[2]! - after[1]!).toBe(100);
    expect(after[3]! - after[2]!).toBe(200);
    await q.work.stop();
  });

  it('wake() looks at once and starts the pauses over from the shortest', async () => {
    const q = workQueue({ due: 0, idle: { minMs: 100, maxMs: 10_000 } });
    q.work.start();
    await elapse(1_500); // looks at 0, 100, 300, 700, 1500; next in 1600
    expect(q.claims.map((claim) => claim.at)).toEqual([0, 100, 300, 700, 1_500]);
    await elapse(100);
    q.work.wake();
    await elapse();
    expect(q.claims.at(-1)!.at).toBe(1_600);
    await elapse(100);
    expect(q.claims.at(-1)!.at).toBe(1_700);
    await q.work.stop();
  });

  it('a wake-up during a claim is not lost: it looks again without pausing', async () => {
    const q = workQueue({ due: 0, idle: { minMs: 5_000 }, onClaim: (call) => call === 0 && q.work.wake() });
    q.work.start();
    await elapse();
    expect(q.claims.map((c) => c.at)).toEqual([0, 0]);
    await q.work.stop();
  });

  it('stop() aborts the items in flight, waits for them, then releases the leases; a stopped loop claims nothing', async () => {
    const q = workQueue({ concurrency: 2 });
    q.work.start();
    await elapse();
    expect(q.running.size).toBe(2);
    expect(q.signals.every((signal) => !signal.aborted)).toBe(true);

    let stopped = false;
    const stopping = q.work.stop().then((released) => {
      stopped = true;
      return released;
    });
    await elapse();
    expect(q.signals.every((signal) => signal.aborted)).toBe(true);
    expect(stopped).toBe(false); // still waiting for the items in flight
    expect(q.release).not.toHaveBeenCalled();
    q.finish(2);
    expect(await stopping).toBe(7);
    expect(q.release).toHaveBeenCalledTimes(1);

    const claimsAtStop = q.claims.length;
    await elapse(10_000);
    expect(q.claims).toHaveLength(claimsAtStop);
    expect(q.work.active).toBe(false);
    expect(await q.work.stop()).toBe(0); // not running: nothing to release
    expect(q.release).toHaveBeenCalledTimes(1);
  });

  it('a failed claim or a failed item is logged and the loop goes on', async () => {
    const q = workQueue({
      due: 2,
      concurrency: 1,
      onClaim: (call) => {
        if (call === 0) throw new Error('database away');
      },
    });
    q.work.start();
    await elapse(100);
    expect(q.logError).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.any(Error) }),
      'could not claim due items',
    );
    expect(q.running.size).toBe(1);
    [...q.running.values()][0]!.reject(new Error('item broke'));
    await elapse();
    expect(q.logError).toHaveBeenLastCalledWith(
      expect.objectContaining({ err: expect.objectContaining({ message: 'item broke' }) }),
      'one of the claimed items failed',
    );
    expect(q.running.size).toBe(1); // the next one was claimed at once
    const stopping = q.work.stop();
    q.finish(1);
    await stopping;
  });

  it('with wakeWhenSettled, each finished item makes it look again at once, even with free slots', async () => {
    const q = workQueue({ due: 1, concurrency: 4, wakeWhenSettled: true, idle: { minMs: 1_000, maxMs: 30_000 } });
    q.work.start();
    await elapse(500);
    expect(q.claims.map((c) => c.at)).toEqual([0, 0]); // found one, looked again at once, nothing more
    q.finish(1);
    await elapse();
    expect(q.claims.map((c) => c.at)).toEqual([0, 0, 500]);
    await q.work.stop();
  });

  it('runOnce() claims up to `maxClaim` and runs them `concurrency` at a time', async () => {
    const q = workQueue({ due: 5, concurrency: 2, maxClaim: 10 });
    const once = q.work.runOnce();
    await elapse();
    expect(q.claims).toEqual([{ at: 0, limit: 10, got: 5 }]);
    for (let finished = 0; finished < 5; finished++) {
      expect(q.running.size).toBe(Math.min(2, 5 - finished));
      q.finish(1);
      await elapse();
    }
    expect(await once).toBe(5);
    expect(q.maxInFlight).toBe(2);
  });
});

describe('backoffMs', () => {
  it('grows exponentially from the base, jittered either way, and stays within [minMs, maxMs]', () => {
    const poll = (attempt: number, random: number) =>
      backoffMs(attempt, { baseMs: 100, minMs: 100, maxMs: 1_000, random: () => random });
    expect([0, 1, 2, 3, 4, 40, 1_000].map((attempt) => poll(attempt, 0.5))).toEqual([
      100, 200, 400, 800, 1_000, 1_000, 1_000,
    ]);
    expect([0, 1, 2, 3, 4].map((attempt) => poll(attempt, 0))).toEqual([100, 160, 320, 640, 800]);
    expect([0, 1, 2, 3, 4].map((attempt) => poll(attempt, 0.999_999))).toEqual([120, 240, 480, 960, 1_000]);
  });

  it('takes another growth and no bounds (webhook retries: 2.5 times per attempt)', () => {
    expect(backoffMs(0, { baseMs: 5_000, growth: 2.5, random: () => 0.5 })).toBe(5_000);
    expect(backoffMs(1, { baseMs: 5_000, growth: 2.5, random: () => 0.5 })).toBe(12_500);
    expect(backoffMs(0, { baseMs: 5_000, growth: 2.5, random: () => 0 })).toBe(4_000);
    expect(backoffMs(-3, { baseMs: 5_000, growth: 2.5, random: () => 0.5 })).toBe(5_000);
    expect(Number.isFinite(backoffMs(10_000, { baseMs: 5_000, growth: 2.5, random: () => 0.5 }))).toBe(true);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-03T18:00:00Z');

  it('reads delta-seconds or an HTTP date from now, never negative, capped at an hour', () => {
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs(' 2 ', now)).toBe(2_000);
    expect(retryAfterMs('0', now)).toBe(0);
    expect(retryAfterMs('Thu, 03 Dec 2026 18:02:00 GMT', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 03 Dec 2026 17:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('Fri, 03 Dec 2027 18:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('is null when absent or unreadable, and takes the first of repeated headers', () => {
    expect(retryAfterMs(undefined, now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
    expect(retryAfterMs('', now)).toBeNull();
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs([], now)).toBeNull();
    expect(retryAfterMs(['5', '60'], now)).toBe(5_000);
  });
});
