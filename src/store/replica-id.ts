/**
 * Who this process is, for leases: a random replica id, and the node it runs
 * on (host, boot, pid namespace), inside which a pid can be checked for life.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

export function newReplicaId(): string {
  return `rep_${randomBytes(9).toString('base64url')}`;
}

function readOr(read: () => string, fallback: string): string {
  try {
    return read().trim();
  } catch {
    return fallback;
  }
}

/** Equal only for processes that share a host, a boot and a pid namespace. */
export function nodeKey(): string {
  const boot = readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'), 'boot?');
  const pidns = readOr(() => readlinkSync('/proc/self/ns/pid'), 'pidns?');
  return `${hostname()}|${boot}|${pidns}`;
}

/**
 * False only when the process certainly does not run: it does not exist (ESRCH), or it is a
 * zombie (killed, not yet reaped by a parent that has not looked, e.g. a supervisor or a shell).
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  // /proc/<pid>/stat: "pid (comm) S ...", comm may hold spaces and parentheses: the state follows the last ')'.
  const stat = readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8'), '');
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
