/**
 * The bubblewrap command line for a jail, built as a pure function so every
 * mount and flag can be reviewed and unit-tested alone.
 *
 * What the jail gets: a read-only /usr (and the merged-usr links /bin, /sbin,
 * /lib, /lib64), a few /etc files programs need, a generated passwd, group
 * and hosts, fresh /proc with its kernel interfaces (/proc/sys,
 * /proc/sysrq-trigger, ...) read-only, a minimal /dev with a sized /dev/shm and a
 * /dev/pts of its own with a bounded number of ptys,
 * a sized /tmp, the workdir as a sized tmpfs at /workspace (the host streams
 * the workdir's files into it and merges the final state back at exit; see
 * stage.ts and merge.ts), the profile's extra read-only mounts, and the
 * bulkhead runtime folder (the Unix sockets) read-only. No host folder is
 * writable from inside, and no host path but those named here is mounted:
 * no /root, /home, /var, /run, host sockets, policy, store or gateway files.
 * New user, pid, ipc, uts, cgroup, mount and network namespaces; no nested
 * user namespaces; every capability dropped; bwrap sets no_new_privs.
 */
import type { Premounted } from './sized-mounts.js';

export const JAIL_WORKDIR = '/workspace';
export const JAIL_RUNTIME = '/run/bulkhead';
export const JAIL_BRIDGE = `${JAIL_RUNTIME}/bridge.mjs`;
export const JAIL_UID = 1000;

/** /etc files programs need (dynamic linker cache, CA certificates, time zone); nothing with secrets. */
const ETC_FILES = [
  '/etc/ld.so.cache',
  '/etc/ssl/certs',
  '/etc/ca-certificates',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/nsswitch.conf',
  '/etc/mime.types',
];

/**
 * Kernel interfaces under /proc that change the host, not the namespace: sysctls
 * (`kernel/core_pattern` runs a program as root on the next crash), SysRq, IRQ
 * affinity, bus and filesystem settings. Read-only inside even though the jail's
 * host identity is unprivileged: a second layer.
 */
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];

/**
 * /proc files that tell the host, not the jail: the kernel's command line (a VM's or a boot's
 * tokens and addresses), its build configuration and symbol table (which exploit fits), the
 * keys and per-user key counts of the host. Each is covered by /dev/null.
 */
const PROC_MASKED = ['/proc/cmdline', '/proc/config.gz', '/proc/kallsyms', '/proc/keys', '/proc/key-users'];

/** Paths inside the jail a profile's extra mount may not cover or sit inside. */
export const RESERVED_PATHS = ['/', '/proc', '/dev', '/tmp', '/run', JAIL_WORKDIR, '/etc', '/usr'];

export interface BwrapSpec {
  env: Record<string, string>;
  /** What runs inside: the jail's init, which stages the workdir and runs the agent (see bridge.ts). */
  entry: string[];
  tmpSizeBytes: number;
  /** Size of the /workspace tmpfs: the profile's workdir_size. */
  workdirSizeBytes: number;
  /** Host folder with the Unix sockets and the generated passwd, group and hosts; read-only inside. */
  runtimeDir: string;
  /** Host paths mounted read-only at the same path (the profile's sandbox.mounts). */
  readOnlyMounts?: readonly string[];
  /**
   * Mounted before bwrap (sized-mounts.ts) and bound in: the jail's devpts with a `max`, always;
   * without a memory cgroup also the writable tmpfs with an inode bound, the IPC namespace then
   * made already, with a shared memory cap. Absent only where bwrap runs alone (the bench); every
   * jail's launch gives it (jailArgv requires it).
   */
  premounted?: Premounted;
  /** File descriptor bwrap reads a seccomp BPF program from. */
  seccompFd?: number;
  /** File descriptor bwrap writes its JSON status to (the child's pid, then its exit code). */
  statusFd?: number;
}

