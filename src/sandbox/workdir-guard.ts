/**
 * Which folders may be a jail's workdir. The workdir is the one host folder
 * whose contents the agent reads (and, through the merge at exit, writes),
 * and by default it is the current folder: often the checkout, the folder
 * holding the policy and its SQLite store, or `$HOME` with the operator
 * token under `~/.bulkhead`. A workdir that is, holds, or lies inside a host
 * secret is refused, naming the secret and suggesting `--workdir`.
 *
 * Two scopes: most secrets refuse a workdir anywhere on their path (is,
 * holds, or lies inside); `$HOME` and the filesystem roots only refuse a
 * workdir that is or holds them, since `~/projects/x` is the usual place for
 * an agent's folder.
 */
import { realpathSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { BulkheadError } from '../errors.js';
import { mountPointsInside } from './workdir-mounts.js';

export interface HostSecret {
  path: string;
  /** What it is, for the refusal message, e.g. "the policy's folder". */
  what: string;
  /** `any`: is, holds or lies inside; `around`: only is or holds. */
  scope: 'any' | 'around';
}

/** Secrets every jail refuses, whoever starts it: the user's home and its credential folders. */
export function defaultHostSecrets(home: string = homedir()): HostSecret[] {
  const inHome = (name: string, what: string): HostSecret => ({ path: join(home, name), what, scope: 'any' });
  return [
    { path: home, what: '$HOME', scope: 'around' },
    inHome('.ssh', 'SSH keys (~/.ssh)'),
    inHome('.gnupg', 'GnuPG keys (~/.gnupg)'),
    inHome('.aws', 'cloud credentials (~/.aws)'),
    inHome('.kube', 'cluster credentials (~/.kube)'),
    inHome('.docker', 'registry credentials (~/.docker)'),
    inHome('.config', 'application settings and tokens (~/.config)'),
    inHome('.netrc', 'login credentials (~/.netrc)'),
    inHome('.git-credentials', 'git credentials'),
    inHome('.npmrc', 'registry tokens (~/.npmrc)'),
    { path: process.env.BULKHEAD_HOME ?? join(home, '.bulkhead'), what: 'the gateway home', scope: 'any' },
    { path: '/etc', what: 'the system configuration (/etc)', scope: 'any' },
    { path: '/root', what: "root's home", scope: 'around' },
    { path: '/home', what: 'every home folder', scope: 'around' },
    // Kernel and runtime state, not folders of files: as root, tar read every process's environment
    // under /proc (the gateway's keys), and /run holds sockets and mounted secrets (/run/secrets).
    { path: '/proc', what: 'kernel and process state (/proc)', scope: 'any' },
    { path: '/sys', what: 'kernel state (/sys)', scope: 'any' },
    { path: '/dev', what: 'devices (/dev)', scope: 'any' },
    { path: '/run', what: 'runtime state and secrets (/run)', scope: 'any' },
    // Shared temporary folders hold other users' files and, in the temporary folder, every jail's
    // runtime folder with its run token: host tar (as root, any file) streamed them all in.
    ...[tmpdir(), '/tmp', '/var/tmp', '/dev/shm'].map(
      (path): HostSecret => ({
        path,
        what: 'a temporary folder shared by every user and run',
        scope: 'around',
      }),
    ),
  ];
}

/** A plain path given by a caller is a secret in the `any` scope. */
export function asSecret(secret: string | HostSecret): HostSecret {
  return typeof secret === 'string' ? { path: secret, what: secret, scope: 'any' } : secret;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path); // not there yet (a store about to be created): compare its path as given
  }
}

const inside = (child: string, parent: string) =>
  child === parent || child.startsWith(parent.endsWith(sep) ? parent : `${parent}${sep}`);

/** Sticky and writable by everyone: a drop folder (like /tmp) whose files are other users'. */
function sharedDropFolder(path: string): boolean {
  try {
    return (statSync(path).mode & 0o1002) === 0o1002;
  } catch {
    return false;
  }
}

/** Throws `workdir_refused` naming the first secret the workdir would expose. */
export function refuseUnsafeWorkdir(workdir: string, secrets: readonly (string | HostSecret)[]): void {
  const dir = real(workdir);
  if (sharedDropFolder(dir))
    throw new BulkheadError(
      'workdir_refused',
      `the workdir ${dir} is a folder shared by every user (sticky and world-writable), whose files the jailed agent must not read; give the agent a folder of its own with --workdir <dir>`,
    );
  const mounts = mountPointsInside(dir);
  if (mounts === undefined || mounts.length > 0)
    throw new BulkheadError(
      'workdir_refused',
      `the workdir ${dir} ${mounts ? `holds a mounted filesystem at ${mounts[0]}` : 'may hold a mounted filesystem (the mount table cannot be read)'}, which the jailed agent must not read, and which the merge at exit would write into; give the agent a folder of its own with --workdir <dir>`,
    );
  for (const secret of secrets.map(asSecret)) {
    const path = real(secret.path);
    const holds = inside(path, dir);
    const within = secret.scope === 'any' && inside(dir, path);
    if (!holds && !within) continue;
    const how = dir === path ? 'is' : holds ? 'holds' : 'lies inside';
    throw new BulkheadError(
      'workdir_refused',
      `the workdir ${dir} ${how} ${secret.what} (${path}), which the jailed agent must not read or change; give the agent a folder of its own with --workdir <dir>`,
    );
  }
}
