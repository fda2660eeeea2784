/**
 * The jail's writable tmpfs (/tmp, /dev/shm, /workspace) with a bound on inodes, for a jail no
 * cgroup charges for kernel memory (`sandbox.weaker_limits`). bubblewrap 0.8's `--tmpfs` takes a
 * size but no `nr_inodes`, so each got the kernel's default (half the RAM's pages): empty files,
 * folders, hard links and extended attributes (tmpfs charges these to the inodes' space) cost the
 * host's kernel memory and none of the size. Under a memory cgroup that memory is the jail's, so
 * this is only done without one. So is System V shared memory's cap (below, `--ipc`), which the
 * same missing cgroup left at nearly the host's RAM.
 *
 * They are mounted before bwrap by `unshare` and a shell, in a user and mount namespace of their
 * own (the chain's identity is unprivileged by then, root launcher or not: its uid is root there
 * and the host's uid outside), on empty folders of the runtime folder, and bwrap binds them in.
 * The mount namespace is private and dies with the jail: nothing shows on the host, nothing is
 * left to unmount. Inside the jail uid 1000 still maps to the same host uid.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** tmpfs charges an inode (and each hard link) 1 KiB of its inode space; xattrs come out of it too. */
export const BYTES_PER_INODE = 1024;
/** The chain's exit when this step fails (126 is the cgroup join's, launch.ts). */
export const PREMOUNT_FAILED = 124;
/** kernel.shmall counts pages (4 KiB on every machine the seccomp tables cover). */
const PAGE_BYTES = 4096;
/** Enough for a small mount's few files whatever its size. */
const FEWEST_INODES = 256;

export interface SizedTmpfs {
  /** Host folder the tmpfs is mounted on (in the launcher's own mount namespace only). */
  tmp: string;
  shm: string;
  workdir: string;
}

/** Inodes a tmpfs of `bytes` gets: their kernel memory is then about the size again, not the host's RAM. */
export function inodesFor(bytes: number): number {
  return Math.max(FEWEST_INODES, Math.ceil(bytes / BYTES_PER_INODE));
}

/** The empty folders the tmpfs are mounted on, in the runtime folder (never bound into the jail). */
export function makeMountPoints(runtime: string): SizedTmpfs {
  const base = join(runtime, 'sized');
  mkdirSync(base, { mode: 0o755 });
  const at = (name: string) => {
    const dir = join(base, name);
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  };
  return { tmp: at('tmp'), shm: at('shm'), workdir: at('workspace') };
}

/**
 * Caps System V shared memory in the new IPC namespace ($1 pages in all, $2 bytes a segment), then
 * mounts each (folder, options) pair given before `--`, then execs what follows it.
 */
const MOUNT_SCRIPT = [
  `echo "$1" > /proc/sys/kernel/shmall && echo "$2" > /proc/sys/kernel/shmmax || exit ${PREMOUNT_FAILED}`,
  'shift 2',
  `while [ "$1" != -- ]; do mount -t tmpfs -o "$2" tmpfs "$1" || exit ${PREMOUNT_FAILED}; shift 2; done`,
  'shift',
  'exec "$@"',
].join('\n');

/** The chain's steps before bwrap that mount them: bwrap's command follows, after `--`. */
export function premountArgv(
  points: SizedTmpfs,
  sizes: { tmpBytes: number; workdirBytes: number; memoryBytes: number },
): string[] {
  // mode=755 and the namespace's root (the jail's user, 1000 inside) as owner: as bwrap's --tmpfs.
  const options = (bytes: number) => `nosuid,nodev,mode=755,size=${bytes},nr_inodes=${inodesFor(bytes)}`;
  return [
    'unshare',
    '--user',
    '--map-root-user',
    '--mount',
    // The jail's IPC namespace (bwrap then makes none): a new one allows System V segments up to
    // nearly all the host's RAM, and RLIMIT_DATA counts no shared mapping. Its sysctls belong to
    // this namespace's root, which the jail's user is: /proc/sys is read-only in the jail.
    '--ipc',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    MOUNT_SCRIPT,
    'bulkhead-mounts',
    String(Math.ceil(sizes.memoryBytes / PAGE_BYTES)),
    String(sizes.memoryBytes),
    points.tmp,
    options(sizes.tmpBytes),
    points.shm,
    options(sizes.tmpBytes),
    points.workdir,
    options(sizes.workdirBytes),
    '--',
  ];
}
