const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `id` can be a row id; anything else is simply not found, without a round trip. */
export function isRowId(id: string): boolean {
  return UUID.test(id);
}
