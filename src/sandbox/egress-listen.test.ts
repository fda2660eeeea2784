import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  awaitListener,
  defaultEgressPort,
  type Listened,
  listenerCommand,
  type NetnsRef,
  PERL,
} from './egress-listen.js';

/**
 * The helper started by node itself (the jail starts it through its launcher instead), told
 * `netns`: what it answers for a namespace it must refuse.
 */
function listenInJail(netns: NetnsRef, port: number): Promise<Listened> {
  const command = listenerCommand(port);
  if (!command) throw new Error('no egress-listen.pl or syscall numbers here');
  const child = spawn(PERL, [command.script, ...command.args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {},
  });
  let said = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    said += chunk.toString('utf8');
  });
  return awaitListener(child, netns, () => said.trim());
}

const FULL_CAPS = 'Name:\tnode\nCapEff:\t000001ffffffffff\n';
const NO_SYS_ADMIN = 'Name:\tnode\nCapEff:\t000001ffffdfffff\n';

/** A port nothing on this host listens on now. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  const { port } = probe.address() as { port: number };
  await new Promise((ok) => probe.close(ok));
  return port;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

const root = process.getuid?.() === 0;

describe('the egress proxy listening inside the jail', () => {
  it('is chosen only where the launcher may enter the jail: root with CAP_SYS_ADMIN, perl and the helper', () => {
    const choose = (perl: boolean, status: string, helper: string | undefined) =>
      defaultEgressPort(
        () => perl,
        () => status,
        () => helper,
      );
    if (root) {
      expect(choose(true, FULL_CAPS, 'egress-listen.pl')).toBe('listener');
      expect(choose(true, NO_SYS_ADMIN, 'egress-listen.pl')).toBe('bridge');
      expect(choose(false, FULL_CAPS, 'egress-listen.pl')).toBe('bridge');
      expect(choose(true, FULL_CAPS, undefined)).toBe('bridge');
    } else expect(choose(true, FULL_CAPS, 'egress-listen.pl')).toBe('bridge');
  });

  it.skipIf(!root)(
    "refuses a namespace whose inode is not the one bwrap reported (a reused pid's)",
    async () => {
      const own = statSync('/proc/self/ns/net').ino;
      const result = await listenInJail({ path: '/proc/self/ns/net', inode: own + 1 }, await freePort());
      expect(result).toEqual({
        ok: false,
        reason: expect.stringMatching(/not the jail's network namespace/),
      });
    },
  );

  it.skipIf(!root)('never listens in the host’s own namespace, even when named with its inode', async () => {
    const port = await freePort();
    const own = statSync('/proc/self/ns/net').ino;
    const result = await listenInJail({ path: '/proc/self/ns/net', inode: own }, port);
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/is the host's/) });
    expect(await refused(port)).toBe(true);
  });
});
