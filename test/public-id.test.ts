import { Writable } from 'node:stream';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { describe, expect, it } from 'vitest';
import { PROVIDERS } from '../src/domain/checkout.js';
import { CHECKOUT_TYPENAMES, publicCheckoutId } from '../src/domain/public-id.js';
import { createLogger } from '../src/logger.js';
import { credentialLogPaths, definitionOf } from '../src/providers/index.js';

/*
 * Log lines name checkouts by the id the API returns, computed without the GraphQL schema; and the
 * logger, which knows no provider, still redacts every provider's credentials.
 */

describe('publicCheckoutId', () => {
  it("is the API's global id: the relay encoding with the typename each provider definition declares", () => {
    const id = '0b9f6a52-6c1e-4f0e-9d41-2f4d1b7a9c11';
    for (const provider of PROVIDERS) {
      expect(CHECKOUT_TYPENAMES[provider], provider).toBe(definitionOf(provider).typename);
      expect(publicCheckoutId(provider, id)).toBe(encodeGlobalID(definitionOf(provider).typename, id));
    }
  });
});

/** A log destination that keeps each line as written. */
function capture(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('redacts every path the provider registry names as a credential, though it does not import the registry', () => {
    const { lines, destination } = capture();
    const logger = createLogger('info', destination);
    for (const path of credentialLogPaths()) {
      const entry: Record<string, unknown> = {};
      let node = entry;
      const parts = path.split('.');
      for (const part of parts.slice(0, -1)) node = node[part] = {} as Record<string, unknown>;
      node[parts.at(-1)!] = 'the-secret-value';
      logger.info(entry, path);
    }
    expect(lines.length).toBe(credentialLogPaths().length);
    for (const line of lines) expect(line, line).not.toContain('the-secret-value');
  });

  it('writes JSON to a destination unless pretty is asked for, and one readable line when it is', () => {
    const { lines, destination } = capture();
    createLogger('info', destination, { format: 'json' }).info({ checkoutId: 'abc' }, 'as JSON');
    createLogger('info', destination, { format: 'pretty' }).info({ checkoutId: 'abc' }, 'for a person');
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'as JSON', checkoutId: 'abc' });
    expect(lines[1]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: for a person \{"checkoutId":"abc"\}\n$/);
  });
});
