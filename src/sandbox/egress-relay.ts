/**
 * Moves an allowed tunnel's bytes without JavaScript per chunk. Once the
 * egress proxy has decided (name, addresses, SNI), nothing in the rest of a
 * CONNECT tunnel is inspected, so copying it through node, a read and a
 * write syscall per 64 KiB chunk on node's one thread, only costs. The two
 * connected sockets are handed to a native relay. Relays, same contract
 * (EOF passed on as a half-close, the tunnel ends when both directions have):
 * - `splice`, the default where python3 is installed: the proxy's one
 *   long-lived splice-serve.py (egress-splice.ts, also the one that moves
 *   answer bodies) is handed the tunnel's two sockets over node's IPC
 *   channel and moves both ways with splice(2), socket -> pipe -> socket
 *   inside the kernel (half socat's CPU per 100 MB, bench/SANDBOX.md), with
 *   no process started per tunnel. Until it is ready, if it is gone or
 *   full, socat takes the tunnel.
 * - `socat` (a CI package, used for the jail's gateway bridge): a process per
 *   tunnel, copying in C with 128 KiB buffers, through user space; starts in
 *   a few ms. Node closes its own descriptors and is out of the path.
 * - `splice-once` (splice-relay.py, a python process per tunnel): kept for
 *   comparison; python's start-up on every tunnel costs more than it saves.
 * Without either, node pipes the tunnel itself (take resolves false).
 *
 * Bounded: at most `max` socat relays at once per proxy (a relay is a host
 * process the jail's pids limit does not count), 256 bodies in the splice
 * relay; past that node pipes the tunnel. Closing the proxy kills every
 * relay it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { sandboxAsset } from './bridge.js';
import { PYTHON3, type SpliceServer, startSpliceServer } from './egress-splice.js';

export const SOCAT = '/usr/bin/socat';
export const PYTHON = '/usr/bin/python3';

export type RelayKind = 'splice' | 'splice-once' | 'socat' | 'none';

/** The command that relays fd 3 <-> fd 4 until both directions end, per kind. */
function relayArgv(kind: 'splice-once' | 'socat'): [string, string[]] {
  return kind === 'splice-once'
    ? [PYTHON, ['-I', '-S', sandboxAsset('splice-relay.py')]]
    : // By default socat does not shut an FD address's writing half at the other side's EOF, and
      // ends the tunnel 0.5 s after the first EOF (-t), cutting off a reply still coming after
      // the client's half-close: shut-down passes the EOF on, a day's -t waits for both to end.
      [SOCAT, ['-b', '131072', '-t', '86400', 'FD:3,shut-down', 'FD:4,shut-down']];
}

export interface Relay {
  /**
   * Hands both sockets to a native relay, after whatever node already read from either side has
   * been passed on; resolves false when it cannot (the caller pipes them itself).
   */
  take(client: Socket, upstream: Socket): Promise<boolean>;
  /**
   * One direction only: `from`'s bytes go to `to` natively until `from`'s EOF, then `to`'s
   * writing half is shut. Node stops reading `from` (what it had read goes first) and must not
   * write to `to` any more, but keeps both sockets: it may still read `to` and write `from` (a
   * request body going up while its response comes down). With `length`, the relay stops after
   * that many bytes (what node already read counts), as at an EOF. Resolves undefined when it cannot
   * (no relay, or `max` running; the caller pipes), else a handle whose `ended` settles when the
   * relay exits and whose `stop` kills it.
   */
  forward(from: Socket, to: Socket, length?: number): Promise<Forwarding | undefined>;
  /**
   * Starts the long-lived splice relay now rather than at the first tunnel or answer (its start-up
   * takes a while); settles true once it is ready, false when there is none or it ended first.
   */
  warm?(): Promise<boolean>;
  closeAll(): void;
}

export interface Forwarding {
  ended: Promise<void>;
  stop(): void;
}

/** The long-lived splice relay where python3 is installed (socat covering its start), else socat, else none. */
export function defaultRelay(exists: (path: string) => boolean = existsSync): RelayKind {
  if (exists(PYTHON3)) return 'splice';
  return exists(SOCAT) ? 'socat' : 'none';
}

/**
 * Stops node reading from a socket and returns what it had already read: a paused stream still
 * fills its buffer from the kernel, and those bytes would be lost to the relay. `readStop` is the
 * handle's own (not part of net.Socket's typed surface), hence the narrow cast.
 */
function stopAndDrain(socket: Socket): Buffer[] {
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } })._handle;
  handle?.readStop?.();
  // `reading` must say true: net.Socket's _read (called by read() below, and by its own read-ahead
  // on a later tick) restarts the handle when that flag says it is not reading. Node clears it
  // itself when its buffer fills (a paused socket): left so, the read() below started the handle
  // again, and one more chunk went into node's buffer, lost to the relay (64 KiB out of a tunnel,
  // found by the two-way splice test).
  if (handle) handle.reading = true;
  const chunks: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null)
    chunks.push(chunk);
  return chunks;
}

/** The socket's descriptor number (the handle's own, like readStop above). */
function descriptor(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function writeAll(socket: Socket, chunks: readonly Buffer[]): Promise<void> {
  if (chunks.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) =>
    socket.write(Buffer.concat(chunks), (e) => (e ? reject(e) : resolve())),
  );
}

