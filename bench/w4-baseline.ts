/**
 * W4's burst runs against an earlier version of the server, for "polls per CPU-second against
 * today": a git worktree of BENCH_W4_BASELINE_COMMIT (default a51ec97, the last commit before the
 * batched schedule moves and the one-statement claim) gets its own dependencies (`npm ci`) and this
 * checkout's W4 scripts, and runs them at the default POLL_CONCURRENCY (32), without the sustained scenario.
 * Writes bench/results/w4-baseline.json (its W4 results and the commit).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress, ROOT, writeResults } from './lib/common.js';

const commit = process.env.BENCH_W4_BASELINE_COMMIT ?? 'a51ec97';
const dir = mkdtempSync(join(tmpdir(), 'bench-w4-baseline-'));
rmSync(dir, { recursive: true });
execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: ROOT, stdio: 'ignore' });
try {
  // Its own dependencies, from its own lockfile: today's node_modules lacks packages it imported
  // (@graphql-yoga/redis-event-target, for one). From npm's cache where it can.
  progress(`W4 baseline: npm ci in ${dir}`);
  execFileSync('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: dir,
    stdio: 'inherit',
  });
  // Today's measuring scripts (the CPU scrape), the server as it was at `commit`.
  for (const file of ['bench/w4-poller.ts', 'bench/servers/slow-smartcheckout.ts'])
    copyFileSync(join(ROOT, file), join(dir, file));
  progress(`W4 baseline: the burst runs against ${commit} (worktree ${dir})`);
  execFileSync('npx', ['tsx', 'bench/w4-poller.ts'], {
    cwd: dir,
    stdio: 'inherit',
    env: { ...process.env, BENCH_W4_CONCURRENCIES: '32', BENCH_W4_SUSTAINED: '0' },
  });
  const results = JSON.parse(readFileSync(join(dir, 'bench/results/w4.json'), 'utf8')) as object;
  progress(`W4 baseline results: ${writeResults('w4-baseline', { commit, ...results })}`);
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
}
