/**
 * Escape class: a filesystem mounted inside the workdir (a bind mount, a
 * volume, a network share under a checkout). Host tar stays on the workdir's
 * filesystem, so the jail never sees what is mounted there; the merge at exit
 * must not write into it or delete through it either, whatever the agent
 * leaves at those paths. Needs a launcher that can mount (root).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { type JailHandle, startJail } from '../../src/sandbox/index.js';
import { jailSpec, runInJail, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const canMount = (() => {
  if (skip || process.getuid?.() !== 0) return false;
  const probe = tempDir('bulkhead-mount-probe-');
  try {
    execFileSync('mount', ['--bind', probe, probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!skip && !canMount)
  console.warn('\n!!! WORKDIR MOUNT TESTS SKIPPED: this launcher cannot bind-mount (run as root)\n');

const mounted: string[] = [];
const bindInto = (source: string, target: string) => {
  mkdirSync(target, { recursive: true });
  execFileSync('mount', ['--bind', source, target]);
  mounted.push(target);
};
afterEach(() => {
  for (const target of mounted.splice(0).reverse()) execFileSync('umount', ['-l', target]);
});

describe.skipIf(!canMount)('escape: a filesystem mounted inside the workdir', () => {
  it('refuses a workdir holding a mount point, a bind mount of its own filesystem too, before the jail starts', async () => {
    const outside = tempDir('bulkhead-bound-');
    writeFileSync(join(outside, 'secret.txt'), 'bound-secret\n');
    const workdir = tempDir('bulkhead-wd-');
    bindInto(outside, join(workdir, 'sub', 'mnt'));
    const error = await startJail(jailSpec(workdir, ['/bin/cat', 'sub/mnt/secret.txt'])).catch(
      (e: unknown) => e,
    );
    if (!isBulkheadError(error)) await (error as JailHandle).exited;
    expect(isBulkheadError(error, 'workdir_refused')).toBe(true);
    expect((error as Error).message).toContain('sub/mnt');
  });

  // Mounted once the jail runs: the jail has its copy, the merge at exit meets the mount.
  const mountWhileRunning = (outside: string, at: string) => () => bindInto(outside, at);

  it('never writes into a filesystem mounted inside the workdir while the jail ran', async () => {
    const outside = tempDir('bulkhead-bound-');
    writeFileSync(join(outside, 'victim.txt'), 'original\n');
    const workdir = tempDir('bulkhead-wd-');
    mkdirSync(join(workdir, 'mnt'));
    writeFileSync(join(workdir, 'mnt', 'victim.txt'), 'staged\n');
    const { exit } = await runInJail(
      'sleep 0.3; mkdir -p mnt/deep; echo pwned > mnt/victim.txt; echo planted > mnt/new.txt; echo x > mnt/deep/f; echo end',
      { workdirAt: workdir, started: mountWhileRunning(outside, join(workdir, 'mnt')) },
    );
    expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('original\n');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'deep'))).toBe(false);
    expect(exit.workdir?.notes.some((n) => n.path.startsWith('mnt/'))).toBe(true);
  });

  it('never deletes through a mount below a folder the agent replaced with a file', async () => {
    const outside = tempDir('bulkhead-bound-');
    writeFileSync(join(outside, 'keep.txt'), 'keep\n');
    const workdir = tempDir('bulkhead-wd-');
    mkdirSync(join(workdir, 'sub', 'mnt'), { recursive: true });
    await runInJail('sleep 0.3; rm -rf sub; echo now-a-file > sub; echo end', {
      workdirAt: workdir,
      started: mountWhileRunning(outside, join(workdir, 'sub', 'mnt')),
    });
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep\n');
  });

  it('never deletes through a mount below a folder the agent removed', async () => {
    const outside = tempDir('bulkhead-bound-');
    writeFileSync(join(outside, 'keep.txt'), 'keep\n');
    const workdir = tempDir('bulkhead-wd-');
    mkdirSync(join(workdir, 'sub', 'mnt'), { recursive: true });
    writeFileSync(join(workdir, 'sub', 'mnt', 'keep.txt'), 'staged\n');
    await runInJail('sleep 0.3; rm -rf sub; echo end', {
      workdirAt: workdir,
      started: mountWhileRunning(outside, join(workdir, 'sub', 'mnt')),
    });
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('keep\n');
  });
});
