/**
 * This API as production runs it: buildApp from src/app/index.ts, configured from the environment
 * the bench script passes (NODE_ENV=production, API_KEYS, POLLER, LOG_LEVEL=warn ...).
 * Prints `READY {"url": ...}` once listening; stops gracefully on SIGTERM.
 *
 * With BENCH_POLL_SEED=N (W4), N processing Smartcheckout checkouts of tenant BENCH_TENANT are
 * bulk-inserted with their poll schedules before the poller starts, due spread evenly over one
 * poll interval from start; the READY line then carries the global ids of the first 1,000.
 *
 * With BENCH_POLL_TRICKLE=<rate>,<total> (W4 sustained), after start <rate> new PROCESSING
 * checkouts a second (sc_trickle_<i>, in ten inserts a second) are written with a poll schedule due
 * at once, as a create would leave them, until <total> exist; TRICKLED is printed when done.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { inArray, sql } from 'drizzle-orm';
import { loadConfig } from '../../src/config/index.js';
import { checkoutEvents, checkouts, pollSchedules } from '../../src/db/schema.js';
import { buildApp, type App } from '../../src/app/index.js';

const config = loadConfig(process.env);
const app = await buildApp(config);
const pollSeed = Number(process.env.BENCH_POLL_SEED ?? 0);
let watchIds: string[] | undefined;
if (pollSeed > 0)
  watchIds = await seedProcessing(app, process.env.BENCH_TENANT ?? 'bench', pollSeed, config.pollIntervalMs);
const url = await app.start();
console.log(`READY ${JSON.stringify({ url, pid: process.pid, database: app.database.kind, watchIds })}`);
const trickle = process.env.BENCH_POLL_TRICKLE?.split(',').map(Number);
if (trickle) void trickleProcessing(app, process.env.BENCH_TENANT ?? 'bench', trickle[0]!, trickle[1]!);

// bench/profile.ts profiles the load window only, not start-up and seeding: with BENCH_CPU_PROFILE
// set to a file, the first SIGUSR2 starts V8's CPU profiler and the second writes the profile there.
const profileFile = process.env.BENCH_CPU_PROFILE;
if (profileFile) {
  const session = new Session();
  session.connect();
  let profiling = false;
  process.on('SIGUSR2', () => {
    if (!profiling) {
      profiling = true;
      session.post('Profiler.enable', () => session.post('Profiler.start', () => console.log('PROFILING')));
      return;
    }
    session.post('Profiler.stop', (error, result) => {
      if (error) console.log(`PROFILE FAILED ${error.message}`);
      else writeFileSync(profileFile, JSON.stringify(result.profile));
      console.log(`PROFILED ${profileFile}`);
    });
  });
}

// W3 reads the server's memory after a full collection (node --expose-gc), so that garbage left by
// 10,000 handshakes does not count as memory held per subscription.
process.on('SIGUSR2', () => {
  if (profileFile) return;
  (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed, external } = process.memoryUsage();
  console.log(`RSS ${JSON.stringify({ rss, heap: heapUsed + external })}`);
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void app.stop().finally(() => process.exit(0));
});

/**
 * Writes `count` PROCESSING checkouts (ids sc_bench_<i> at the provider) in batches of 500, each
 * with its PROCESSING event and a poll schedule, then makes them due over the next `intervalMs`.
 */
async function seedProcessing(app: App, tenant: string, count: number, intervalMs: number): Promise<string[]> {
  const db = app.database.db;
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const batch = Array.from({ length: Math.min(500, count - start) }, (_, k) => start + k);
    const rowIds = await insertProcessing(app, tenant, 'sc_bench', batch, new Date(Date.now() + 3_600_000));
    ids.push(...rowIds);
  }
  // Due times are set last, relative to now, so the time spent seeding does not count as lag.
  await db.execute(sql`
    update poll_schedules s set next_poll_at = now() + (r.rank::float / ${count}) * ${intervalMs} * interval '1 millisecond'
    from (select checkout_id, row_number() over (order by checkout_id) - 1 as rank from poll_schedules) r
    where s.checkout_id = r.checkout_id`);
  const seeded = await db
    .select({ id: checkouts.id })
    .from(checkouts)
    .where(inArray(checkouts.id, ids.slice(0, 1)))
    .limit(1);
  if (seeded.length !== 1) throw new Error('seeding failed');
  return ids.slice(0, 1_000).map((id) => Buffer.from(`SmartCheckout:${id}`).toString('base64'));
}

/** Writes `rate` PROCESSING checkouts a second, each due for its first poll at once, until `total`. */
async function trickleProcessing(app: App, tenant: string, rate: number, total: number): Promise<void> {
  const perTick = Math.max(1, Math.round(rate / 10));
  const startedAt = Date.now();
  for (let written = 0, tick = 0; written < total; tick++) {
    const batch = Array.from({ length: Math.min(perTick, total - written) }, (_, k) => written + k);
    await insertProcessing(app, tenant, 'sc_trickle', batch, new Date());
    written += batch.length;
    // Paced against the start, so a slow insert does not stretch the schedule.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + ((tick + 1) * 1000) / 10 - Date.now())));
  }
  console.log('TRICKLED');
}

/** Writes PROCESSING Smartcheckout checkouts `<prefix>_<i>` with their event and a poll schedule due at `dueAt`. */
async function insertProcessing(
  app: App,
  tenant: string,
  prefix: string,
  indices: number[],
  dueAt: Date,
): Promise<string[]> {
  const db = app.database.db;
  const rows = await db
    .insert(checkouts)
    .values(
      indices.map((i) => ({
        tenant,
        provider: 'SMARTCHECKOUT' as const,
        providerCheckoutId: `${prefix}_${i}`,
        status: 'PROCESSING' as const,
        testMode: false,
        details: { productUrl: `https://store-${i % 50}.example/item/${i}`, userData: { email: 'ada@example.com' } },
      })),
    )
    .returning({ id: checkouts.id });
  const rowIds = rows.map((row) => row.id);
  await db
    .insert(checkoutEvents)
    .values(rowIds.map((checkoutId) => ({ checkoutId, status: 'PROCESSING' as const, source: 'api' })));
  await db.insert(pollSchedules).values(rowIds.map((checkoutId) => ({ checkoutId, nextPollAt: dueAt })));
  return rowIds;
}
