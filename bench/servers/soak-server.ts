/**
 * This API as production runs it (buildApp from src/app/index.ts, configured from the environment
 * bench/soak.ts passes), for the memory soak. Run with `node --expose-gc`. Prints
 * `READY {"url": ..., "pid": ...}` once listening; stops gracefully on SIGTERM.
 *
 * On SIGUSR2 it runs two full garbage collections (the second collects what the first left to
 * weak callbacks and finalizers) and prints one line
 * `MEMORY {"rss", "heapUsed", "heapTotal", "external", "arrayBuffers", "handles", "readModelEntries", "gcMs"}`
 * with bytes after the collections. This is bench code: the product has no endpoint that forces a
 * collection. With BENCH_SOAK_SNAPSHOT_DIR and BENCH_SOAK_SNAPSHOTS=3,40 (sample numbers, from 1)
 * it also writes a heap snapshot after those samples' collections (for a leak hunt: compare two in
 * Chrome DevTools' Memory tab). A snapshot raises the RSS by about 200 MB for the rest of the run.
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { loadConfig } from '../../src/config/index.js';
import { buildApp } from '../../src/app/index.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('bench/servers/soak-server.ts needs node --expose-gc');

const app = await buildApp(loadConfig(process.env));
const url = await app.start();
console.log(`READY ${JSON.stringify({ url, pid: process.pid, database: app.database.kind })}`);

const snapshotDir = process.env.BENCH_SOAK_SNAPSHOT_DIR;
const snapshotAt = new Set((process.env.BENCH_SOAK_SNAPSHOTS ?? '').split(',').filter(Boolean).map(Number));
let samples = 0;

process.on('SIGUSR2', () => {
  samples += 1;
  const started = performance.now();
  gc();
  gc();
  const gcMs = Math.round(performance.now() - started);
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
  const line = {
    sample: samples,
    rss,
    heapUsed,
    heapTotal,
    external,
    arrayBuffers,
    handles: process.getActiveResourcesInfo().length,
    readModelEntries: app.readModel.size,
    gcMs,
  };
  console.log(`MEMORY ${JSON.stringify(line)}`);
  if (snapshotDir && snapshotAt.has(samples)) {
    const file = writeHeapSnapshot(join(snapshotDir, `soak-${samples}.heapsnapshot`));
    console.log(`SNAPSHOT ${JSON.stringify({ sample: samples, file })}`);
  }
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void app.stop().finally(() => process.exit(0));
});
