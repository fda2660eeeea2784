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

/** False only when the process certainly does not exist (ESRCH). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
