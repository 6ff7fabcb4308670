// Relay global ids (base64 of `Type:id`), read without ever throwing on what a client sends.

/** Decodes a global id of `typename` and loads it; anything malformed is simply not found. */
export async function loadByGlobalId<T>(
  globalId: string,
  typename: string,
  load: (id: string) => Promise<T | null>,
): Promise<T | null> {
  const decoded = decodeGlobalIdSafely(globalId);
  return decoded && decoded.typename === typename ? load(decoded.id) : null;
}

/** Like the relay plugin's decodeGlobalID, but returns null instead of throwing on garbage. */
export function decodeGlobalIdSafely(globalId: string): { typename: string; id: string } | null {
  if (globalId.length > 200) return null;
  const decoded = Buffer.from(globalId, 'base64').toString('utf8');
  const separator = decoded.indexOf(':');
  if (separator < 1) return null;
  return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
}
