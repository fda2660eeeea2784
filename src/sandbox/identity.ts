/**
 * Who the jail is on the host. bubblewrap maps the jail's user to the user
 * that starts it; started by root, that is host root: files the agent makes
 * belong to root, and `/proc/sys/kernel/core_pattern` opens for writing from
 * inside (with a crash, code execution on the host). So a root launcher
 * drops to a dedicated unprivileged uid before bwrap (setpriv, util-linux),
 * and the jail's user namespace maps to that uid: host root never exists
 * inside. A non-root launcher runs bwrap as itself, as before.
 *
 * The dedicated uid belongs to no account: it owns nothing on the host, so
 * even a process that left the namespaces would hold no file, and the uid
 * cannot signal or ptrace any host process.
 *
 * Each jail has its own (claimJailIdentity): with one uid for all, the kernel's per-user counts,
 * which namespaces do not split (inotify instances and watches, RLIMIT_NPROC where rlimits stand
 * in for cgroups, pipe buffers, message queue bytes), were shared by every root-launched jail, so
 * one jail holding all 128 inotify instances left every other none; and same-uid was all that
 * stood between two jails once either could name the other's process or files. A jail's uid is
 * JAIL_HOST_UID plus a slot, claimed by binding an abstract unix socket named for it in the
 * launcher's network namespace: the kernel lets one socket hold a name, and frees it when the
 * launcher dies, so no two live jails share a uid and a killed launcher leaves no claim behind.
 */
import { chownSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { BulkheadError } from '../errors.js';

/** Far above any account range (and systemd's container ranges), and below 2^31, which some tools read as negative. */
export const JAIL_HOST_UID = 1_950_000_000;
/** How many uids from JAIL_HOST_UID jails take theirs from (JAIL_HOST_UID + JAIL_UID_SLOTS < 2^31). */
export const JAIL_UID_SLOTS = 2 ** 27;

export interface JailIdentity {
  uid: number;
  gid: number;
  /** True when the launcher is root and the jail runs as the dedicated uid instead. */
  dropped: boolean;
}

export function jailIdentity(launcherUid: number = process.getuid?.() ?? -1): JailIdentity {
  if (launcherUid !== 0) return { uid: launcherUid, gid: process.getgid?.() ?? launcherUid, dropped: false };
  return { uid: JAIL_HOST_UID, gid: JAIL_HOST_UID, dropped: true };
}

/** The command prefix that becomes the jail's identity (empty when the launcher already is). */
export function dropPrivileges(identity: JailIdentity): string[] {
  if (!identity.dropped) return [];
  return [
    'setpriv',
    `--reuid=${identity.uid}`,
    `--regid=${identity.gid}`,
    '--clear-groups',
    // Nothing inherited: bwrap needs no capability, the user namespace gives it what it needs.
    '--inh-caps=-all',
    '--',
  ];
}

/** Hands a file the jail must open (a socket, its runtime folder) to the jail's identity. */
export function giveToJail(path: string, identity: JailIdentity): void {
  if (identity.dropped) chownSync(path, identity.uid, identity.gid);
}

/** A jail's own identity and the claim that holds it; `release()` once every process of the jail is gone. */
export interface ClaimedIdentity {
  identity: JailIdentity;
  release(): void;
}

/**
 * The identity of one jail: the launcher's own for a non-root launcher; for root a uid no other live
 * jail has (see above), picked at random among JAIL_UID_SLOTS and held until `release()`.
 */
export async function claimJailIdentity(
  launcherUid: number = process.getuid?.() ?? -1,
): Promise<ClaimedIdentity> {
  const base = jailIdentity(launcherUid);
  if (!base.dropped) return { identity: base, release: () => undefined };
  for (let attempt = 0; attempt < 32; attempt++) {
    const uid = JAIL_HOST_UID + Math.floor(Math.random() * JAIL_UID_SLOTS);
    const server = await bindName(`\0bulkhead-jail-uid-${uid}`);
    if (!server) continue;
    server.unref();
    return {
      identity: { uid, gid: uid, dropped: true },
      release: () => {
        server.close();
      },
    };
  }
  throw new BulkheadError('sandbox_unavailable', 'could not claim a host uid of its own for the jail');
}

/** A server bound to an abstract unix socket name, or undefined when the name is taken. */
function bindName(name: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', () => resolve(undefined));
    server.listen(name, () => resolve(server));
  });
}
