import { execFileSync } from 'node:child_process';
import fs, { closeSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';

/*
 * Disks that stop taking writes under a PGlite data folder, for the tests of what the API does then.
 *
 * - smallFilesystem(): a real tmpfs of a few MiB mounted for the test (root only; `mount` must be
 *   allowed, as it is on the project's machines and CI), filled to the last byte by a real file, so
 *   that PostgreSQL's own writes get ENOSPC from the kernel. Freed by deleting that file.
 * - injectDiskFaults(): where no filesystem can be mounted, the same faults raised one layer up, in
 *   the Node `fs` calls that PGlite's file system (Emscripten's NODEFS) makes for the files of one
 *   folder: a full disk (a write past a file's end gets ENOSPC, as on a full filesystem where the
 *   blocks already allocated can still be rewritten), a failing one (every write gets EIO) or a
 *   read-only one (EROFS).
 */

/** A tmpfs mounted for a test. */
export interface SmallFilesystem {
  /** Where it is mounted. */
  readonly path: string;
  /** Writes a file until the filesystem has no byte left; resolves with the bytes written. */
  fill(): number;
  /** Deletes that file. */
  free(): void;
  /** Free bytes, as statfs says. */
  available(): number;
  /** Unmounts it (lazily, should a process still hold a file) and removes the mount point. */
  unmount(): void;
}

let mountable: { reason: string | undefined } | undefined;

/**
 * Why a tmpfs cannot be mounted here (undefined when it can): not Linux, not root, or `mount`
 * refused (a container without CAP_SYS_ADMIN). Tried once, with a 1 MiB tmpfs.
 */
export function whyNoMount(): string | undefined {
  mountable ??= { reason: mountRefusal() };
  return mountable.reason;
}

function mountRefusal(): string | undefined {
  if (process.platform !== 'linux') return `mounting a tmpfs needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    smallFilesystem(1).unmount();
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
  }
}

/** Mounts a tmpfs of `sizeMiB` MiB on a new temporary folder. */
export function smallFilesystem(sizeMiB: number): SmallFilesystem {
  const path = mkdtempSync(join(tmpdir(), 'disk-fault-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', path], { stdio: 'pipe' });
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    throw error;
  }
  const filler = join(path, 'filler');
  let mounted = true;
  return {
    path,
    fill() {
      const fd = openSync(filler, 'a');
      let written = 0;
      try {
        // Big chunks first, then pages, then bytes: the kernel refuses the first that does not fit.
        for (const chunk of [1024 * 1024, 4096, 1]) {
          const bytes = Buffer.alloc(chunk);
          for (;;) {
            try {
              written += writeSync(fd, bytes);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
              break;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free() {
      unlinkSync(filler);
    },
    available() {
      const stats = statfsSync(path);
      return stats.bavail * stats.bsize;
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', ['-l', path], { stdio: 'pipe' });
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** How the injected disk answers writes. */
export type DiskMode = 'ok' | 'full' | 'eio' | 'erofs';

/** Faults injected into the `fs` calls made for the files of one folder. */
export interface InjectedDiskFaults {
  /** Sets how writes are answered from now on. */
  set(mode: DiskMode): void;
  /** Writes refused so far, by error code. */
  readonly refused: Record<string, number>;
  /** Puts the original `fs` functions back. */
  restore(): void;
}

const ERRNO = { ENOSPC: -28, EIO: -5, EROFS: -30 } as const;

function errnoError(code: keyof typeof ERRNO, syscall: string): NodeJS.ErrnoException {
  const text = { ENOSPC: 'no space left on device', EIO: 'i/o error', EROFS: 'read-only file system' }[code];
  return Object.assign(new Error(`${code}: ${text}, ${syscall}`), { errno: ERRNO[code], code, syscall });
}

/**
 * Wraps `fs.openSync`, `fs.writeSync`, `fs.ftruncateSync` and `fs.closeSync` (the module object
 * that PGlite's NODEFS calls through `require('fs')`) so that, for files under `folder`, writes fail
 * as `set()` says. Everything else passes through untouched.
 */
export function injectDiskFaults(folder: string): InjectedDiskFaults {
  const root = resolve(folder);
  const inside = (path: unknown) => typeof path === 'string' && (path === root || path.startsWith(root + sep));
  const original = {
    openSync: fs.openSync,
    writeSync: fs.writeSync,
    ftruncateSync: fs.ftruncateSync,
    closeSync: fs.closeSync,
  };
  const watched = new Set<number>();
  const refused: Record<string, number> = {};
  let mode: DiskMode = 'ok';
  const refuse = (code: keyof typeof ERRNO, syscall: string) => {
    refused[code] = (refused[code] ?? 0) + 1;
    return errnoError(code, syscall);
  };
  const patched = fs as unknown as Record<keyof typeof original, (...args: unknown[]) => unknown>;

  patched.openSync = (...args: unknown[]) => {
    const fd = (original.openSync as (...a: unknown[]) => number)(...args);
    if (inside(args[0])) watched.add(fd);
    return fd;
  };
  patched.closeSync = (...args: unknown[]) => {
    watched.delete(args[0] as number);
    return (original.closeSync as (...a: unknown[]) => void)(...args);
  };
  patched.writeSync = (...args: unknown[]) => {
    const fd = args[0] as number;
    if (mode !== 'ok' && watched.has(fd)) {
      if (mode === 'eio') throw refuse('EIO', 'write');
      if (mode === 'erofs') throw refuse('EROFS', 'write');
      // A full disk: what fits in the blocks the file has is rewritten; anything past its end is refused.
      const length = typeof args[1] === 'string' ? Buffer.byteLength(args[1]) : ((args[3] as number | undefined) ?? 0);
      const position = typeof args[1] === 'string' ? args[2] : args[4];
      const size = fs.fstatSync(fd).size;
      if (typeof position !== 'number' || position + length > size) throw refuse('ENOSPC', 'write');
    }
    return (original.writeSync as (...a: unknown[]) => number)(...args);
  };
  patched.ftruncateSync = (...args: unknown[]) => {
    const fd = args[0] as number;
    if (mode !== 'ok' && watched.has(fd)) {
      if (mode === 'eio') throw refuse('EIO', 'ftruncate');
      if (mode === 'erofs') throw refuse('EROFS', 'ftruncate');
      if (((args[1] as number | undefined) ?? 0) > fs.fstatSync(fd).size) throw refuse('ENOSPC', 'ftruncate');
    }
    return (original.ftruncateSync as (...a: unknown[]) => void)(...args);
  };

  return {
    set(next) {
      mode = next;
    },
    refused,
    restore() {
      Object.assign(fs, original);
    },
  };
}

/** Where a WAL was left by walUpToSegmentEnd(). */
export interface WalPosition {
  /** The segment the next WAL record goes to. */
  segment: string;
  /** Bytes left in it. */
  left: number;
}

/**
 * Opens the PGlite folder (no server may hold it), writes WAL (logical messages, which touch no
 * table) until at most `slackBytes` (and about half of it) are left in the current segment, and
 * closes it. A server started on the folder then needs a new WAL segment after a few KB of work.
 */
export async function walUpToSegmentEnd(dataDir: string, slackBytes: number): Promise<WalPosition> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create(dataDir);
  try {
    const [settings] = (
      await db.query<{ size: string }>(`select setting as size from pg_settings where name = 'wal_segment_size'`)
    ).rows;
    const segmentSize = BigInt(settings!.size);
    const position = async () => {
      const [row] = (
        await db.query<{ lsn: string; file: string }>(
          'select pg_current_wal_insert_lsn()::text as lsn, pg_walfile_name(pg_current_wal_insert_lsn()) as file',
        )
      ).rows;
      const [high, low] = row!.lsn.split('/').map((part) => BigInt(`0x${part}`));
      const lsn = (high! << 32n) + low!;
      return { segment: row!.file, left: Number(segmentSize - (lsn % segmentSize)) };
    };
    const emit = (bytes: number) =>
      db.query(`select pg_logical_emit_message(false, 'disk-fault-test', repeat('x', $1::int))`, [bytes]);
    let now = await position();
    // Too close already: cross into the next segment first.
    if (now.left < slackBytes / 2) {
      await emit(now.left);
      now = await position();
    }
    // Each message fills most of the gap to half the slack (records and page headers add a little
    // to what is asked), until at most the slack is left.
    while (now.left > slackBytes) {
      await emit(Math.min(1024 * 1024, Math.floor((now.left - slackBytes / 2) * 0.9)));
      now = await position();
    }
    return now;
  } finally {
    await db.close();
  }
}

/**
 * Deletes the WAL segments after `current`. PostgreSQL creates the next segment ahead of need
 * (at start-up or a checkpoint, once the current one is three quarters full) and keeps none open;
 * when it needs one that is missing it creates it then. Deleting the spare, on a server that has
 * not reached it yet, makes that creation happen on the full disk: what a disk that filled up
 * while the server ran looks like once its spare segment is used.
 */
export function dropSpareWalSegments(dataDir: string, current: string): string[] {
  const spare = walSegments(dataDir).filter((name) => name > current);
  for (const name of spare) unlinkSync(join(dataDir, 'pg_wal', name));
  return spare;
}

/** The WAL segment files in a PGlite folder. */
export function walSegments(dataDir: string): string[] {
  return fs
    .readdirSync(join(dataDir, 'pg_wal'))
    .filter((name) => /^[0-9A-F]{24}$/.test(name))
    .sort();
}
