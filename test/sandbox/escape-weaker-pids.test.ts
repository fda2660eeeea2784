/**
 * The pids limit under `sandbox.weaker_limits`, where RLIMIT_NPROC stands in for the pids cgroup.
 * RLIMIT_NPROC counts every process of the host uid, and the jail's user namespace does not split
 * that count: a fork bomb in the jail stops at the limit from a root launcher (the jail has a uid
 * of its own, identity.ts) and from an unprivileged one (whose own other processes and threads,
 * the launcher's node among them, count against the jail's limit too: a smaller budget, never a
 * larger one; at 24 such a jail could not start its command at all).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_130_000_000 + (process.pid % 100_000);
const PIDS = 64;

/** Forks sleepers until refused, well past the limit if nothing stops it; prints how many it made. */
const FORK = `
import os, time
kids = []
try:
    for i in range(400):
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        kids.append(pid)
except OSError:
    pass
print('forked', len(kids), flush=True)
for k in kids: os.kill(k, 9)
`;

function forked(out: string): number {
  const m = /^forked (\d+)$/m.exec(out);
  if (!m) throw new Error(`no result: ${out}`);
  return Number(m[1]);
}

describe.skipIf(skip || !isRoot)('escape: forking past the pids limit under weaker_limits', () => {
  it('stops a fork bomb at the limit from a root launcher', async () => {
    const { out } = await runInJail('python3 ./fork.py', {
      cgroupRoot: tempDir('bulkhead-no-cgroup-'),
      weakerLimits: true,
      pids: PIDS,
      prepare: (wd) => writeFileSync(join(wd, 'fork.py'), FORK),
    });
    expect(forked(out)).toBeLessThan(PIDS);
    expect(forked(out)).toBeGreaterThan(PIDS / 2);
  }, 60_000);

  it('stops a fork bomb at the limit from an unprivileged launcher', () => {
    const out = runInJailAsUid(
      UNPRIVILEGED,
      'python3 ./fork.py',
      { weakerLimits: true, pids: PIDS },
      { 'fork.py': FORK },
    );
    expect(forked(out)).toBeLessThan(PIDS);
    expect(forked(out)).toBeGreaterThan(PIDS / 2);
  }, 90_000);
});
