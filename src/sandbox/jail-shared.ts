/**
 * The jail's shared folder: a host folder bind-mounted read-only at /run/bulkhead, beside the
 * generated passwd, group and hosts the jail sees in /etc (generated, never the host's, which list
 * its users and their homes). Everything in it is a copy made for this jail: the jail's identity
 * may not be able to reach the install folder (e.g. under /root).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bridgeScriptPath, sandboxAsset } from './bridge.js';
import { JAIL_UID } from './bwrap-argv.js';
import { writeJailFiles } from './jail-files.js';

/** The shared folder inside `runtime`, with the jail's passwd, group and hosts. */
export function makeSharedFolder(runtime: string): string {
  const shared = join(runtime, 'shared');
  mkdirSync(shared, { mode: 0o755 });
  writeFileSync(
    join(shared, 'passwd'),
    `agent:x:${JAIL_UID}:${JAIL_UID}:agent:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  );
  writeFileSync(join(shared, 'group'), `agent:x:${JAIL_UID}:\nnogroup:x:65534:\n`);
  writeFileSync(join(shared, 'hosts'), '127.0.0.1 localhost bulkhead-jail\n::1 localhost\n');
  return shared;
}

/**
 * What the jail runs from the shared folder: the node bridge when it is the in-jail bridge, the
 * proxy preload every node in the jail loads, and the caller's files (/run/bulkhead/NAME).
 */
export function copyJailAssets(
  shared: string,
  parts: { nodeBridge: boolean; files: Readonly<Record<string, string>> },
): void {
  if (parts.nodeBridge) copyFileSync(bridgeScriptPath(), join(shared, 'bridge.mjs'));
  copyFileSync(sandboxAsset('node-proxy.cjs'), join(shared, 'node-proxy.cjs'));
  writeJailFiles(shared, parts.files);
}
