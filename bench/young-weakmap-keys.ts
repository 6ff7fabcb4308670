/**
 * What a WeakMap entry per short-lived object costs V8's young generation: the pattern Pothos'
 * context caches and the Prometheus plugins had (one entry per request, keyed by the request or
 * its context), against the same work with the state on the object itself (patches/README.md,
 * bench/README.md "Garbage per request").
 *
 * Each mode makes 200,000 "requests" (an object holding 200 small objects) in batches of 100 per
 * event-loop turn, and sums the time of the minor (scavenge) collections the process reports.
 * Run: `npx tsx bench/young-weakmap-keys.ts` (each mode in its own process, so one's old
 * generation does not slow the next).
 */
import { spawnSync } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const MODES = ['nothing kept', 'WeakMap entry', 'WeakMap entry, deleted at the end', 'property on the object'] as const;
type Mode = (typeof MODES)[number];

const mode = process.argv[2] as Mode | undefined;
if (mode === undefined) {
  console.log('| per-request state | wall ms | scavenges | scavenge ms (sum) |');
  console.log('|---|---:|---:|---:|');
  for (const each of MODES) {
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, each], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`${each}: ${child.stderr}`);
    console.log(child.stdout.trim());
  }
} else {
  await run(mode);
}

async function run(kind: Mode): Promise<void> {
  let scavenges = 0;
  let scavengeMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      if (detail?.kind !== constants.NODE_PERFORMANCE_GC_MINOR) continue;
      scavenges += 1;
      scavengeMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const states = new WeakMap<object, { seen: () => number }>();
  const STATE = Symbol('state');
  let sink = 0;
  const startedAt = performance.now();
  for (let turn = 0; turn < 2_000; turn++) {
    for (let k = 0; k < 100; k++) {
      const request: { payload: { i: number }[]; [STATE]?: { seen: () => number } } = {
        payload: new Array(200).fill(0).map((_, i) => ({ i })),
      };
      if (kind === 'WeakMap entry') states.set(request, { seen: () => turn });
      if (kind === 'WeakMap entry, deleted at the end') {
        states.set(request, { seen: () => turn });
        states.delete(request);
      }
      if (kind === 'property on the object') request[STATE] = { seen: () => turn };
      sink += request.payload.length;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const wallMs = performance.now() - startedAt;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  if (sink === 0) throw new Error('nothing ran');
  console.log(`| ${kind} | ${wallMs.toFixed(0)} | ${scavenges} | ${scavengeMs.toFixed(0)} |`);
}
