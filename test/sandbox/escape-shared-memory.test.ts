/**
 * Memory past the jail's limit through System V shared memory, under `sandbox.weaker_limits`: the
 * memory limit is then RLIMIT_DATA, which counts private mappings only, and a new IPC namespace
 * allows segments up to nearly all of the host's RAM (kernel.shmall). A 300 MiB segment, made and
 * touched, went through in a 64 MiB jail. The jail's IPC namespace now caps the segments' total at
 * the memory limit (sized-mounts.ts), from a root launcher and from an unprivileged one.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heldMb, runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_120_000_000 + (process.pid % 100_000);
const MEMORY_MB = 64;

/** Makes System V segments of `size` MiB until refused; touches each; prints how many MiB it held. */
const SHM = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
size = int(sys.argv[1]) << 20
held = 0
for _ in range(int(sys.argv[2])):
    sid = libc.shmget(0, ctypes.c_size_t(size), 0o1600)
    if sid < 0: break
    addr = libc.shmat(sid, None, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value: break
    ctypes.memset(addr, 1, size)
    held += size >> 20
print('held', held)
`;

const CASES = [
  { name: 'one segment larger than the memory limit', args: '300 1', least: 0 },
  // Up to the limit stays usable: a cap that refused every segment would be no answer.
  { name: 'many segments each under the limit', args: '16 20', least: 48 },
] as const;

describe.skipIf(skip || !isRoot)('escape: System V shared memory under weaker_limits (root launcher)', () => {
  // The cap's sysctls belong to the IPC namespace's owner, which the jail's user is (sized-mounts.ts).
  it('cannot raise its own cap: /proc/sys is read-only in the jail', async () => {
    const { out } = await runInJail(
      'for f in shmall shmmax; do echo 999999 > /proc/sys/kernel/$f; done; cat /proc/sys/kernel/shmall; echo END',
      { cgroupRoot: tempDir('bulkhead-no-cgroup-'), weakerLimits: true, memoryMb: MEMORY_MB },
    );
    expect(out).toContain('END');
    expect(out).toMatch(/Read-only file system/);
    expect(out).toContain(`\n${(MEMORY_MB * 1024 * 1024) / 4096}\nEND`);
  }, 60_000);

  for (const c of CASES)
    it(`holds no more than the memory limit: ${c.name}`, async () => {
      const { out } = await runInJail(`python3 ./shm.py ${c.args}`, {
        cgroupRoot: tempDir('bulkhead-no-cgroup-'),
        weakerLimits: true,
        memoryMb: MEMORY_MB,
        prepare: (wd) => writeFileSync(join(wd, 'shm.py'), SHM),
      });
      expect(heldMb(out)).toBeLessThanOrEqual(MEMORY_MB);
      expect(heldMb(out)).toBeGreaterThanOrEqual(c.least);
    }, 60_000);
});

describe.skipIf(skip || !isRoot)(
  'escape: System V shared memory under weaker_limits (unprivileged launcher)',
  () => {
    for (const c of CASES)
      it(`holds no more than the memory limit: ${c.name}`, () => {
        const out = runInJailAsUid(
          UNPRIVILEGED,
          `python3 ./shm.py ${c.args}`,
          { weakerLimits: true, memoryMb: MEMORY_MB },
          { 'shm.py': SHM },
        );
        expect(heldMb(out)).toBeLessThanOrEqual(MEMORY_MB);
        expect(heldMb(out)).toBeGreaterThanOrEqual(c.least);
      }, 90_000);
  },
);
