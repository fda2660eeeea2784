/**
 * Reads bubblewrap's status descriptor for the jailed child's host pid and network namespace, and
 * turns every way a start can fail (spawn error, bwrap's exit, abort, timeout) into one
 * `sandbox_unavailable` naming what failed.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { BulkheadError } from '../errors.js';
import type { JailIdentity } from './identity.js';
import { diagnose } from './launch.js';
import { PREMOUNT_FAILED } from './sized-mounts.js';

/** The descriptor bwrap writes its JSON status lines to (--json-status-fd). */
export const STATUS_FD = 3;
const START_TIMEOUT_MS = 10_000;

/**
 * Resolves with the jailed child's host pid once bwrap reports it, and the inode of its network
 * namespace (bwrap's own report); rejects naming what failed.
 */
export async function childPid(
  child: ChildProcess,
  exited: Promise<[number | null, NodeJS.Signals | null]>,
  identity: JailIdentity,
  signal?: AbortSignal,
): Promise<{ pid: number; netns: number | undefined }> {
  const status = child.stdio[STATUS_FD] as Readable | null;
  if (!status) throw new BulkheadError('sandbox_unavailable', 'cannot read the jail status from bubblewrap');
  let text = '';
  // Once the pid is known, the jail's later exit is no start failure: without this, every jail's
  // normal end ran the diagnosis (three synchronous spawns, ~100 ms of blocked event loop).
  let started = false;
  const fromStatus = new Promise<{ pid: number; netns: number | undefined }>((ok) => {
    status.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      // One JSON object per line: the child's pid and its namespaces come in the same line.
      const line = /^[^\n]*"child-pid"[^\n]*\n/m.exec(text)?.[0];
      const match = line ? /"child-pid"\s*:\s*(\d+)/.exec(line) : null;
      if (line && match) {
        started = true;
        const netns = /"net-namespace"\s*:\s*(\d+)/.exec(line)?.[1];
        ok({ pid: Number(match[1]), netns: netns === undefined ? undefined : Number(netns) });
      }
    });
  });
  status.on('error', () => undefined);
  const spawnFailed = once(child, 'error').then(([error]) => {
    throw new BulkheadError('sandbox_unavailable', `cannot start the jail: ${(error as Error).message}`);
  });
  const ended = exited.then(([code]) => {
    if (started) return new Promise<never>(() => undefined);
    const why =
      code === 126
        ? 'cannot put the jail into its cgroup'
        : code === PREMOUNT_FAILED
          ? "cannot mount the jail's bounded /dev/pts (and without a memory cgroup its inode-bounded /tmp, /dev/shm and /workspace, or cap its shared memory), in a user namespace of its own"
          : (diagnose(identity) ?? 'bubblewrap refused the jail');
    throw new BulkheadError('sandbox_unavailable', `the jail could not be built: ${why} (exit ${code})`);
  });
  const aborted = new Promise<never>((_, fail) => {
    signal?.addEventListener('abort', () => fail(signal.reason), { once: true });
  });
  const timer = AbortSignal.timeout(START_TIMEOUT_MS);
  const timedOut = once(timer, 'abort').then(() => {
    throw new BulkheadError('sandbox_unavailable', `the jail did not start within ${START_TIMEOUT_MS} ms`);
  });
  return Promise.race([fromStatus, spawnFailed, ended, aborted, timedOut]);
}
