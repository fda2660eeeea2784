/**
 * Escape class 5: limits that are not there. Without a cgroup the jail used to
 * start anyway on per-process rlimits (a fork bomb per process, memory per
 * process, no CPU limit at all); now it refuses, naming what is missing and
 * how to delegate a cgroup, unless the profile accepts weaker limits. Every
 * place the jail can write is a sized tmpfs (/tmp, /dev/shm, the workdir),
 * and workdir_size caps the whole workdir, not each file.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutCgroups, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const noCgroups = skip || skipWithoutCgroups();

describe.skipIf(skip)('escape: missing limits', () => {
  it('refuses to start without a cgroup, naming what is missing and how to delegate one', async () => {
    const error = await startJail({
      ...jailSpec(tempDir('bulkhead-wd-'), ['/bin/true']),
      cgroupRoot: tempDir('bulkhead-no-cgroup-'),
    }).catch((e: unknown) => e);
    expect(isBulkheadError(error, 'sandbox_unavailable')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('no cgroup enforces');
    expect(message).toContain('cpu: not enforced');
    expect(message).toContain('Delegate=yes');
    expect(message).toContain('sandbox.weaker_limits: true');
  });

  it('starts on rlimits only when the profile accepts weaker limits, and says so', async () => {
    const { handle, exit } = await runInJail('true', {
      cgroupRoot: tempDir('bulkhead-no-cgroup-'),
      weakerLimits: true,
    });
    expect(exit.exitCode).toBe(0);
    expect(handle.limits.cpu).toContain('not enforced');
  });

  it('sizes /dev/shm: filling it stops at its size, not at the host memory', async () => {
    const { out } = await runInJail(
      'head -c 40000000 /dev/zero > /dev/shm/fill; echo rc=$?; du -k /dev/shm/fill',
      {
        tmpMb: 8,
      },
    );
    expect(out).toMatch(/No space left on device/);
    const kib = Number(/^(\d+)\s+\/dev\/shm\/fill/m.exec(out)?.[1]);
    expect(kib).toBeLessThanOrEqual(8 * 1024);
  });

  it('caps the whole workdir at workdir_size: many files together cannot pass it', async () => {
    const { workdir } = await runInJail('for i in 1 2 3 4 5 6; do head -c 1000000 /dev/zero > f$i; done', {
      workdirMb: 3,
    });
    const total = [1, 2, 3, 4, 5, 6]
      .map((i) => {
        try {
          return statSync(join(workdir, `f${i}`)).size;
        } catch {
          return 0;
        }
      })
      .reduce((a, b) => a + b, 0);
    expect(total).toBeLessThanOrEqual(3 * 1024 * 1024);
    expect(total).toBeGreaterThan(1_000_000);
  });

  it('refuses, naming the size, a workdir that does not fit in workdir_size', async () => {
    const error = await runInJail('true', {
      workdirMb: 1,
      prepare: (wd) => writeFileSync(join(wd, 'big'), Buffer.alloc(3 * 1024 * 1024)),
    }).catch((e: unknown) => e);
    expect(isBulkheadError(error, 'sandbox_unavailable')).toBe(true);
    expect((error as Error).message).toMatch(/does not fit in the jail's workdir size \(1 MiB\)/);
  });
});

describe.skipIf(noCgroups)('escape: tmpfs counted against the memory limit', () => {
  it('cannot use /tmp to hold more than its memory limit', async () => {
    const { exit } = await runInJail('head -c 200000000 /dev/zero > /tmp/fill; echo rc=$?', {
      memoryMb: 64,
      tmpMb: 512,
    });
    expect(exit.peakMemoryBytes).not.toBeNull();
    expect(exit.peakMemoryBytes ?? 0).toBeLessThanOrEqual(70 * 1024 * 1024);
  });

  it('cannot fill the host disk through the merge with sparse files larger than the workdir', async () => {
    // Each costs the 32 MiB tmpfs nothing; copied to the host, each would cost its whole length.
    const { workdir, exit } = await runInJail(
      'truncate -s 1G big; for i in 1 2 3 4 5 6; do truncate -s 20M part$i; done; echo small > small; echo end',
      { workdirMb: 32, memoryMb: 128 },
    );
    const onHost = ['big', 'part1', 'part2', 'part3', 'part4', 'part5', 'part6']
      .map((name) => statSync(join(workdir, name), { throwIfNoEntry: false })?.size ?? 0)
      .reduce((a, b) => a + b, 0);
    expect(onHost).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(readFileSync(join(workdir, 'small'), 'utf8')).toBe('small\n');
    expect(exit.workdir?.notes.map((n) => n.path)).toContain('big');
  });
});
