/**
 * The one backoff of durable retries (poll schedules, webhook deliveries) and the one `Retry-After`
 * reader (provider answers, webhook receivers).
 *
 * cockatiel's `ExponentialBackoff` stays where it fits: the in-call retries of a provider GET
 * (providers/resilience.ts), where the delays are walked one after the other within one call. A
 * durable retry is different: its attempt count is stored with the row and the next delay is
 * wanted for attempt n directly, on whichever instance claims it, with a jitter source tests can
 * fix; cockatiel's backoffs are in-memory chains drawing on `Math.random`, so this is written once
 * here instead.
 */

/** How delays grow with attempts. */
export interface BackoffOptions {
  /** The delay of attempt 0 before jitter. */
  baseMs: number;
  /** Growth per attempt (default 2). */
  growth?: number;
  /** Longest delay, after jitter too (default: none). */
  maxMs?: number;
  /** Shortest delay, after jitter too (default 0). */
  minMs?: number;
  /** Jitter as a fraction of the delay either way (default 0.2: ±20%). */
  jitter?: number;
  /** Source of jitter in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

/** Growth stops here: beyond it any delay is past every cap, and 2.5^40 is still a finite number. */
const MAX_EXPONENT = 40;

/** The delay after `attempt` attempts (0 for the first): exponential from `baseMs`, capped, then jittered and clamped. */
export function backoffMs(attempt: number, options: BackoffOptions): number {
  const { baseMs, growth = 2, maxMs = Number.POSITIVE_INFINITY, minMs = 0, jitter = 0.2 } = options;
  const random = options.random ?? Math.random;
  const exponential = Math.min(maxMs, baseMs * growth ** Math.max(0, Math.min(attempt, MAX_EXPONENT)));
  const jittered = exponential * (1 - jitter + 2 * jitter * random());
  return Math.round(Math.min(maxMs, Math.max(minMs, jittered)));
}

/** Longest `Retry-After` honoured; a peer asking for more is asked again after this. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * A `Retry-After` header (delta-seconds or an HTTP date) in milliseconds from `now`, capped at
 * MAX_RETRY_AFTER_MS; null when absent or unreadable. A repeated header counts by its first value.
 */
export function retryAfterMs(header: string | readonly string[] | null | undefined, now = Date.now()): number | null {
  const first = typeof header === 'string' ? header : header?.[0];
  if (!first) return null;
  const value = first.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
