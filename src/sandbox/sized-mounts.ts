/**
 * The jail's writable tmpfs (/tmp, /dev/shm, /workspace) with a bound on inodes, for a jail no
 * cgroup charges for kernel memory (`sandbox.weaker_limits`). bubblewrap 0.8's `--tmpfs` takes a
 * size but no `nr_inodes`, so each got the kernel's default (half the RAM's pages): empty files,
 * folders, hard links and extended attributes (tmpfs charges these to the inodes' space) cost the
 * host's kernel memory and none of the size. Under a memory cgroup that memory is the jail's, so
 * this is only done without one. So is System V shared memory's cap (below, `--ipc`), which the
 * same missing cgroup left at nearly the host's RAM.
 *
 * Every jail, cgroup or not, gets its /dev/pts here too: bwrap's `--dev` mounts a devpts instance with
 * no `max`, and the kernel's pty count (kernel.pty.max) is one pool for every instance on the host, so
 * one jail opened 3,071 ptys and left none to other jails, containers and the host's terminals. No
 * cgroup counts ptys; an instance's `max` is the only bound.
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
/** kernel.msgmnb's default: the bytes one System V message queue holds. */
const QUEUE_BYTES = 16_384;
/** The kernel's struct sem, cache-line aligned. */
const SEMAPHORE_BYTES = 64;
/** Enough for a small mount's few files whatever its size. */
const FEWEST_INODES = 256;

/** Ptys one jail may hold: its own devpts instance's `max` (the host's pool is shared by all). */
export const JAIL_PTY_MAX = 64;
/**
 * inotify instances and watches one jail may hold: both are counted per host uid (128 instances
 * by default), which a jail from an unprivileged launcher shares with its user's editor and file
 * watchers. Its user namespace's own limits cap its share (the host's still apply above them).
 */
export const JAIL_INOTIFY_INSTANCES = 32;
/** fanotify groups one jail may hold: the same per-uid count (128), open without privilege. */
export const JAIL_FANOTIFY_GROUPS = 16;
const JAIL_INOTIFY_WATCHES = 65_536;
/** As bwrap's own devpts, with `max`; no `gid=` (tty's group is not mapped in the namespace). */
const DEVPTS_OPTIONS = `nosuid,noexec,newinstance,ptmxmode=0666,mode=620,max=${JAIL_PTY_MAX}`;

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

/** What is mounted before bwrap: /dev/pts always, the sized tmpfs without a memory cgroup. */
export interface Premounted {
  /** Host folder the jail's bounded devpts is mounted on (in the launcher's mount namespace only). */
  pts: string;
  tmpfs?: SizedTmpfs;
}

/** The empty folders they are mounted on, in the runtime folder (never bound into the jail). */
export function makeMountPoints(runtime: string, options: { tmpfs: boolean }): Premounted {
  const base = join(runtime, 'sized');
  mkdirSync(base, { mode: 0o755 });
  const at = (name: string) => {
    const dir = join(base, name);
    mkdirSync(dir, { mode: 0o755 });
    return dir;
  };
  const pts = at('pts');
  return options.tmpfs
    ? { pts, tmpfs: { tmp: at('tmp'), shm: at('shm'), workdir: at('workspace') } }
    : { pts };
}

/**
 * Takes (kind, name, value) triples before `--`: `sysctl NAME VALUE` writes /proc/sys/NAME (the
 * new user or IPC namespace's own), any other kind mounts a filesystem of that type (`devpts FOLDER OPTIONS`); then
 * execs what follows `--`.
 */
const MOUNT_SCRIPT = [
  'while [ "$1" != -- ]; do',
  '  if [ "$1" = sysctl ]; then echo "$3" > "/proc/sys/$2"; else mount -t "$1" -o "$3" "$1" "$2"; fi ||',
  `    exit ${PREMOUNT_FAILED}`,
  '  shift 3',
  'done',
  'shift',
  'exec "$@"',
].join('\n');

/**
 * The IPC namespace's caps, each at the memory limit: no rlimit counts System V segments, queued
 * messages or semaphores, and a new namespace allows nearly the host's RAM of segments, 500 MiB of
 * messages and about 65 GB of semaphores.
 */
function ipcSysctls(memoryBytes: number): [string, string][] {
  return [
    ['kernel/shmall', String(Math.ceil(memoryBytes / PAGE_BYTES))],
    ['kernel/shmmax', String(memoryBytes)],
    // Queues of the kernel's default size, as many as fill the limit (the jail cannot raise a
    // queue's size past msgmnb: that needs CAP_SYS_RESOURCE).
    ['kernel/msgmnb', String(QUEUE_BYTES)],
    ['kernel/msgmni', String(Math.max(1, Math.floor(memoryBytes / QUEUE_BYTES)))],
    // SEMMSL SEMMNS SEMOPM SEMMNI: the kernel's defaults but for the total of semaphores.
    ['kernel/sem', `32000 ${Math.max(32_000, Math.floor(memoryBytes / SEMAPHORE_BYTES))} 500 32000`],
  ];
}

/** Every jail's user namespace's inotify and fanotify caps; without a memory cgroup its IPC namespace's too. */
function jailSysctls(memoryBytes: number, ipc: boolean): [string, string][] {
  return [
    ['user/max_inotify_instances', String(JAIL_INOTIFY_INSTANCES)],
    ['user/max_inotify_watches', String(JAIL_INOTIFY_WATCHES)],
    ['user/max_fanotify_groups', String(JAIL_FANOTIFY_GROUPS)],
    ...(ipc ? ipcSysctls(memoryBytes) : []),
  ];
}

/** The chain's steps before bwrap that mount them: bwrap's command follows, after `--`. */
export function premountArgv(
  points: Premounted,
  sizes: { tmpBytes: number; workdirBytes: number; memoryBytes: number },
): string[] {
  // mode=755 and the namespace's root (the jail's user, 1000 inside) as owner: as bwrap's --tmpfs.
  const options = (bytes: number) => `nosuid,nodev,mode=755,size=${bytes},nr_inodes=${inodesFor(bytes)}`;
  const { tmpfs } = points;
  return [
    'unshare',
    '--user',
    '--map-root-user',
    '--mount',
    // Without a memory cgroup, the jail's IPC namespace (bwrap then makes none), capped
    // (ipcSysctls). Its sysctls belong to this namespace's root, which the jail's user is:
    // /proc/sys is read-only in the jail.
    ...(tmpfs ? ['--ipc'] : []),
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    MOUNT_SCRIPT,
    'bulkhead-mounts',
    ...jailSysctls(sizes.memoryBytes, Boolean(tmpfs)).flatMap(([name, value]) => ['sysctl', name, value]),
    'devpts',
    points.pts,
    DEVPTS_OPTIONS,
    ...(tmpfs
      ? [
          ['tmpfs', tmpfs.tmp, options(sizes.tmpBytes)],
          ['tmpfs', tmpfs.shm, options(sizes.tmpBytes)],
          ['tmpfs', tmpfs.workdir, options(sizes.workdirBytes)],
        ].flat()
      : []),
    '--',
  ];
}
