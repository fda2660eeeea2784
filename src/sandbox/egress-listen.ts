/**
 * The jail's ports held by the host: TCP sockets listening on 127.0.0.1:7300 (the gateway bridge)
 * and 127.0.0.1:7301 (the egress proxy) in the jail's network namespace, held by the host. The
 * jail's loopback connections to them are accepted by the gateway bridge's server and the proxy
 * themselves, with the same checks as any other; no in-jail bridge copies them into a Unix socket
 * (that copy cost as much CPU as the rest of the jail's egress path, bench/SANDBOX.md, and the
 * gateway's socat ~15 ms of CPU on every jail's start). The jail never holds the sockets: the
 * listening descriptors are the host's, so nothing in the jail can use them to reach anything but
 * the bridge and the proxy, and the jail's namespace keeps its only route, loopback.
 *
 * Made by egress-listen.pl (plain perl, started in milliseconds), which
 * enters the namespace with setns(2), listens, and hands each socket to node
 * over node's IPC channel (SCM_RIGHTS), where it arrives as a net.Server.
 * The jail's launcher starts it (launch.ts, `listener`), before it joins the
 * jail's cgroup and drops to the jail's identity, with the IPC channel node
 * gave the launcher: node's own spawn of it (a fork of this whole process)
 * cost ~6 ms of CPU and ~25 ms of blocked event loop on every jail's start.
 * Entering another user namespace's network namespace takes CAP_SYS_ADMIN:
 * only a root launcher can (defaultEgressPort); others keep the bridges. The
 * namespace is named by bwrap's own report of its inode, so a pid reused by
 * a host process cannot get the listeners made on the host.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { sandboxAsset } from './bridge.js';

export const PERL = '/usr/bin/perl';

/** setns(2) and sendmsg(2) by machine: the helper calls them through perl's syscall(). */
const SYSCALLS: Partial<Record<string, { setns: number; sendmsg: number }>> = {
  x64: { setns: 308, sendmsg: 46 },
  arm64: { setns: 268, sendmsg: 211 },
};

/** A network namespace as bwrap reported it: a path to open, and the inode it must have. */
export interface NetnsRef {
  path: string;
  inode: number;
}

/** Every port asked for, each with its listening socket; or why not (then none is kept). */
export type Listened = { ok: true; servers: ReadonlyMap<number, Server> } | { ok: false; reason: string };

/** How long the helper may take: perl's start-up under load, then the jail's loopback coming up. */
const LISTEN_TIMEOUT_MS = 10_000;

/**
 * `listener` where this process can make the socket: root holding CAP_SYS_ADMIN, perl installed,
 * a machine whose syscall numbers are known. `bridge` (the in-jail bridge) otherwise.
 */
export function defaultEgressPort(
  exists: (path: string) => boolean = existsSync,
  status: () => string = () => readFileSync('/proc/self/status', 'utf8'),
  helper: () => string | undefined = helperPath,
): 'listener' | 'bridge' {
  if (process.getuid?.() !== 0 || !exists(PERL) || !SYSCALLS[process.arch] || !helper()) return 'bridge';
  try {
    const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(status())?.[1];
    const CAP_SYS_ADMIN = 21n;
    return effective && (BigInt(`0x${effective}`) >> CAP_SYS_ADMIN) & 1n ? 'listener' : 'bridge';
  } catch {
    return 'bridge';
  }
}

/** egress-listen.pl, or undefined when this install lacks it (then the bridge is used). */
function helperPath(): string | undefined {
  try {
    return sandboxAsset('egress-listen.pl');
  } catch {
    return undefined;
  }
}

/**
 * The helper's command line (after perl) for a launcher to start it with node's IPC channel: it
 * listens on each of `ports`, in this order.
 */
export function listenerCommand(
  ports: readonly number[],
): { script: string; args: string[]; ports: readonly number[] } | undefined {
  const calls = SYSCALLS[process.arch];
  const script = helperPath();
  if (!calls || !script || ports.length === 0) return undefined;
  return { script, args: [String(calls.setns), String(calls.sendmsg), ...ports.map(String)], ports };
}

/**
 * The listeners from a helper that runs with `child`'s IPC channel (the helper itself, or the jail's
 * launcher that started it): tells it `netns` once known, and resolves with the socket it sends for
 * each of `ports`, or why not. A socket for a port not asked for, or for one twice, fails the whole
 * (and is closed, as is every one already received). Whatever ends it (a failure, the timeout, an
 * undefined `netns`) closes node's end of the channel, on which the helper exits.
 */
export function awaitListeners(
  child: ChildProcess,
  netns: NetnsRef | Promise<NetnsRef | undefined>,
  ports: readonly number[],
  said: () => string = () => '',
): Promise<Listened> {
  return new Promise((resolve) => {
    let settled = false;
    const servers = new Map<number, Server>();
    const settle = (result: Listened) => {
      if (settled) {
        if (result.ok) for (const server of result.servers.values()) server.close();
        return;
      }
      settled = true;
      clearTimeout(timer);
      child.off('message', onMessage);
      if (!result.ok) {
        for (const server of servers.values()) server.close();
        if (child.connected) child.disconnect();
      }
      resolve(result);
    };
    const onMessage = (message: unknown, handle: unknown) => {
      const server = handle as Server | undefined;
      if (settled) {
        server?.close();
        return;
      }
      if (typeof message === 'object' && message !== null && 'listenerFailed' in message) {
        server?.close();
        settle({ ok: false, reason: String(message.listenerFailed) });
        return;
      }
      const port =
        typeof message === 'object' &&
        message !== null &&
        'listening' in message &&
        message.listening === true &&
        'port' in message &&
        typeof message.port === 'number'
          ? message.port
          : undefined;
      if (!server || port === undefined || !ports.includes(port) || servers.has(port)) {
        server?.close();
        settle({ ok: false, reason: 'the helper sent something else than a listener asked for' });
        return;
      }
      servers.set(port, server);
      if (servers.size === ports.length) settle({ ok: true, servers });
    };
    child.on('message', onMessage);
    // Node reads a message (and its socket) before the channel's end: a disconnect after the last
    // listener has arrived changes nothing.
    child.once('disconnect', () =>
      setImmediate(() => settle({ ok: false, reason: said() || 'the helper ended before listening' })),
    );
    const timer = setTimeout(
      () => settle({ ok: false, reason: `no listener within ${LISTEN_TIMEOUT_MS} ms` }),
      LISTEN_TIMEOUT_MS,
    );
    void Promise.resolve(netns).then(
      (ref) => {
        if (!ref) settle({ ok: false, reason: 'no network namespace to listen in' });
        else if (!settled && child.connected)
          // With a callback: a helper already gone is an error here, never the child's 'error' event.
          child.send({ netns: ref.path, inode: ref.inode }, (error) => {
            if (error) settle({ ok: false, reason: said() || `the helper is gone (${error.message})` });
          });
      },
      (error: Error) => settle({ ok: false, reason: error.message }),
    );
  });
}
