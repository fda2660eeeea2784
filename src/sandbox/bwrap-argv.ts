/**
 * The bubblewrap command line for a jail, built as a pure function so every
 * mount and flag can be reviewed and unit-tested alone.
 *
 * What the jail gets: a read-only /usr (and the merged-usr links /bin, /sbin,
 * /lib, /lib64), a few /etc files programs need, a generated passwd, group
 * and hosts, fresh /proc and a minimal /dev, a size-limited /tmp, the
 * workdir as the only writable host path, and the bulkhead runtime folder
 * (the Unix sockets) read-only. Nothing else of the host exists inside: no
 * /root, /home, /var, /run, host sockets, policy, store or gateway files.
 * New user, pid, ipc, uts, cgroup, mount and network namespaces; no nested
 * user namespaces; every capability dropped; bwrap sets no_new_privs.
 */
import { BulkheadError } from '../errors.js';

/**
 * Files in the workdir that steer other tools when a person or a tool later
 * opens the folder: read-only inside, existing or not (a placeholder is
 * mounted over the ones that do not exist, so they cannot be planted).
 */
export const PROTECTED_FILES = [
  '.mcp.json',
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.profile',
  '.zshrc',
  '.zshenv',
  '.zprofile',
  '.envrc',
  '.gitmodules',
  '.claude/settings.json',
  '.claude/settings.local.json',
] as const;
/** Git's control files: hooks run code, config sets `core.hooksPath`, `core.fsmonitor`, aliases. */
export const PROTECTED_GIT = ['.git/hooks', '.git/config'] as const;

export const JAIL_WORKDIR = '/workspace';
export const JAIL_RUNTIME = '/run/bulkhead';
export const JAIL_BRIDGE = '/run/bulkhead-bridge.mjs';
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

/** What a protected path is on the host right now (from lstat: a symlink is never followed). */
export type PathKind = 'file' | 'dir' | 'symlink' | 'other';

export interface BwrapSpec {
  /** Absolute host path of the workdir. */
  workdir: string;
  env: Record<string, string>;
  /** What runs inside: the bridge, which then runs the agent command (see bridge.ts). */
  entry: string[];
  tmpSizeBytes: number;
  /** Host folder with the Unix sockets and the generated passwd, group and hosts; read-only inside. */
  runtimeDir: string;
  /** Host path of the node bridge program, bound in read-only when that bridge is used. */
  bridgeScript?: string;
  /** Host paths of an empty file and an empty folder, mounted over protected paths that do not exist. */
  emptyFile: string;
  emptyDir: string;
  /** What a protected path (relative to the workdir) is on the host, undefined when absent. */
  existing: (relative: string) => PathKind | undefined;
  /** File descriptor bwrap reads a seccomp BPF program from. */
  seccompFd?: number;
  /** File descriptor bwrap writes its JSON status to (the child's pid, then its exit code). */
  statusFd?: number;
}

export function bwrapArgv(spec: BwrapSpec): string[] {
  const argv = [
    '--unshare-all',
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
  argv.push('--proc', '/proc', '--dev', '/dev');
  // A sized tmpfs: filling /tmp fills the jail's memory quota, not the host's disk.
  argv.push('--size', String(spec.tmpSizeBytes), '--tmpfs', '/tmp');
  argv.push('--ro-bind', spec.runtimeDir, JAIL_RUNTIME);
  if (spec.bridgeScript) argv.push('--ro-bind', spec.bridgeScript, JAIL_BRIDGE);
  argv.push('--bind', spec.workdir, JAIL_WORKDIR);
  protectGit(argv, spec);
  for (const path of PROTECTED_FILES) protect(argv, spec, path, 'file');
  // The jail's own root (a tmpfs holding the mount points) becomes read-only once they exist:
  // nothing can be dropped into /etc or / for a later program in the jail to pick up.
  argv.push('--remount-ro', '/');
  argv.push('--chdir', JAIL_WORKDIR);
  for (const [key, value] of Object.entries(spec.env)) argv.push('--setenv', key, value);
  if (spec.seccompFd !== undefined) argv.push('--seccomp', String(spec.seccompFd));
  if (spec.statusFd !== undefined) argv.push('--json-status-fd', String(spec.statusFd));
  argv.push('--', ...spec.entry);
  return argv;
}

function protectGit(argv: string[], spec: BwrapSpec): void {
  const git = spec.existing('.git');
  if (git === undefined) {
    // No repository yet: an empty read-only .git keeps one from being planted with hooks.
    argv.push('--ro-bind', spec.emptyDir, `${JAIL_WORKDIR}/.git`);
  } else if (git === 'file') {
    // A worktree's `gitdir:` pointer: redirecting it would make host git read a planted config.
    argv.push('--ro-bind', `${spec.workdir}/.git`, `${JAIL_WORKDIR}/.git`);
  } else if (git === 'dir') {
    protect(argv, spec, '.git/hooks', 'dir');
    protect(argv, spec, '.git/config', 'file');
  } else {
    refuseLink('.git', git);
  }
}

function protect(argv: string[], spec: BwrapSpec, relative: string, kind: 'file' | 'dir'): void {
  const inside = `${JAIL_WORKDIR}/${relative}`;
  const existing = spec.existing(relative);
  if (existing === undefined) {
    argv.push('--ro-bind', kind === 'dir' ? spec.emptyDir : spec.emptyFile, inside);
    return;
  }
  if (existing !== 'file' && existing !== 'dir') refuseLink(relative, existing);
  argv.push('--ro-bind', `${spec.workdir}/${relative}`, inside);
}

/**
 * A symlink at a protected path would make bwrap bind its host target into the jail (a planted
 * `.bashrc -> /etc/shadow` reads the host's secrets) or leave the real file writable behind it.
 */
function refuseLink(relative: string, kind: PathKind): never {
  throw new BulkheadError(
    'sandbox_unavailable',
    `the workdir's ${relative} is a ${kind === 'symlink' ? 'symbolic link' : 'special file'}; bulkhead keeps it read-only and will not follow it: remove it and start again`,
  );
}
