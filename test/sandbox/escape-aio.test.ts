/**
 * The host's asynchronous I/O contexts, in every mode: fs.aio-max-nr (65,536 events) is one pool
 * for the whole host, which no cgroup or rlimit splits, and `io_setup` was open to the jail. One
 * jail took all 65,536 while it ran, so every database or VM on the host that uses Linux AIO
 * (`io_setup` then fails with EAGAIN) stopped starting. The jail's seccomp program now refuses
 * `io_setup` with ENOSYS, as a kernel built without AIO does, which libaio's users fall back from.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_160_000_000 + (process.pid % 100_000);

/** Asks for contexts of 4,096 events until refused; prints the events it got and the last errno. */
const AIO = `
import ctypes, platform
libc = ctypes.CDLL(None, use_errno=True)
nr = {'x86_64': 206, 'aarch64': 0}[platform.machine()]
events = 0
for _ in range(64):
    ctx = ctypes.c_ulong(0)
    if libc.syscall(nr, 4096, ctypes.byref(ctx)) != 0: break
    events += 4096
print('events', events, 'errno', ctypes.get_errno())
`;

const ENOSYS = 38;

function expectRefused(out: string): void {
  const m = /^events (\d+) errno (\d+)$/m.exec(out);
  expect(m, out).not.toBeNull();
  expect(Number(m?.[1])).toBe(0);
  expect(Number(m?.[2])).toBe(ENOSYS);
}

const prepare = (wd: string) => writeFileSync(join(wd, 'aio.py'), AIO);

describe.skipIf(skip || !isRoot)("escape: the host's AIO contexts (root launcher)", () => {
  it('takes none of the host-wide AIO events under a cgroup', async () => {
    expectRefused((await runInJail('python3 ./aio.py', { prepare })).out);
  }, 60_000);

  it('takes none of the host-wide AIO events under weaker_limits', async () => {
    const { out } = await runInJail('python3 ./aio.py', {
      cgroupRoot: tempDir('bulkhead-no-cgroup-'),
      weakerLimits: true,
      prepare,
    });
    expectRefused(out);
  }, 60_000);
});

describe.skipIf(skip || !isRoot)("escape: the host's AIO contexts (unprivileged launcher)", () => {
  it('takes none of the host-wide AIO events', () => {
    expectRefused(
      runInJailAsUid(UNPRIVILEGED, 'python3 ./aio.py', { weakerLimits: true }, { 'aio.py': AIO }),
    );
  }, 90_000);
});
