import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../src/webhooks/backoff.js';
import { MAX_RETRY_AFTER_MS, retryAfterMs } from '../src/workers/backoff.js';
import { addressProblem, targetProblem } from '../src/webhooks/targets.js';

/* The pure parts of webhook delivery: the retry schedule, Retry-After, and address classification. */

describe('retry schedule', () => {
  it('grows 2.5 times per failed attempt from the base, jittered ±20%, and spans about a day with the defaults', () => {
    expect(retryDelayMs(1, 5_000, () => 0.5)).toBe(5_000);
    expect(retryDelayMs(2, 5_000, () => 0.5)).toBe(12_500);
    expect(retryDelayMs(1, 5_000, () => 0)).toBe(4_000);
    expect(retryDelayMs(1, 5_000, () => 0.999_999)).toBe(6_000);
    const total = Array.from({ length: 11 }, (_, i) => retryDelayMs(i + 1, 5_000, () => 0.5)).reduce((a, b) => a + b);
    expect(total / 3_600_000).toBeGreaterThan(20);
    expect(total / 3_600_000).toBeLessThan(26);
  });

  it('reads Retry-After as seconds or an HTTP date, capped at an hour; anything else is ignored', () => {
    const now = Date.parse('2026-12-03T18:00:00Z');
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 03 Dec 2026 18:02:00 GMT', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 03 Dec 2026 17:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});

describe('target addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['192.168.0.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'uniqueLocal'],
    ['0.0.0.0', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
  ])('refuses %s (%s)', (address, range) => {
    expect(addressProblem(address)).toContain(`a ${range} address`);
  });

  it('allows public unicast addresses', () => {
    expect(addressProblem('93.184.216.34')).toBeNull();
    expect(addressProblem('2606:2800:220:1::1')).toBeNull();
  });

  it('checks only the form when private targets are allowed, and refuses credentials in URLs', async () => {
    const open = { requireHttps: false, allowPrivate: true };
    expect(await targetProblem('http://127.0.0.1:4400/', open)).toBeNull();
    expect(await targetProblem('http://user:pass@example.com/', open)).toBe('must not contain credentials');
    expect(await targetProblem('https://[::1]/', { requireHttps: true, allowPrivate: false })).toContain('loopback');
  });
});
