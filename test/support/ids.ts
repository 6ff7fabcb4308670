/** The Relay global id of a row: base64 of `<Typename>:<row id>`. */
export const globalId = (typename: string, rowId: string) => Buffer.from(`${typename}:${rowId}`).toString('base64');

/** The row id behind a global id. */
export function rowIdOf(id: string): string {
  const decoded = Buffer.from(id, 'base64').toString('utf8');
  return decoded.slice(decoded.indexOf(':') + 1);
}
