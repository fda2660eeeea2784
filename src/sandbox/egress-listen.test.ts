import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  awaitListeners,
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
  const command = listenerCommand([port]);
  if (!command) throw new Error('no egress-listen.pl or syscall numbers here');
  const child = spawn(PERL, [command.script, ...command.args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: {},
  });
  let said = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    said += chunk.toString('utf8');
  });
  return awaitListeners(child, netns, command.ports, () => said.trim());
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

  it('compiles under strict and warnings (the helper loads neither, to start sooner)', () => {
    const command = listenerCommand([7301]);
    if (!command) throw new Error('no egress-listen.pl or syscall numbers here');
    const checked = spawnSync(PERL, ['-Mstrict', '-Mwarnings', '-c', command.script], { encoding: 'utf8' });
    expect(checked.stderr.trim()).toBe(`${command.script} syntax OK`);
    expect(checked.status).toBe(0);
  });
});

/** A stand-in for the launcher's child: the channel's messages are emitted by the test. */
function fakeHelper(): ChildProcess & { sent: unknown[] } {
  const child = new EventEmitter() as ChildProcess & { sent: unknown[] };
  Object.assign(child, {
    connected: true,
    sent: [],
    send(message: unknown, callback?: (error: Error | null) => void) {
      child.sent.push(message);
      callback?.(null);
      return true;
    },
    disconnect() {
      Object.assign(child, { connected: false });
      child.emit('disconnect');
    },
  });
  return child;
}

function fakeServer(): Server & { closed: boolean } {
  const server = createServer() as Server & { closed: boolean };
  server.closed = false;
  Object.assign(server, {
    close(callback?: () => void) {
      server.closed = true;
      callback?.();
      return server;
    },
  });
  return server;
}

describe('the listeners a helper sends', () => {
  const netns = { path: '/proc/1/ns/net', inode: 1 };

  it('resolves once every port asked for has its socket, keyed by port', async () => {
    const child = fakeHelper();
    const listened = awaitListeners(child, netns, [7300, 7301]);
    await new Promise((r) => setImmediate(r));
    expect(child.sent).toEqual([{ netns: '/proc/1/ns/net', inode: 1 }]);
    const [gateway, proxy] = [fakeServer(), fakeServer()];
    child.emit('message', { listening: true, port: 7301 }, proxy);
    child.emit('message', { listening: true, port: 7300 }, gateway);
    const result = await listened;
    expect(result.ok && [...result.servers.entries()]).toEqual([
      [7301, proxy],
      [7300, gateway],
    ]);
    expect(gateway.closed || proxy.closed).toBe(false);
  });

  it('fails, closing every socket it had, on a port not asked for or one sent twice', async () => {
    for (const second of [7302, 7300]) {
      const child = fakeHelper();
      const listened = awaitListeners(child, netns, [7300, 7301]);
      const [first, other] = [fakeServer(), fakeServer()];
      child.emit('message', { listening: true, port: 7300 }, first);
      child.emit('message', { listening: true, port: second }, other);
      expect(await listened).toEqual({ ok: false, reason: expect.stringMatching(/asked for/) });
      expect([first.closed, other.closed]).toEqual([true, true]);
      expect(child.connected).toBe(false);
    }
  });

  it('fails when the helper ends before every port has its socket', async () => {
    const child = fakeHelper();
    const listened = awaitListeners(child, netns, [7300, 7301], () => 'helper said why');
    const first = fakeServer();
    child.emit('message', { listening: true, port: 7300 }, first);
    child.disconnect();
    expect(await listened).toEqual({ ok: false, reason: 'helper said why' });
    expect(first.closed).toBe(true);
  });
});
