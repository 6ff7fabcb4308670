import { readFileSync } from 'node:fs';

/** A share of the profiled CPU time. */
export interface ProfileEntry {
  name: string;
  /** Percent of all sampled time (idle excluded). */
  percent: number;
}

/** The hot spots of a V8 .cpuprofile: top functions by self time, and self time by package. */
export interface ProfileSummary {
  sampledMs: number;
  topFunctions: ProfileEntry[];
  byPackage: ProfileEntry[];
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a script lives: its npm package, a src/ module, node internals, or V8's own buckets. */
function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const local = /\/work\/[^/]+\/(src|bench)\/(.*)$/.exec(url) ?? /\/(src|bench)\/(.*)$/.exec(url);
  if (local) return `${local[1]}/${local[2]}`;
  return url;
}

/** Reads a .cpuprofile and sums self time per function and per package, idle time left out. */
export function summariseProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const selfUs = new Map<number, number>();
  for (const [index, nodeId] of profile.samples.entries()) {
    selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (us === 0 || functionName === '(idle)') continue;
    total += us;
    const pkg = packageOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${url ? `${pkg}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const rank = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, percent: Math.round((1000 * us) / total) / 10 }));
  return { sampledMs: Math.round(total / 1000), topFunctions: rank(byFunction, top), byPackage: rank(byPackage, top) };
}