export function createRelay(
  options: {
    max?: number;
    exists?: (path: string) => boolean;
    kind?: RelayKind;
    /** How one-way answer bodies move: one long-lived splice relay per proxy (default), or socat each. */
    oneWay?: 'splice' | 'socat';
  } = {},
): Relay {
  const max = options.max ?? 32;
  const running = new Set<ChildProcess>();
  const kind = options.kind ?? defaultRelay(options.exists);
  // Started on the first answer or tunnel that needs it; until it says it is ready, socat copies.
  let splicer: SpliceServer | undefined;
  let splicerTried = false;
  const startSplicer = (): SpliceServer | undefined => {
    if (!splicerTried) {
      splicerTried = true;
      splicer = startSpliceServer();
    }
    return splicer;
  };
  const oneWaySplice = (): SpliceServer | undefined =>
    options.oneWay === 'socat' || kind === 'none' ? undefined : startSplicer();
  return {
    async take(client, upstream) {
      if (kind === 'none') return false;
      const splice = kind === 'splice' ? startSplicer() : undefined;
      if (!splice && running.size >= max) return false;
      client.pause();
      upstream.pause();
      // An EOF node has already read (a client that half-closes after its first bytes) must not
      // make node shut the other socket's writing half: the relay passes each EOF on itself.
      client.allowHalfOpen = true;
      upstream.allowHalfOpen = true;
      const fromClient = stopAndDrain(client);
      const fromUpstream = stopAndDrain(upstream);
      try {
        await Promise.all([writeAll(upstream, fromClient), writeAll(client, fromUpstream)]);
      } catch {
        client.destroy();
        upstream.destroy();
        return true; // a side is gone: nothing left to relay
      }
      const spliced = splice?.tunnel(client, upstream);
      if (spliced) {
        // Node keeps its descriptors (never reading them) until the relay has ended both ways.
        void spliced.ended.then(() => {
          client.destroy();
          upstream.destroy();
        });
        client.once('close', () => spliced.stop());
        upstream.once('close', () => spliced.stop());
        return true;
      }
      if (running.size >= max || !existsSync(SOCAT)) {
        client.resume();
        upstream.resume();
        return false;
      }
      let child: ChildProcess;
      try {
        // fd 3 and 4 are the client and the far side; the relay ends when both directions are done.
        const [command, args] = relayArgv(kind === 'splice-once' ? 'splice-once' : 'socat');
        child = spawn(command, args, {
          stdio: ['ignore', 'ignore', 'ignore', client, upstream],
        });
      } catch {
        client.resume();
        upstream.resume();
        return false;
      }
      running.add(child);
      child.once('exit', () => running.delete(child));
      child.once('error', () => running.delete(child));
      // Only this process's descriptors close; the connections live on in the relay.
      client.destroy();
      upstream.destroy();
      return true;
    },
    async forward(from, to, length) {
      // The splice relay is two-way only; socat copies one way with -u. Both go by descriptor
      // number: handed over as sockets, node would stop reading `to`, which it must go on
      // watching (for a close, or a second request), and take `from` for the child's.
      const source = descriptor(from);
      const target = descriptor(to);
      if (kind === 'none' || running.size >= max || source === undefined || target === undefined)
        return undefined;
      if (!existsSync(SOCAT)) return undefined;
      from.pause();
      let pending = stopAndDrain(from);
      let left = length;
      if (left !== undefined) {
        const all = Buffer.concat(pending).subarray(0, left);
        pending = [all];
        left -= all.length;
      }
      try {
        await writeAll(to, pending);
      } catch {
        from.destroy();
        to.destroy();
        return { ended: Promise.resolve(), stop: () => undefined };
      }
      if (left === 0) {
        to.end();
        return { ended: Promise.resolve(), stop: () => undefined };
      }
      const spliced = oneWaySplice()?.forward(from, to, left);
      if (spliced) return spliced;
      let child: ChildProcess;
      try {
        // readbytes: a far side that keeps the connection open past the answer cannot hold it.
        child = spawn(
          SOCAT,
          ['-u', '-b', '131072', left === undefined ? 'FD:3' : `FD:3,readbytes=${left}`, 'FD:4,shut-down'],
          { stdio: ['ignore', 'ignore', 'ignore', source, target] },
        );
      } catch {
        // Part of the answer may already be out: the connection cannot be continued elsewhere.
        from.destroy();
        to.destroy();
        return { ended: Promise.resolve(), stop: () => undefined };
      }
      running.add(child);
      const ended = new Promise<void>((resolve) => {
        const done = () => {
          running.delete(child);
          resolve();
        };
        child.once('exit', done);
        child.once('error', done);
      });
      return { ended, stop: () => child.kill('SIGKILL') };
    },
    warm() {
      if (kind !== 'splice' || options.oneWay === 'socat') return Promise.resolve(false);
      return startSplicer()?.ready ?? Promise.resolve(false);
    },
    closeAll() {
      for (const child of running) child.kill('SIGKILL');
      running.clear();
      splicer?.close();
      splicer = undefined;
    },
  };
}
