/**
 * The host's half of staging the workdir (the jail's half is its init, in
 * bridge.ts). The jail never mounts the host workdir: the launcher streams it
 * as a tar archive (host `tar`, run as the launcher, so it reads what the
 * launcher may read) into the jail, whose own `tar` unpacks it into a sized
 * tmpfs as the jail's user. When the jail reports `staged`, the launcher takes
 * a directory handle on that tmpfs through /proc/PID/root; the handle keeps it
 * alive after the jail is gone, so the merge (merge.ts) reads the final state
 * when nothing in the jail can still change it. Only then does the launcher
 * send `go`, and the jail's init starts the agent.
 *
 * No host path of the workdir is mounted, so none appears in the jail's
 * mountinfo, none is writable from inside, and workdir_size is the tmpfs's.
 * Names travel as bytes (tar in the C locale stores them as they are), so a
 * host file whose name is not UTF-8 reaches the jail under that exact name
 * (test/sandbox/escape-merge-names.test.ts), and the merge keeps it so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, constants, openSync, readdirSync } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { BulkheadError } from '../errors.js';
import { JAIL_WORKDIR } from './bwrap-argv.js';

/** Where the jail's init reads the archive, reports, and waits for `go` (closed before the agent runs). */
export const STAGE_IN_FD = 5;
export const STAGE_REPORT_FD = 6;
export const STAGE_GO_FD = 7;

export interface StageSource {
  /** Host tar; none for an empty workdir, which has nothing to send. */
  tar?: ChildProcess;
  /** The archive, piped into the jail's fd 5. */
  stream: Readable;
  /** Resolves with tar's complaint when it failed (exit status 2), else undefined. */
  failure: Promise<string | undefined>;
}

/**
 * Starts host tar on the workdir: same filesystem only, links stored as links, never followed. An
 * empty workdir (the jail's init is told so and unpacks nothing) costs no tar on either side. A root
 * launcher passes the workdir's owner as `reader`: as root, tar read files the owner cannot (root's
 * 0600 files in a user's checkout, a folder of another user's), and the jail got them all.
 */
export function archiveWorkdir(workdir: string, reader?: { uid: number; gid: number }): StageSource {
  if (isEmptyFolder(workdir)) return { stream: Readable.from([]), failure: Promise.resolve(undefined) };
  const tar = spawn('tar', ['-C', workdir, '--one-file-system', '-c', '-f', '-', '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
    // As the workdir's owner (no supplementary groups: libuv drops them with the uid), never more.
    ...(reader ? { uid: reader.uid, gid: reader.gid } : {}),
  });
  let errors = '';
  tar.stderr?.on('data', (chunk: Buffer) => {
    if (errors.length < 4000) errors += chunk.toString('utf8');
  });
  const failure = new Promise<string | undefined>((resolve) => {
    tar.once('error', (error) => resolve(`cannot run tar: ${error.message}`));
    // Status 1 is "a file changed while read": the jail gets what was there.
    tar.once('exit', (code) =>
      resolve(code !== null && code > 1 ? errors.trim() || `tar exit ${code}` : undefined),
    );
  });
  return { tar, stream: tar.stdout as Readable, failure };
}

/** True only when the folder can be listed and holds nothing; tar reports any other problem. */
function isEmptyFolder(path: string): boolean {
  try {
    return readdirSync(path).length === 0;
  } catch {
    return false;
  }
}

/**
 * Waits for the jail's init to report the workdir unpacked, then holds its tmpfs open and returns the
 * handle (an fd). Rejects naming the cause when unpacking failed or the jail ended first.
 */
export async function holdStagedWorkdir(options: {
  report: Readable;
  jailPid: number;
  source: StageSource;
  ended: Promise<unknown>;
  workdirSizeBytes: number;
  signal?: AbortSignal;
}): Promise<number> {
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    options.report.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const cut = text.indexOf('\n');
      if (cut >= 0) resolve(text.slice(0, cut));
    });
    options.report.once('end', () => resolve(text));
    void options.ended.then(() => resolve(text));
    options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
  });
  // The jail's tar has read the whole archive, so the host's is done or about to be.
  const hostFailure = line === 'staged' ? await options.source.failure : undefined;
  if (line !== 'staged' || hostFailure) {
    const inside = line.startsWith('stage-failed ') ? line.slice('stage-failed '.length) : '';
    const mib = Math.round(options.workdirSizeBytes / 1024 / 1024);
    const why = /No space left|Wrote only/i.test(inside)
      ? `the workdir does not fit in the jail's workdir size (${mib} MiB): raise sandbox.workdir_size (and memory), or give a smaller --workdir`
      : hostFailure
        ? `reading the workdir failed: ${hostFailure}${/Permission denied/.test(hostFailure) ? " (the jail gets only what the workdir's owner may read: give the agent a folder whose files its owner can read)" : ''}`
        : inside || 'the jail ended before its workdir was staged';
    throw new BulkheadError('sandbox_unavailable', `cannot stage the workdir into the jail: ${why}`);
  }
  try {
    return openSync(
      `/proc/${options.jailPid}/root${JAIL_WORKDIR}`,
      constants.O_RDONLY | constants.O_DIRECTORY,
    );
  } catch (error) {
    throw new BulkheadError(
      'sandbox_unavailable',
      `cannot hold the jail's workdir for the merge at exit: ${(error as Error).message}`,
    );
  }
}

/** Lets the jail's init start the agent. */
export function sendGo(go: Writable): void {
  go.end('go\n');
}

export function releaseHandle(fd: number | undefined): void {
  if (fd === undefined) return;
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
