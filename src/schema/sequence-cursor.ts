import { createGraphQLError } from 'graphql-yoga';

/**
 * Opaque page cursors over a row's sequence number: base64url of `<kind>:<seq>`, so clients never
 * build them by hand, and a cursor of one connection is refused by another.
 */
export interface SequenceCursor {
  /** The cursor of the row with sequence number `seq`. */
  of(seq: number): string;
  /** The sequence number inside `cursor`; a BAD_USER_INPUT error when it is not one of ours. */
  parse(cursor: string | undefined): number | undefined;
}

/** Cursors of the connection over rows of `kind` (`checkout`, `delivery`). */
export function sequenceCursor(kind: string): SequenceCursor {
  const pattern = new RegExp(`^${kind}:(\\d{1,15})$`);
  return {
    of: (seq) => Buffer.from(`${kind}:${seq}`).toString('base64url'),
    parse(cursor) {
      if (cursor === undefined) return undefined;
      const match = pattern.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!match) {
        // graphql-yoga's factory: under vitest a direct `graphql` import can load a second copy of
        // graphql (index.mjs), whose errors Yoga would not recognise and would mask as unexpected.
        throw createGraphQLError('Invalid cursor: pass a cursor from a previous page', {
          extensions: { code: 'BAD_USER_INPUT' },
        });
      }
      return Number(match[1]);
    },
  };
}
