/**
 * Whether an error means the database could not be reached or went away (a restart, a failover, a
 * network cut), or cannot write its disk (full, failing, read-only), as opposed to a statement it
 * refused: the first is worth retrying in a moment, the second is a bug or a conflict. The drivers'
 * errors come wrapped (drizzle puts the driver's error in `cause`), so the chain of causes is
 * searched.
 */

/**
 * SQLSTATEs of a server that is going away, starting, or refusing connections (classes 08 and 57P,
 * and 53300), and of a disk that refuses a write: 53100 disk_full (ENOSPC), 58030 io_error (EIO).
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53100',
  '58030',
]);

/** Socket errors of a connection that cannot be made or was cut. */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Node's codes for a disk that refuses a write (a write of this process under the data folder). */
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS']);

/**
 * A failed file operation's strerror at the end of PostgreSQL's message, for the errnos PostgreSQL
 * files under another SQLSTATE (EROFS under 42501, EDQUOT under XX000), in musl's wording (PGlite)
 * and glibc's (a PostgreSQL server).
 */
const DISK_STRERRORS =
  /: (No space left on device|Disk quota exceeded|Quota exceeded|Read-only file system|I\/O error|Input\/output error)$/;

/**
 * The embedded PGlite after a failure it cannot survive in this process: PostgreSQL stopped with a
 * PANIC (a WAL write failed: the disk is full or failing), and a PGlite whose backend panicked
 * hangs the whole process on its next statement. Every later statement is refused with this error
 * instead; the process has to be restarted (PGlite then replays its WAL). `cause` is the PANIC.
 */
export class EmbeddedDatabaseFailedError extends Error {
  override readonly name = 'EmbeddedDatabaseFailedError';
  constructor(cause: unknown) {
    super(
      `The embedded database stopped after a failed disk write and refuses every statement until the process restarts: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}

/**
 * pg's and pg-pool's messages for a connection that ended or never came (they carry no code). A
 * pool or PGlite closed by this process is not among them: that is a stop (whose drain answers 503
 * already) or a bug, not an outage to wait out.
 */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /Client has encountered a connection error and is not queryable/,
];

/** True when `error` (or one of its causes) says the database is unreachable for now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    if (current instanceof EmbeddedDatabaseFailedError) return true;
    const { code, message, cause, severity } = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      severity?: unknown;
    };
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)))
      return true;
    if (typeof code === 'string' && DISK_CODES.has(code)) return true;
    // A PANIC stops the whole server (PostgreSQL restarts; PGlite must be restarted).
    if (severity === 'PANIC') return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) return true;
    if (typeof message === 'string' && typeof severity === 'string' && DISK_STRERRORS.test(message)) return true;
    // An AggregateError (a connection tried on IPv4 and IPv6) carries its causes in `errors`.
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.some(isDatabaseUnavailable)) return true;
    current = cause;
  }
  return false;
}

/**
 * True when `error` (or one of its causes) is the database failing to write its disk: full, failing
 * or read-only (what a full disk under PGlite's data folder looks like). A subset of the errors
 * isDatabaseUnavailable accepts.
 */
export function isDiskWriteFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const { code, message, severity, cause } = current as {
      code?: unknown;
      message?: unknown;
      severity?: unknown;
      cause?: unknown;
    };
    if (typeof code === 'string' && (code === '53100' || code === '58030' || DISK_CODES.has(code))) return true;
    if (typeof message === 'string' && typeof severity === 'string' && DISK_STRERRORS.test(message)) return true;
    current = cause;
  }
  return false;
}
