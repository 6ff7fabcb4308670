import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { EmbeddedDatabaseFailedError, isDatabaseUnavailable, isDiskWriteFailure } from '../src/db/unavailable.js';
import { CheckoutDocument, CreatePayerVaultCheckoutDocument } from './generated/graphql.js';
import { startTestApp, type TestApp } from './support/app.js';
import { pause, waitFor } from './support/async.js';
import {
  dropSpareWalSegments,
  injectDiskFaults,
  smallFilesystem,
  walSegments,
  walUpToSegmentEnd,
  whyNoMount,
} from './support/disk-faults.js';
import { type ServerProcess, startServerProcess, stopServerProcess } from './support/process.js';

/*
 * The embedded PGlite on a disk that stops taking writes (issue 21, goal 2). What PostgreSQL does,
 * and so PGlite:
 *
 * - A table or index that must grow gets ERROR 53100 "could not extend file …: No space left on
 *   device": the statement is rolled back and PGlite goes on. The operation answers
 *   SERVICE_UNAVAILABLE (HTTP 503, Retry-After), reads are still served, /health says unavailable
 *   while the disk refuses a write, and the same process writes again once there is room.
 * - A WAL write that fails (a new segment on a full disk; any write on a failing disk) is a PANIC.
 *   PostgreSQL restarts then; PGlite cannot, and the next statement it is sent never returns and
 *   blocks the process. So nothing more is sent to it: every operation answers SERVICE_UNAVAILABLE,
 *   /health says unavailable, and the server exits 1 for its supervisor to start a new process,
 *   which replays the WAL: nothing acknowledged is lost.
 *
 * Faults from a real filesystem where one can be mounted (a tmpfs filled to the last byte by a
 * real file, with the real server process); everywhere, the same faults injected into the `fs`
 * calls PGlite's file system makes, with the app in this process.
 */

const KEY = `key-disk-${randomUUID()}`;
const API_KEYS = `tenant-disk-${randomUUID().slice(0, 8)}:${KEY}`;

/** A POST as GraphQL client libraries send it, answered with its status, Retry-After and body. */
async function post<TResult, TVariables>(
  url: string,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json;q=0.9',
      authorization: `Bearer ${KEY}`,
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as {
    data?: TResult | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ...body };
}

const UNAVAILABLE = {
  status: 503,
  retryAfter: '5',
  errors: [
    expect.objectContaining({
      message: 'The database is unavailable for a moment; retry in 5 s',
      extensions: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfterSeconds: 5 }),
    }),
  ],
};

async function health(url: string) {
  const response = await fetch(`${url}/health`);
  return { status: response.status, body: (await response.json()) as unknown };
}

async function create(url: string) {
  return post(url, CreatePayerVaultCheckoutDocument, { input: { customerId: `cust-${randomUUID().slice(0, 8)}` } });
}

/** Creates until one is refused (at most `max`): the ids acknowledged, and the refusal. */
async function createUntilRefused(url: string, max: number) {
  const acknowledged: string[] = [];
  for (let i = 0; i < max; i++) {
    const answer = await create(url);
    const result = answer.data?.createPayerVaultCheckout;
    if (answer.status === 200 && result?.__typename === 'CreatePayerVaultCheckoutSuccess') {
      acknowledged.push(result.checkout.id);
      continue;
    }
    return { acknowledged, refusal: answer };
  }
  return { acknowledged, refusal: undefined };
}

/** Each checkout, read back through the API. */
async function readBack(url: string, ids: string[]) {
  const found: string[] = [];
  for (const id of ids) {
    const answer = await post(url, CheckoutDocument, { id });
    if (answer.data?.checkout?.id === id) found.push(id);
  }
  return found;
}

const APP_ENV = {
  API_KEYS,
  POLLER: 'off',
  // Reads go to the database, not to checkouts held in memory.
  READ_MODEL_MAX_ENTRIES: '0',
  RATE_LIMIT_PER_MINUTE: '1000000',
};

const noMount = whyNoMount();
if (noMount)
  console.log(
    `embedded-disk-fault.test.ts: the real-filesystem test is skipped (${noMount}); the injected faults still run.`,
  );