export function bwrapArgv(spec: BwrapSpec): string[] {
  const tmpfs = spec.premounted?.tmpfs;
  const argv = [
    // Premounted tmpfs: the IPC namespace is made before bwrap too, with its shared memory capped.
    ...(tmpfs
      ? ['--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try']
      : ['--unshare-all']),
    // Explicit, so a host without user namespaces fails instead of silently running without one.
    '--unshare-user',
    // Nested user namespaces are where most unprivileged kernel exploits start.
    '--disable-userns',
    '--die-with-parent',
    // A new session: the agent cannot push keystrokes into the caller's terminal (TIOCSTI).
    '--new-session',
    '--cap-drop',
    'ALL',
    '--uid',
    String(JAIL_UID),
    '--gid',
    String(JAIL_UID),
    '--hostname',
    'bulkhead-jail',
    // The caller's and the gateway's environment (keys, tokens) never enter the jail.
    '--clearenv',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/sbin',
    '/sbin',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
  ];
  for (const file of ETC_FILES) argv.push('--ro-bind-try', file, file);
  // Generated, not the host's: the host's passwd lists its users and their home folders.
  argv.push('--ro-bind', `${spec.runtimeDir}/passwd`, '/etc/passwd');
  argv.push('--ro-bind', `${spec.runtimeDir}/group`, '/etc/group');
  argv.push('--ro-bind', `${spec.runtimeDir}/hosts`, '/etc/hosts');
  argv.push('--proc', '/proc');
  for (const path of PROC_READ_ONLY) argv.push('--ro-bind-try', path, path);
  for (const path of PROC_MASKED) argv.push('--ro-bind-try', '/dev/null', path);
  argv.push('--dev', '/dev');
  // Over bwrap's unbounded instance; its /dev/ptmx is a link to pts/ptmx, so it opens this one.
  // --dev-bind: bwrap's --bind remounts nodev, and ptmx is a device.
  if (spec.premounted) argv.push('--dev-bind', spec.premounted.pts, '/dev/pts');
  // Premounted tmpfs means no memory cgroup: a shared mapping of /dev/zero is then shmem no rlimit
  // counts (seccomp.ts refuses the other ways to it). /dev/full reads as zeros and cannot be mapped.
  if (tmpfs) argv.push('--dev-bind', '/dev/full', '/dev/zero');
  // Sized tmpfs everywhere the jail can write: filling one fills the jail's memory quota
  // (tmpfs pages are charged to the cgroup of the writer), never the host's disk or RAM.
  if (tmpfs) {
    argv.push('--bind', tmpfs.shm, '/dev/shm');
    argv.push('--bind', tmpfs.tmp, '/tmp');
    argv.push('--bind', tmpfs.workdir, JAIL_WORKDIR);
  } else {
    argv.push('--size', String(spec.tmpSizeBytes), '--tmpfs', '/dev/shm');
    argv.push('--size', String(spec.tmpSizeBytes), '--tmpfs', '/tmp');
    argv.push('--size', String(spec.workdirSizeBytes), '--tmpfs', JAIL_WORKDIR);
  }
  argv.push('--ro-bind', spec.runtimeDir, JAIL_RUNTIME);
  for (const path of spec.readOnlyMounts ?? []) argv.push('--ro-bind', path, path);
  // The jail's own root (a tmpfs holding the mount points) becomes read-only once they exist:
  // nothing can be dropped into /etc or / for a later program in the jail to pick up.
  argv.push('--remount-ro', '/');
  // bwrap's /dev is a tmpfs with no size, writable by the jail's user: a place for files outside
  // every sized mount (and, on rlimits alone, outside any memory limit). Its own mounts (the
  // device nodes, /dev/pts, /dev/shm) stay as they are: the remount is not recursive.
  argv.push('--remount-ro', '/dev');
  argv.push('--chdir', '/');
  for (const [key, value] of Object.entries(spec.env)) argv.push('--setenv', key, value);
  if (spec.seccompFd !== undefined) argv.push('--seccomp', String(spec.seccompFd));
  if (spec.statusFd !== undefined) argv.push('--json-status-fd', String(spec.statusFd));
  argv.push('--', ...spec.entry);
  return argv;
}
