/**
 * Kernel memory past the jail's limit through System V message queues and semaphores, under
 * `sandbox.weaker_limits`: no rlimit counts them, and the jail's new IPC namespace starts with the
 * kernel's defaults (32,000 queues of 16 KiB; 32,000 arrays of up to 32,000 semaphores, about 64
 * bytes each). 500 MiB of queued messages and 6.4 million semaphores (about 400 MiB) were held in
 * a 64 MiB jail. The jail's IPC namespace now caps each at the memory limit (sized-mounts.ts), from
 * a root launcher and from an unprivileged one. Under a cgroup both are charged to the jail.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { heldMb, runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_150_000_000 + (process.pid % 100_000);
const MEMORY_MB = 64;
/** The kernel's semaphore (struct sem, cache-line aligned). */
const SEM_BYTES = 64;
const MOST_SEMAPHORES = (MEMORY_MB << 20) / SEM_BYTES;

/** `msg N`: fills up to N queues with 8 KiB messages; `sem N`: makes up to N arrays of 32,000. */
const IPC = `
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
kind, n = sys.argv[1], int(sys.argv[2])
if kind == 'msg':
    class Msg(ctypes.Structure):
        _fields_ = [('mtype', ctypes.c_long), ('mtext', ctypes.c_char * 8192)]
    m = Msg(1, b'x' * 8192)
    total = 0
    for _ in range(n):
        q = libc.msgget(0, 0o1600)
        if q < 0: break
        while libc.msgsnd(q, ctypes.byref(m), 8192, 0o4000) == 0: total += 8192
    print('held', total >> 20)
else:
    made = 0
    for _ in range(n):
        if libc.semget(0, 32000, 0o1600) < 0: break
        made += 32000
    print('semaphores', made)
`;

function semaphores(out: string): number {
  const m = /^semaphores (\d+)$/m.exec(out);
  if (!m) throw new Error(`no result: ${out}`);
  return Number(m[1]);
}

const noCgroup = () => ({
  cgroupRoot: tempDir('bulkhead-no-cgroup-'),
  weakerLimits: true,
  memoryMb: MEMORY_MB,
});
const MSG = 'python3 ./ipc.py msg 40000';
const SEM = 'python3 ./ipc.py sem 200';

describe.skipIf(skip || !isRoot)(
  'escape: System V queues and semaphores under weaker_limits (root launcher)',
  () => {
    const run = (script: string) =>
      runInJail(script, { ...noCgroup(), prepare: (wd) => writeFileSync(join(wd, 'ipc.py'), IPC) });

    it('holds no more than the memory limit in message queues', async () => {
      const held = heldMb((await run(MSG)).out);
      expect(held).toBeLessThanOrEqual(MEMORY_MB);
      // Queues still work: a cap that refused every message would be no answer.
      expect(held).toBeGreaterThanOrEqual(MEMORY_MB / 2);
    }, 60_000);

    it('holds no more semaphores than the memory limit pays for', async () => {
      const made = semaphores((await run(SEM)).out);
      expect(made).toBeLessThanOrEqual(MOST_SEMAPHORES);
      expect(made).toBeGreaterThanOrEqual(32_000);
    }, 60_000);
  },
);

describe.skipIf(skip || !isRoot)(
  'escape: System V queues and semaphores under weaker_limits (unprivileged launcher)',
  () => {
    const run = (script: string) =>
      runInJailAsUid(UNPRIVILEGED, script, { weakerLimits: true, memoryMb: MEMORY_MB }, { 'ipc.py': IPC });

    it('holds no more than the memory limit in message queues', () => {
      expect(heldMb(run(MSG))).toBeLessThanOrEqual(MEMORY_MB);
    }, 90_000);

    it('holds no more semaphores than the memory limit pays for', () => {
      expect(semaphores(run(SEM))).toBeLessThanOrEqual(MOST_SEMAPHORES);
    }, 90_000);
  },
);
