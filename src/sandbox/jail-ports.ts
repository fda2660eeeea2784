/**
 * The jail's only two ways out, 127.0.0.1:7300 (the gateway) and 127.0.0.1:7301 (the egress proxy),
 * as the host serves them: the gateway bridge and the egress proxy listen on Unix sockets in the
 * shared folder (for the in-jail bridges), and under a root launcher also on sockets made inside the
 * jail's network namespace (egress-listen.ts), accepted by the same two servers. Whichever way a
 * connection comes, it meets the same checks, and nothing else accepts it. Kept apart from the
 * build: these servers are what the agent's traffic meets, their setup and teardown read together.
 */
import type { ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { BulkheadError } from '../errors.js';
import { EGRESS_SOCKET, GATEWAY_SOCKET, JAIL_GATEWAY_PORT, JAIL_PROXY_PORT } from './bridge.js';
import { awaitListeners, defaultEgressPort, type Listened, listenerCommand } from './egress-listen.js';
import { createEgressProxy } from './egress-proxy.js';
import { createRelay } from './egress-relay.js';
import { serveGatewayBridge } from './gateway-bridge.js';
import { giveToJail, type JailIdentity } from './identity.js';
import type { JailSpec } from './jail-spec.js';
import { tcpTargetOf } from './socket-host.js';

/** The in-jail listeners' helper (egress-listen.pl and its arguments), started by the launcher. */
export type ListenerHelper = NonNullable<ReturnType<typeof listenerCommand>>;

/**
 * The helper where this jail's ports listen inside it (`listener`, by default for a root launcher
 * that can), undefined where the in-jail bridges carry them; throws `sandbox_unavailable` where
 * `listener` was asked for and cannot be had.
 */
export function listenerHelperFor(egressPort: JailSpec['egressPort']): ListenerHelper | undefined {
  const helper =
    (egressPort ?? defaultEgressPort()) === 'listener'
      ? listenerCommand([JAIL_GATEWAY_PORT, JAIL_PROXY_PORT])
      : undefined;
  if (egressPort === 'listener' && !helper)
    throw new BulkheadError(
      'sandbox_unavailable',
      `the jail's ports could not listen inside the jail: no egress-listen.pl or syscall numbers for ${process.arch}`,
    );
  return helper;
}

export interface JailPorts {
  /**
   * Serves both ports on Unix sockets in `shared`, given to the jail's identity, and, with a
   * helper, starts taking its listeners from `launched`: `listening` is the promise of them
   * (wrapped, so that serving never waits for the listeners, which need bwrap's report first).
   */
  serve(parts: {
    spec: JailSpec;
    shared: string;
    identity: JailIdentity;
    launched: ChildProcess;
  }): Promise<{ listening: Promise<Listened> | undefined }>;
  /** What bwrap reported of the jail's network namespace, which the helper's listeners are made in. */
  netnsKnown(netns: { pid: number; inode: number } | undefined): void;
  /** Closes every server; a listener that arrives after this is closed at once. */
  close(): void;
}

/**
 * The servers behind the jail's ports. They are made in `serve`, once the launcher is started: bwrap
 * builds the jail meanwhile, and nothing in it connects before `go`.
 */
export function jailPorts(helper: ListenerHelper | undefined): JailPorts {
  const servers: (Server | NetServer)[] = [];
  let gatewayBridge: Server | undefined;
  let proxy: Server | undefined;
  let netnsKnown: (netns: { pid: number; inode: number } | undefined) => void = () => undefined;
  const netns = new Promise<{ pid: number; inode: number } | undefined>((ok) => {
    netnsKnown = ok;
  });
  let torn = false;
  const takeListener = (result: Listened): Listened => {
    if (!result.ok) return result;
    if (torn) {
      for (const server of result.servers.values()) server.close();
      return { ok: false, reason: 'the jail is gone' };
    }
    for (const [port, server] of result.servers) {
      // Taken by the same server as the Unix socket's connections: the same checks, nothing else.
      const to = port === JAIL_PROXY_PORT ? proxy : gatewayBridge;
      if (!to) {
        server.close();
        continue;
      }
      server.on('connection', (socket) => {
        // As both servers accept on their own: half-open (a tunnel's client may half-close after
        // its first bytes; node must not answer with a FIN of its own; the HTTP server decides
        // what a half-close means), no Nagle delay.
        socket.allowHalfOpen = true;
        socket.setNoDelay(true);
        to.emit('connection', socket);
      });
      servers.push(server);
    }
    return result;
  };
  return {
    async serve({ spec, shared, identity, launched }) {
      const gatewaySocket = join(shared, GATEWAY_SOCKET);
      const bridgeServer = await serveGatewayBridge(gatewaySocket, tcpTargetOf(spec.gatewayUrl));
      servers.push(bridgeServer);
      gatewayBridge = bridgeServer;
      giveToJail(gatewaySocket, identity);
      const relay = createRelay();
      const egressProxy = createEgressProxy({
        egress: spec.egress,
        onEvent: spec.onEgress ?? (() => undefined),
        ...(spec.resolve ? { resolve: spec.resolve } : {}),
        relay,
      });
      const egressSocket = join(shared, EGRESS_SOCKET);
      await new Promise<void>((ok, fail) => egressProxy.once('error', fail).listen(egressSocket, () => ok()));
      servers.push(egressProxy);
      proxy = egressProxy;
      giveToJail(egressSocket, identity);
      const listening = helper
        ? awaitListeners(
            launched,
            netns.then((ns) => ns && { path: `/proc/${ns.pid}/ns/net`, inode: ns.inode }),
            helper.ports,
          ).then(takeListener)
        : undefined;
      // The relay for tunnels and answers starts at the agent's first connection to the proxy,
      // where there is somewhere to go: an agent that never uses egress never pays for its
      // start-up (python), and one that does has it ready by its first large download or soon after.
      if (spec.egress.length > 0) egressProxy.once('connection', () => void relay.warm?.());
      return { listening };
    },
    netnsKnown: (ns) => netnsKnown(ns),
    close() {
      torn = true;
      netnsKnown(undefined);
      for (const server of servers) server.close();
    },
  };
}

/**
 * The in-jail listeners taken, or `sandbox_unavailable` naming why not (the helper failed, or the
 * jail ended first): the agent is never started without its ports.
 */
export async function awaitListening(
  listening: Promise<Listened>,
  ended: Promise<[number | null, NodeJS.Signals | null]>,
): Promise<void> {
  const got = await Promise.race([
    listening,
    ended.then(([code]) => ({ ok: false as const, reason: `the jail ended (exit ${code})` })),
  ]);
  if (!got.ok)
    throw new BulkheadError(
      'sandbox_unavailable',
      `the jail's ports could not listen inside the jail: ${got.reason}`,
    );
}
