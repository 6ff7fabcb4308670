/** A signal for one piece of work: aborted by its own deadline, or by a longer-lived signal. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** True once the deadline (not the outer signal) aborted it. */
  readonly timedOut: boolean;
  /** The work is done: stops the timer and leaves the outer signal as it found it. */
  release(): void;
}

/**
 * A signal that aborts after `timeoutMs` (with the TimeoutError reason `AbortSignal.timeout`
 * gives) or when `outer` aborts (with its reason), whichever comes first.
 *
 * Not `AbortSignal.any([AbortSignal.timeout(ms), outer])`: on Node 20 every such call leaves a
 * reference in `outer` for as long as `outer` lives (about 50 bytes, measured), and the outer
 * signals here live as long as the process (the poller's, the webhook dispatcher's), so each
 * provider request and webhook attempt leaked a little. Here `release()` removes the one listener
 * it added.
 */
export function deadline(timeoutMs: number, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    release() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    },
  };
}
