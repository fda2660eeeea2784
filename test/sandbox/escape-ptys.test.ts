/**
 * Ptys past every limit, in every mode: bwrap's `--dev` mounts a devpts instance with no `max`, and
 * the kernel's pty count (kernel.pty.max, less the reserve kept for the host's own instance) is
 * shared by every instance on the host. One jail opened 3,071 ptys and left none to every other
 * jail, container and terminal while it ran. Each jail's /dev/pts is now an instance of its own
 * with a small `max` (sized-mounts.ts), under a cgroup and under `weaker_limits`, from a root
 * launcher and from an unprivileged one; the tools that need a pty still get one.
 *
 * The loop stops at ATTEMPTS (well past the bound, well under the host's pool) so a run on the old
 * code shows the escape without starving the machine's other users.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JAIL_PTY_MAX } from '../../src/sandbox/sized-mounts.js';
import { runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_130_000_000 + (process.pid % 100_000);
const ATTEMPTS = 300;

/** Opens ptys (master and slave) until refused or ATTEMPTS; prints how many; holds them argv[2] s. */
const OPEN = `
import os, sys, time
held = []
why = ''
for _ in range(int(sys.argv[1])):
    try:
        held.append(os.openpty())
    except OSError as e:
        why = e.strerror
        break
print('held', len(held), why, flush=True)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
`;

const SCRIPT = `python3 ./ptys.py ${ATTEMPTS}`;
/** A program that runs its command on a pty, and one that asks for a pty pair directly. */
const TOOLS = `script -qc 'echo on-a-pty' /dev/null; python3 -c 'import os, pty; m, s = pty.openpty(); print("pair", os.isatty(s))'`;

function heldPtys(out: string): number {
  const m = /^held (\d+)/m.exec(out);
  if (!m) throw new Error(`no result: ${out}`);
  return Number(m[1]);
}

function expectBounded(out: string): void {
  const held = heldPtys(out);
  expect(held, out).toBeLessThanOrEqual(JAIL_PTY_MAX);
  // The jail still has ptys of its own: a bound that holds because none can be opened is none.
  expect(held, out).toBeGreaterThanOrEqual(JAIL_PTY_MAX - 2);
}

const prepare = (wd: string) => writeFileSync(join(wd, 'ptys.py'), OPEN);

describe.skipIf(skip || !isRoot)('escape: ptys past every limit (root launcher)', () => {
  it('bounds the ptys one jail opens under a cgroup', async () => {
    const { out } = await runInJail(SCRIPT, { prepare });
    expectBounded(out);
  }, 60_000);

  it('bounds the ptys one jail opens under weaker_limits', async () => {
    const { out } = await runInJail(SCRIPT, {
      cgroupRoot: tempDir('bulkhead-no-cgroup-'),
      weakerLimits: true,
      prepare,
    });
    expectBounded(out);
  }, 60_000);

  it('bounds the ptys the same through a prepared launcher', async () => {
    const { out } = await runInJail(SCRIPT, { prepared: true, prepare });
    expectBounded(out);
  }, 60_000);

  it('leaves another jail its own ptys while one holds all it can', async () => {
    // The first holds its ptys for a few seconds; the second starts once the first has them.
    const holding = runInJail(`${SCRIPT} 4`, { prepare });
    await new Promise((r) => setTimeout(r, 1_500));
    const second = await runInJail(SCRIPT, { prepare });
    expectBounded((await holding).out);
    expectBounded(second.out);
  }, 60_000);

  // bwrap's own unbounded instance lies under the jail's: uncovering it would undo the bound.
  it('cannot uncover an unbounded devpts by unmounting its /dev/pts', async () => {
    const { out } = await runInJail(`umount /dev/pts; umount -l /dev/pts; ${SCRIPT}`, { prepare });
    expectBounded(out);
  }, 60_000);

  it('still runs programs that need a pty', async () => {
    const { out } = await runInJail(TOOLS, {});
    expect(out).toContain('on-a-pty');
    expect(out).toContain('pair True');
  }, 60_000);

  it('still runs programs that need a pty under weaker_limits', async () => {
    const { out } = await runInJail(TOOLS, {
      cgroupRoot: tempDir('bulkhead-no-cgroup-'),
      weakerLimits: true,
    });
    expect(out).toContain('on-a-pty');
    expect(out).toContain('pair True');
  }, 60_000);
});

describe.skipIf(skip || !isRoot)('escape: ptys past every limit (unprivileged launcher)', () => {
  it('bounds the ptys one jail opens under weaker_limits', () => {
    expectBounded(runInJailAsUid(UNPRIVILEGED, SCRIPT, { weakerLimits: true }, { 'ptys.py': OPEN }));
  }, 90_000);

  it('still runs programs that need a pty', () => {
    const out = runInJailAsUid(UNPRIVILEGED, TOOLS, { weakerLimits: true });
    expect(out).toContain('on-a-pty');
    expect(out).toContain('pair True');
  }, 90_000);
});