// Side by side: the first test mostly waits on server processes, the second on this one.
describe.concurrent('PGlite on a disk that stops taking writes', () => {
  it.skipIf(noMount !== undefined)(
    'a real full tmpfs under the server process: a table that cannot grow answers 503 SERVICE_UNAVAILABLE with Retry-After, reads are served, /health says unavailable, and the same process writes again once there is room; a WAL that cannot grow answers 503, the process exits 1, and the next one has every acknowledged checkout',
    { timeout: 90_000 },
    async ({ expect, onTestFinished }) => {
      // 64 MiB: the fresh database (38 MiB, 16 of them its WAL segment) and room for the test.
      const disk = smallFilesystem(64);
      let server: ServerProcess | undefined;
      onTestFinished(async () => {
        await stopServerProcess(server, 3_000);
        disk.unmount();
      });
      const dataDir = join(disk.path, 'data');
      const env = { ...APP_ENV, DATA_DIR: dataDir };
      server = await startServerProcess('disk-full', env);
      const acknowledged: string[] = [];
      const first = await createUntilRefused(server.url, 1);
      expect(first.refusal).toBeUndefined();
      acknowledged.push(...first.acknowledged);

      // The disk fills up: a table or index that must grow gets ENOSPC from the kernel.
      expect(disk.fill()).toBeGreaterThan(0);
      expect(disk.available()).toBe(0);
      const full = await createUntilRefused(server.url, 200);
      acknowledged.push(...full.acknowledged);
      expect(full.refusal).toMatchObject(UNAVAILABLE);
      expect(await readBack(server.url, acknowledged)).toEqual(acknowledged);
      expect(await health(server.url)).toMatchObject({ status: 503, body: { status: 'unavailable' } });
      expect(server.logs.find((line) => line.msg?.includes('refuses writes'))).toMatchObject({
        level: 50,
        err: expect.objectContaining({ code: '53100', message: expect.stringContaining('No space left on device') }),
      });

      // Room again: the probe sees it within a second, and the same process takes writes.
      disk.free();
      const running = server;
      await expect
        .poll(() => health(running.url), { timeout: 5_000, interval: 200 })
        .toMatchObject({ status: 200, body: { status: 'ok' } });
      expect(server.logs.some((line) => line.msg?.includes('takes writes again'))).toBe(true);
      const again = await createUntilRefused(server.url, 3);
      expect(again.refusal).toBeUndefined();
      acknowledged.push(...again.acknowledged);
      expect(await stopServerProcess(server)).toEqual({ code: 0, signal: null });

      // Now the WAL: a few KB left in its segment, no spare segment, and the disk full.
      const wal = await walUpToSegmentEnd(dataDir, 32 * 1024);
      expect(wal.left).toBeLessThanOrEqual(32 * 1024);
      server = await startServerProcess('wal-full', env);
      dropSpareWalSegments(dataDir, wal.segment);
      expect(walSegments(dataDir)).toEqual([wal.segment]);
      disk.fill();
      // Creates until the WAL refuses one (a table that must grow may refuse one first: that one
      // leaves the process running, and says so in no fatal line).
      const exiting = server;
      const fatal = () => exiting.logs.find((line) => line.level === 60);
      for (let round = 0; round < 10 && !fatal(); round++) {
        const walFull = await createUntilRefused(exiting.url, 200);
        acknowledged.push(...walFull.acknowledged);
        expect(walFull.refusal).toMatchObject(UNAVAILABLE);
        await waitFor(() => fatal() !== undefined, { timeoutMs: 2_000, what: 'a fatal log line' }).catch(
          () => undefined,
        );
      }
      // It stops on its own, and says why.
      const exited = await Promise.race([exiting.exit, pause(20_000).then(() => 'still running 20 s later')]);
      expect(exited).toEqual({ code: 1, signal: null });
      expect(fatal()).toMatchObject({
        msg: expect.stringContaining('the process must restart'),
        err: expect.objectContaining({ message: expect.stringContaining('No space left on device') }),
      });

      // Its supervisor starts it again once there is room: the WAL is replayed, nothing is lost.
      disk.free();
      server = await startServerProcess('restarted', env);
      expect(await readBack(server.url, acknowledged)).toEqual(acknowledged);
      expect((await createUntilRefused(server.url, 1)).refusal).toBeUndefined();
      expect(await stopServerProcess(server)).toEqual({ code: 0, signal: null });
    },
  );

  it('faults injected into the fs calls of its file system (the app in this process): full, then 503 SERVICE_UNAVAILABLE, reads served, /health unavailable, and writes again once healed; failing (EIO), then 503 and no hang, /health unavailable, and a new app has every acknowledged checkout', {
    timeout: 60_000,
  }, async ({ expect, onTestFinished }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'disk-fault-injected-'));
    const faults = injectDiskFaults(dataDir);
    let t: TestApp | undefined;
    onTestFinished(async () => {
      faults.restore();
      await t?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    t = await startTestApp({ ...APP_ENV, DATA_DIR: dataDir, DATABASE_URL: undefined });
    const acknowledged: string[] = [];
    const first = await createUntilRefused(t.url, 1);
    expect(first.refusal).toBeUndefined();
    acknowledged.push(...first.acknowledged);

    // Full: a write past a file's end gets ENOSPC.
    faults.set('full');
    const full = await createUntilRefused(t.url, 200);
    acknowledged.push(...full.acknowledged);
    expect(full.refusal).toMatchObject(UNAVAILABLE);
    expect(faults.refused.ENOSPC).toBeGreaterThan(0);
    expect(await readBack(t.url, acknowledged)).toEqual(acknowledged);
    expect(await health(t.url)).toMatchObject({ status: 503, body: { status: 'unavailable' } });

    faults.set('ok');
    const healed = t;
    await expect
      .poll(() => health(healed.url), { timeout: 5_000, interval: 200 })
      .toMatchObject({ status: 200, body: { status: 'ok' } });
    const again = await createUntilRefused(t.url, 2);
    expect(again.refusal).toBeUndefined();
    acknowledged.push(...again.acknowledged);

    // Failing: every write gets EIO, so the WAL write at commit fails and PostgreSQL PANICs.
    // Nothing hangs: the engine is sent nothing more, and every operation answers 503.
    faults.set('eio');
    const failing = await createUntilRefused(t.url, 5);
    acknowledged.push(...failing.acknowledged);
    expect(failing.refusal).toMatchObject(UNAVAILABLE);
    expect(faults.refused.EIO).toBeGreaterThan(0);
    expect((await t.app.database.failure)?.message).toMatch(/stopped after a failed disk write/);
    expect(await create(t.url)).toMatchObject(UNAVAILABLE);
    expect(await health(t.url)).toMatchObject({ status: 503, body: { status: 'unavailable' } });
    expect(t.logs.some((line) => line.includes('the process must restart'))).toBe(true);
    const failed = t;
    t = undefined;
    await failed.stop();

    // A new process (here: a new app) on the healed disk replays the WAL.
    faults.set('ok');
    t = await startTestApp({ ...APP_ENV, DATA_DIR: dataDir, DATABASE_URL: undefined });
    expect(await readBack(t.url, acknowledged)).toEqual(acknowledged);
    expect((await createUntilRefused(t.url, 1)).refusal).toBeUndefined();
  });
});

