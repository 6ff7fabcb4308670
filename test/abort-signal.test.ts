import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { deadline } from '../src/abort-signal.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap in use after full collections. */
function settledHeap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('deadline', () => {
  it('aborts with a TimeoutError when its time is up, and says it timed out', async () => {
    const outer = new AbortController();
    const budget = deadline(20, outer.signal);
    await new Promise((resolve) => budget.signal.addEventListener('abort', resolve));
    expect(budget.timedOut).toBe(true);
    expect((budget.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(outer.signal.aborted).toBe(false);
    budget.release();
  });

  it('aborts with the outer reason when the outer signal aborts first, or had already', () => {
    const outer = new AbortController();
    const budget = deadline(60_000, outer.signal);
    outer.abort(new Error('stopping'));
    expect(budget.signal.aborted).toBe(true);
    expect(budget.timedOut).toBe(false);
    expect((budget.signal.reason as Error).message).toBe('stopping');
    budget.release();
    const late = deadline(60_000, outer.signal);
    expect((late.signal.reason as Error).message).toBe('stopping');
    late.release();
  });

  it('leaves nothing in a long-lived outer signal once released (AbortSignal.any does on Node 20)', () => {
    const outer = new AbortController();
    const calls = 200_000;
    for (let i = 0; i < 1_000; i++) deadline(60_000, outer.signal).release();
    const before = settledHeap();
    for (let i = 0; i < calls; i++) deadline(60_000, outer.signal).release();
    const grown = settledHeap() - before;
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0);
    // AbortSignal.any([signal, outer.signal]) keeps about 50 bytes per call in `outer` (10 MB here).
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });
});
