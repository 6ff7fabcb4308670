/** Growth of the delay between attempts: with 5 s and 12 attempts the retries span about 22 hours. */
const GROWTH = 2.5;
/** Longest `Retry-After` honoured; a receiver asking for more is tried again after this. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Delay before the next attempt after `failures` failed ones: exponential from `baseMs`, jittered ±20%. */
export function retryDelayMs(failures: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = baseMs * GROWTH ** Math.max(0, Math.min(failures - 1, 40));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** A `Retry-After` header (seconds or an HTTP date) in milliseconds from `now`, capped; null when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | null {
  if (!header) return null;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
