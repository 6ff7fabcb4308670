import { backoffMs } from '../workers/backoff.js';

/** Growth of the delay between attempts: with 5 s and 12 attempts the retries span about 22 hours. */
const GROWTH = 2.5;

/** Delay before the next attempt after `failures` failed ones: exponential from `baseMs`, jittered ±20%. */
export function retryDelayMs(failures: number, baseMs: number, random: () => number = Math.random): number {
  return backoffMs(failures - 1, { baseMs, growth: GROWTH, random });
}
