/**
 * Kernel memory past every limit, under `sandbox.weaker_limits` (no cgroup: nothing charges the
 * jail for kernel memory). bubblewrap 0.8 sizes a tmpfs but sets no `nr_inodes`, so /tmp, /dev/shm
 * and /workspace each took the kernel's default (half the RAM's pages: millions of inodes): empty
 * files, folders, hard links (each takes inode space on tmpfs) and extended attributes (charged to
 * the same inode space) cost the host's kernel memory and none of the mount's size. Long symlink
 * targets are held: past 128 bytes tmpfs stores them in a page counted against the size.
 *
 * Each case makes up to ATTEMPTS of one kind in each writable tmpfs and counts how many it got;
 * the bound is one inode per KiB of the mount's size (sized-mounts.ts). Run from a root launcher
 * and from an unprivileged one (its own uid, no account).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBulkheadError } from '../../src/errors.js';
import { runInJail, runInJailAsUid, skipWithoutSandbox, tempDir } from './jail-harness.js';

const skip = skipWithoutSandbox();
const isRoot = process.getuid?.() === 0;
/** An unprivileged launcher's uid: no account, outside the jails' own uids (identity.ts). */
const UNPRIVILEGED = 2_110_000_000 + (process.pid % 100_000);
const ATTEMPTS = 12_000;
const TMP_MB = 1;
const WORKDIR_MB = 2;
/** One inode per KiB of the largest mount, with room for what the jail's init puts there. */
const MOST = WORKDIR_MB * 1024 + 64;

/** Prints `<mount> <kind> <how many it made>` per case, emptying the mount between cases. */
const FILL = `
import os, shutil, sys
N = int(sys.argv[1])
def fill(base, kind):
    made = 0
    if kind == 'hardlink':
        open(base + '/src', 'w').close()
    if kind == 'xattr':
        open(base + '/x', 'w').close()
    try:
        for i in range(N):
            p = '%s/%s%d' % (base, kind[0], i)
            if kind == 'file': open(p, 'w').close()
            elif kind == 'dir': os.mkdir(p)
            elif kind == 'symlink': os.symlink('y' * 4000, p)
            elif kind == 'hardlink': os.link(base + '/src', p)
            elif kind == 'xattr': os.setxattr(base + '/x', 'user.a%d' % i, b'z' * 1000)
            made += 1
    except OSError:
        pass
    for name in os.listdir(base):
        p = os.path.join(base, name)
        if name.startswith(('f', 'd', 's', 'h', 'x')) and name not in ('script.sh', 'fill.py'):
            if os.path.isdir(p) and not os.path.islink(p): shutil.rmtree(p)
            else: os.unlink(p)
    return made
for base in ('/tmp', '/dev/shm', '/workspace'):
    for kind in ('file', 'dir', 'symlink', 'hardlink', 'xattr'):
        print(base, kind, fill(base, kind), flush=True)
print('END')
`;

const SCRIPT = `python3 ./fill.py ${ATTEMPTS}`;

function counts(out: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const m of out.matchAll(/^(\/\S+) (\w+) (\d+)$/gm)) found.set(`${m[1]} ${m[2]}`, Number(m[3]));
  return found;
}

function expectBounded(out: string, kind: string): void {
  expect(out).toContain('END');
  for (const mount of ['/tmp', '/dev/shm', '/workspace']) {
    const made = counts(out).get(`${mount} ${kind}`);
    expect(made, `${mount} ${kind}\n${out}`).toBeDefined();
    expect(made, `${mount} ${kind}`).toBeLessThanOrEqual(MOST);
    // The mount is writable at all: a bound that only holds because nothing can be made is none.
    expect(made, `${mount} ${kind}`).toBeGreaterThan(200);
  }
}

const KINDS = ['file', 'dir', 'hardlink', 'xattr', 'symlink'] as const;

describe.skipIf(skip || !isRoot)(
  'escape: inodes past every limit under weaker_limits (root launcher)',
  () => {
    let out: Promise<string> | undefined;
    const run = () => {
      out ??= runInJail(SCRIPT, {
        cgroupRoot: tempDir('bulkhead-no-cgroup-'),
        weakerLimits: true,
        tmpMb: TMP_MB,
        workdirMb: WORKDIR_MB,
        prepare: (wd) => writeFileSync(join(wd, 'fill.py'), FILL),
      }).then((r) => r.out);
      return out;
    };
    for (const kind of KINDS)
      it(`bounds ${kind}s in /tmp, /dev/shm and /workspace by the mount's size`, async () => {
        expectBounded(await run(), kind);
      }, 60_000);

    it('refuses to start, naming the step, when the bounded tmpfs cannot be mounted', async () => {
      // A size tmpfs cannot parse: the mount before bwrap fails, as it would where the user
      // namespace may not mount.
      const error = await runInJail('true', {
        cgroupRoot: tempDir('bulkhead-no-cgroup-'),
        weakerLimits: true,
        tmpMb: -1,
      }).catch((e: unknown) => e);
      expect(isBulkheadError(error, 'sandbox_unavailable')).toBe(true);
      expect((error as Error).message).toContain('its inode-bounded /tmp, /dev/shm and /workspace');
    }, 60_000);

    // `bulkhead run` hands its chain to a launcher started ahead (prepareJail): the same bound.
    it('bounds files the same through a prepared launcher', async () => {
      const { out } = await runInJail(`python3 ./fill.py ${ATTEMPTS}`, {
        prepared: true,
        cgroupRoot: tempDir('bulkhead-no-cgroup-'),
        weakerLimits: true,
        tmpMb: TMP_MB,
        workdirMb: WORKDIR_MB,
        prepare: (wd) => writeFileSync(join(wd, 'fill.py'), FILL),
      });
      expectBounded(out, 'file');
    }, 60_000);
  },
);

describe.skipIf(skip || !isRoot)(
  'escape: inodes past every limit under weaker_limits (unprivileged launcher)',
  () => {
    let out: string | undefined;
    const run = () => {
      out ??= runInJailAsUid(
        UNPRIVILEGED,
        SCRIPT,
        { weakerLimits: true, tmpMb: TMP_MB, workdirMb: WORKDIR_MB },
        { 'fill.py': FILL },
      );
      return out;
    };
    for (const kind of KINDS)
      it(`bounds ${kind}s in /tmp, /dev/shm and /workspace by the mount's size`, () => {
        expectBounded(run(), kind);
      }, 90_000);
  },
);
