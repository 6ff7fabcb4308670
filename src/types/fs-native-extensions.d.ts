/** The part of fs-native-extensions (no types of its own) used to lock the embedded data folder. */
declare module 'fs-native-extensions' {
  /** Requests an exclusive (or, with `shared`, a shared) lock on `fd` without waiting; true when granted. */
  export function tryLock(fd: number, offset?: number, length?: number, options?: { shared?: boolean }): boolean;
  /** Releases a lock taken on `fd` (closing the file releases it too). */
  export function unlock(fd: number, offset?: number, length?: number): void;
  const fsExtensions: { tryLock: typeof tryLock; unlock: typeof unlock };
  export default fsExtensions;
}
