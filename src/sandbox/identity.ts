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
 */
import { chownSync } from 'node:fs';

/** Far above any account range, and below 2^31, which some tools read as negative. */
export const JAIL_HOST_UID = 1_950_000_000;

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
