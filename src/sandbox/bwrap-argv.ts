/**
 * The bubblewrap command line for a jail, built as a pure function so every
 * mount and flag can be reviewed and unit-tested. What the jail gets:
 * a read-only /usr (and the merged-usr links), a few /etc files programs
 * need, a generated passwd, fresh /proc and /dev, a size-limited /tmp, the
 * workdir as the only writable host path, and the bulkhead sockets. No
 * /root, /home, host sockets, policy, store or gateway files. New user, pid,
 * ipc, uts, cgroup and network namespaces; every capability dropped.
 */

/** Files in the workdir that steer other tools: read-only inside, existing or not. */
export const PROTECTED_FILES = [
  '.mcp.json',
  '.bashrc',
  '.profile',
  '.bash_profile',
  '.zshrc',
  '.envrc',
] as const;
/** Git's own control files: `.git` may hold code that git runs (hooks, config `core.*`). */
export const PROTECTED_GIT = ['.git/hooks', '.git/config'] as const;

export const JAIL_WORKDIR = '/workspace';
export const JAIL_RUNTIME = '/run/bulkhead';
export const JAIL_UID = 1000;

const ETC_FILES = [
  '/etc/ld.so.cache',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/alternatives',
  '/etc/localtime',
  '/etc/nsswitch.conf',
  '/etc/mime.types',
];

export interface BwrapSpec {
  workdir: string;
  env: Record<string, string>;
  /** The command run inside, after the bridge. */
  command: string[];
  tmpSizeBytes: number;
  /** Host folder with the Unix sockets, passwd and group files; bound read-only at /run/bulkhead. */
  runtimeDir: string;
  /** Host path of bridge.mjs. */
  bridgeScript: string;
  bridges: { port: number; socket: string }[];
  /** Host path of an empty file and an empty folder, to mount over protected paths that do not exist. */
  emptyFile: string;
  emptyDir: string;
  /** Which protected paths exist in the workdir (a file or folder is bound onto itself read-only). */
  existing: (relative: string) => 'file' | 'dir' | undefined;
}

export function bwrapArgv(spec: BwrapSpec): string[] {
  const argv = [
    '--unshare-all',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--uid',
    String(JAIL_UID),
    '--gid',
    String(JAIL_UID),
    '--hostname',
    'bulkhead-jail',
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
  argv.push(
    '--ro-bind',
    `${spec.runtimeDir}/passwd`,
    '/etc/passwd',
    '--ro-bind',
    `${spec.runtimeDir}/group`,
    '/etc/group',
  );
  argv.push('--proc', '/proc', '--dev', '/dev');
  argv.push('--size', String(spec.tmpSizeBytes), '--tmpfs', '/tmp');
  argv.push('--ro-bind', spec.runtimeDir, JAIL_RUNTIME);
  argv.push('--ro-bind', spec.bridgeScript, `${JAIL_RUNTIME}-bridge.mjs`);
  argv.push('--bind', spec.workdir, JAIL_WORKDIR);
  const gitExists = spec.existing('.git') === 'dir';
  if (!gitExists) {
    // No repository yet: an empty read-only .git keeps one from being planted with hooks.
    argv.push('--ro-bind', spec.emptyDir, `${JAIL_WORKDIR}/.git`);
  } else {
    for (const path of PROTECTED_GIT) protect(argv, spec, path, path.endsWith('hooks') ? 'dir' : 'file');
  }
  for (const path of PROTECTED_FILES) protect(argv, spec, path, 'file');
  argv.push('--chdir', JAIL_WORKDIR);
  for (const [key, value] of Object.entries(spec.env)) argv.push('--setenv', key, value);
  argv.push(
    '--',
    '/usr/bin/node',
    `${JAIL_RUNTIME}-bridge.mjs`,
    JSON.stringify(spec.bridges),
    '--',
    ...spec.command,
  );
  return argv;
}

function protect(argv: string[], spec: BwrapSpec, relative: string, kind: 'file' | 'dir'): void {
  const inside = `${JAIL_WORKDIR}/${relative}`;
  const existing = spec.existing(relative);
  if (existing) argv.push('--ro-bind', `${spec.workdir}/${relative}`, inside);
  else argv.push('--ro-bind', kind === 'dir' ? spec.emptyDir : spec.emptyFile, inside);
}
