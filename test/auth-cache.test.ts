import { describe, expect, it } from 'vitest';
import type { ApiKeyRepository } from '../src/db/api-keys.js';
import { ApiKeyAuthenticator } from '../src/http/auth.js';

/** An authenticator whose store counts its look-ups and knows no key. */
function authenticator() {
  const lookUps = { count: 0 };
  const store = {
    findActiveByHash: async () => {
      lookUps.count += 1;
      return undefined;
    },
  } as unknown as ApiKeyRepository;
  const auth = new ApiKeyAuthenticator({
    requireKey: true,
    store,
    bootstrapKeys: new Map([['a'.repeat(300), 'shop']]),
  });
  /** The keys it remembers, as it holds them. */
  const remembered = () => [...(auth as unknown as { recent: { keys(): Iterable<string> } }).recent.keys()];
  return { auth, lookUps, remembered };
}

describe('the keys the authenticator remembers', () => {
  it('holds a long key by its digest: at most 256 characters each, whatever a client sends', async () => {
    const { auth, lookUps, remembered } = authenticator();
    const huge = `k${'x'.repeat(15_000)}`;
    for (let i = 0; i < 3; i++) await expect(auth.authenticate(`Bearer ${huge}`)).rejects.toThrow('Invalid API key');
    for (let i = 0; i < 50; i++) await expect(auth.authenticate(`Bearer ${huge}-${i}`)).rejects.toThrow();
    // Remembered all the same: one look-up per distinct key.
    expect(lookUps.count).toBe(51);
    expect(remembered()).toHaveLength(51);
    for (const key of remembered()) expect(key.length).toBeLessThanOrEqual(256);
  });

  it('still recognises a valid long key, and keeps short keys as they are', async () => {
    const { auth, remembered } = authenticator();
    await expect(auth.authenticate(`Bearer ${'a'.repeat(300)}`)).resolves.toMatchObject({ tenant: 'shop' });
    await expect(auth.authenticate(`Bearer ${'a'.repeat(300)}`)).resolves.toMatchObject({ tenant: 'shop' });
    await expect(auth.authenticate('Bearer short-unknown-key')).rejects.toThrow('Invalid API key');
    expect(remembered()).toContain('short-unknown-key');
    expect(remembered()).toHaveLength(2);
  });
});
