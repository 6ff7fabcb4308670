import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import fsExtensions from 'fs-native-extensions';

/**
 * One writer per embedded data folder. PGlite keeps the database in the memory of the process
 * that opened it and writes the folder back as it goes, so two processes on one folder silently
 * lose each other's writes. Like PostgreSQL's `postmaster.pid`, the folder holds a file naming its
 * holder; unlike a pid file, the exclusion itself is an OS lock on that file (open-file-description
 * locks on Linux, flock on macOS, LockFileEx on Windows, through fs-native-extensions), which the
 * kernel releases when the holder dies in any way (SIGKILL included): there is no stale lock to
 * detect, and no window in which two processes could both take over a dead holder's lock.
 */

/** Name of the lock file inside the data folder. */
export const LOCK_FILE_NAME = 'checkout-graph.lock';

/** What the holder of a data folder says about itself in the lock file (readable by its owner only). */
export interface DataDirHolder {
  /** Process id of the holder. */
  pid: number;
  /** What holds it: `server`, or the command (`apikey`, `checkout:resolve`). */
  role: string;
  /** When it took the lock (ISO 8601). */
  since: string;
  /** The server's base URL once it listens, e.g. `http://127.0.0.1:4000` (servers only). */
  url?: string;
  /** A credential for operator commands, valid while this server runs (servers only). */
  operatorKey?: string;
}

/** The data folder is held by another process. */
export class DataDirLockedError extends Error {
  constructor(
    /** The folder, as an absolute path. */
    readonly dataDir: string,
    /** What the holder wrote, when it could be read (it may still be writing it). */
    readonly holder: DataDirHolder | undefined,
  ) {
    const who = holder ? `PID ${holder.pid} (${holder.role})` : 'another process';
    super(
      `The data folder ${dataDir} is in use by ${who}: one process at a time may open it. Stop that process, or use another DATA_DIR.`,
    );
  }
}

/** A held lock on a data folder. */
export interface DataDirLock {
  /** The folder, as an absolute path. */
  readonly dataDir: string;
  /** Rewrites what the lock file says about the holder (e.g. the URL once the server listens). */
  announce(update: Partial<Omit<DataDirHolder, 'pid' | 'since'>>): Promise<void>;
  /** Clears the holder's details (the operator key) and releases the lock. */
  release(): Promise<void>;
}

/** True for PGlite data dirs that are not a folder on disk (`memory://`, `idb://`). */
export function isInMemoryDataDir(dataDir: string): boolean {
  return /^[a-z]+:\/\//i.test(dataDir);
}

/**
 * Takes the data folder's lock at once or throws DataDirLockedError naming the holder; creates the
 * folder when missing. The lock file is never deleted: a process that opened it before a delete
 * would lock a file nobody else sees.
 */
export async function lockDataDir(dataDir: string, role: string): Promise<DataDirLock> {
  const folder = resolve(dataDir);
  await mkdir(folder, { recursive: true });
  const path = join(folder, LOCK_FILE_NAME);
  // 0600: the holder's details include the operator key, as private as the data beside it.
  const file = await open(path, 'a+', 0o600);
  let granted = false;
  try {
    granted = fsExtensions.tryLock(file.fd);
  } finally {
    if (!granted) await file.close();
  }
  if (!granted) throw new DataDirLockedError(folder, await readHolder(path));
  let holder: DataDirHolder = { pid: process.pid, role, since: new Date().toISOString() };
  await write(file, holder);
  let released: Promise<void> | undefined;
  return {
    dataDir: folder,
    async announce(update) {
      holder = { ...holder, ...update };
      await write(file, holder);
    },
    release() {
      released ??= file
        .truncate(0)
        .catch(() => undefined)
        .then(() => file.close());
      return released;
    },
  };
}

/** What the current holder of the folder wrote, if anything readable. */
export async function readHolder(path: string): Promise<DataDirHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<DataDirHolder>;
    return typeof parsed.pid === 'number' && typeof parsed.role === 'string' ? (parsed as DataDirHolder) : undefined;
  } catch {
    return undefined;
  }
}

async function write(file: FileHandle, holder: DataDirHolder): Promise<void> {
  const bytes = Buffer.from(`${JSON.stringify(holder)}\n`);
  await file.truncate(0);
  await file.write(bytes, 0, bytes.length, 0);
}
