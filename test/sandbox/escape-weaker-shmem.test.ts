/**
 * Memory past the jail's limit through shared memory the kernel keeps outside every rlimit, under
 * `sandbox.weaker_limits`: the memory limit is then RLIMIT_DATA, which counts private mappings
 * only. A `memfd_create` file, a `MAP_SHARED|MAP_ANONYMOUS` mapping and a shared mapping of
 * /dev/zero are all shmem no namespace or rlimit bounds: 300 MiB of each was held in a 64 MiB jail.
 * Without a memory cgroup the jail's seccomp program now refuses the first two and its /dev/zero
 * cannot be mapped (sized-mounts.ts, seccomp.ts); shared memory stays available through /dev/shm,
 * a sized tmpfs. Under a cgroup all three are charged to the jail and stay allowed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heldMb, runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_140_000_000 + (process.pid % 100_000);
const MEMORY_MB = 64;
const TRY_MB = 300;

/** Holds up to N MiB of one kind of shared memory, touching every page; prints how many it held. */
const HOLD = `
import mmap, os, sys
kind, mib = sys.argv[1], int(sys.argv[2])
chunk = b'\\1' * (1 << 20)
held = 0
try:
    if kind == 'memfd':
        fd = os.memfd_create('x')
        for _ in range(mib):
            os.write(fd, chunk)
            held += 1
    elif kind == 'posix':
        from multiprocessing import shared_memory
        m = shared_memory.SharedMemory(create=True, size=mib << 20)
        for i in range(mib):
            m.buf[i << 20:(i + 1) << 20] = chunk
            held += 1
    else:
        if kind == 'anonymous':
            m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        else:
            m = mmap.mmap(os.open('/dev/zero', os.O_RDWR), mib << 20, flags=mmap.MAP_SHARED)
        for i in range(mib):
            m[i << 20:(i + 1) << 20] = chunk
            held += 1
except (OSError, BufferError) as e:
    print('refused', e)
print('held', held)
`;

const KINDS = [
  { kind: 'memfd', name: 'a memfd_create file' },
  { kind: 'anonymous', name: 'a MAP_SHARED|MAP_ANONYMOUS mapping' },
  { kind: 'zero', name: 'a shared mapping of /dev/zero' },
] as const;

const noCgroup = () => ({
  cgroupRoot: tempDir('bulkhead-no-cgroup-'),
  weakerLimits: true,
  memoryMb: MEMORY_MB,
});
const prepare = (wd: string) => writeFileSync(join(wd, 'hold.py'), HOLD);

describe.skipIf(skip || !isRoot)('escape: shared memory under weaker_limits (root launcher)', () => {
  for (const { kind, name } of KINDS)
    it(`holds no more than the memory limit through ${name}`, async () => {
      const { out } = await runInJail(`python3 ./hold.py ${kind} ${TRY_MB}`, { ...noCgroup(), prepare });
      expect(heldMb(out), out).toBeLessThanOrEqual(MEMORY_MB);
    }, 60_000);

  it('still gives shared memory through /dev/shm, up to its size', async () => {
    const { out } = await runInJail('python3 ./hold.py posix 8', { ...noCgroup(), prepare });
    expect(heldMb(out), out).toBe(8);
  }, 60_000);

  it('still reads zeros from /dev/zero and starts node', async () => {
    const { out } = await runInJail(
      'head -c 4096 /dev/zero | wc -c; node -e "console.log(\'node-ok\')"',
      noCgroup(),
    );
    expect(out).toContain('4096');
    expect(out).toContain('node-ok');
  }, 60_000);

  // A memory cgroup charges shmem to the jail: there these stay allowed, and the cgroup bounds them.
  it('allows memfd_create and shared mappings under a memory cgroup', async () => {
    const { out } = await runInJail(
      'python3 ./hold.py memfd 8; python3 ./hold.py anonymous 8; python3 ./hold.py zero 8',
      { memoryMb: MEMORY_MB, prepare },
    );
    expect([...out.matchAll(/^held (\d+)$/gm)].map((m) => m[1])).toEqual(['8', '8', '8']);
  }, 60_000);
});

describe.skipIf(skip || !isRoot)('escape: shared memory under weaker_limits (unprivileged launcher)', () => {
  for (const { kind, name } of KINDS)
    it(`holds no more than the memory limit through ${name}`, () => {
      const out = runInJailAsUid(
        UNPRIVILEGED,
        `python3 ./hold.py ${kind} ${TRY_MB}`,
        { weakerLimits: true, memoryMb: MEMORY_MB },
        { 'hold.py': HOLD },
      );
      expect(heldMb(out), out).toBeLessThanOrEqual(MEMORY_MB);
    }, 90_000);
});