describe('which disk errors are an outage', () => {
  it('PostgreSQL’s errors for a disk that refuses a write, under whatever SQLSTATE, and a PANIC; not a statement refused', () => {
    const error = (code: string, message: string, severity = 'ERROR') => ({ code, message, severity });
    const wrapped = (cause: unknown) => new Error('Failed query: insert into …', { cause });
    for (const outage of [
      error('53100', 'could not extend file "base/5/16390": No space left on device'),
      error('58030', 'could not write block 7 in file "base/5/16390": I/O error'),
      // EROFS is filed under 42501 and EDQUOT under XX000: the strerror says what happened.
      error('42501', 'could not extend file "base/5/16390": Read-only file system'),
      error('XX000', 'could not extend file "base/5/16390": Disk quota exceeded'),
      error('53100', 'could not write to file "pg_wal/xlogtemp.42": No space left on device', 'PANIC'),
      new EmbeddedDatabaseFailedError(new Error('could not write to log file')),
    ]) {
      expect(isDatabaseUnavailable(wrapped(outage)), JSON.stringify(outage)).toBe(true);
    }
    expect(isDiskWriteFailure(wrapped(error('42501', 'could not extend file "base/5/1": Read-only file system')))).toBe(
      true,
    );
    for (const refused of [
      error('42501', 'permission denied for table checkouts'),
      error('23505', 'duplicate key value violates unique constraint "checkouts_pkey"'),
      error('XX000', 'cache lookup failed for type 0'),
      new Error('No space left on device'),
    ]) {
      expect(isDatabaseUnavailable(wrapped(refused)), JSON.stringify(refused)).toBe(false);
    }
  });
});
