/**
 * One long-lived splice relay per egress proxy (splice-serve.py), for the
 * one-way copies of plain-HTTP answers (egress-forward.ts). socat copies
 * each byte through user space; on the jail's path (far side -> relay ->
 * Unix socket -> in-jail bridge -> agent) that relay was the costliest
 * process: 130 ms of CPU per 100 MB, against 90-100 ms for this relay
 * (splice(2), socket -> pipe -> socket inside the kernel; bench/SANDBOX.md).
 * A python process per answer
 * would pay python's start-up (a tenth of a second of CPU) each time, so one
 * is started per proxy and handed each answer's two sockets over node's IPC
 * channel (SCM_RIGHTS), node keeping its own descriptors (`keepOpen`).
 *
 * Used only once it has said it is ready (python 3.10+ for os.splice); until
 * then, if it dies, or past MAX_BODIES at once, the caller falls back to
 * socat. If it dies mid-copy, the answers it held end (their connections are
 * closed), never continued elsewhere.
 *
 * It also moves raw tunnels both ways (`tunnel`, each direction's EOF passed
 * on as a half-close, done once both have ended), in place of a socat
 * process per tunnel.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { sandboxAsset } from './bridge.js';

export const PYTHON3 = '/usr/bin/python3';
const NICE = '/usr/bin/nice';
/** Bodies one relay moves at once (each holds two descriptors and a pipe there). */
const MAX_BODIES = 256;

export interface SpliceBody {
  ended: Promise<void>;
  stop(): void;
}

export interface SpliceServer {
  /** Undefined when it cannot take the body now (not ready, gone, or full). */
  forward(from: Socket, to: Socket, length: number | undefined): SpliceBody | undefined;
  /** Both ways, each EOF passed on as a half-close; undefined when it cannot take them now. */
  tunnel(client: Socket, upstream: Socket): SpliceBody | undefined;
  /** Settles true once the relay says it is ready, false if it ends first. */
  ready: Promise<boolean>;
  close(): void;
}

type FromRelay = { ready: true } | { done: number };

function fromRelay(message: unknown): FromRelay | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  if ('ready' in message) return { ready: true };
  if ('done' in message && typeof message.done === 'number') return { done: message.done };
  return undefined;
}

export function startSpliceServer(python: string = PYTHON3): SpliceServer | undefined {
  if (!existsSync(python)) return undefined;
  let child: ChildProcess;
  try {
    // As root, python's start-up (a tenth of a second of CPU) runs at the lowest priority, so a
    // jail starting beside it is not slowed; the relay takes the normal priority back once ready
    // (lowering a nice value takes root, hence only then).
    const script = [python, '-I', '-S', sandboxAsset('splice-serve.py')];
    const niced = process.getuid?.() === 0 && existsSync(NICE);
    child = spawn(niced ? NICE : python, niced ? ['-n', '19', ...script] : script.slice(1), {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
  } catch {
    return undefined;
  }
  let ready = false;
  let alive = true;
  let settleReady: (ok: boolean) => void = () => undefined;
  const readySettled = new Promise<boolean>((resolve) => {
    settleReady = resolve;
  });
  let next = 1;
  const waiting = new Map<number, () => void>();
  child.on('message', (message: unknown) => {
    const said = fromRelay(message);
    if (said && 'ready' in said) {
      ready = true;
      settleReady(true);
    } else if (said) {
      waiting.get(said.done)?.();
      waiting.delete(said.done);
    }
  });
  const gone = () => {
    alive = false;
    settleReady(false);
    for (const resolve of waiting.values()) resolve();
    waiting.clear();
  };
  child.once('exit', gone);
  child.once('error', gone);
  child.on('disconnect', gone);
  // The relay must not keep a proxy's process alive on its own.
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  const hand = (from: Socket, to: Socket, length: number | undefined, both: boolean) => {
    if (!ready || !alive || !child.connected || waiting.size >= MAX_BODIES) return undefined;
    const id = next++;
    const ended = new Promise<void>((resolve) => waiting.set(id, resolve));
    // keepOpen: node keeps both sockets (it still sends the request body up and watches the
    // client); the relay's copies are its own. The far side goes first: the relay pairs them.
    child.send({ id, role: 'from', length: length ?? null, ...(both ? { both } : {}) }, from, {
      keepOpen: true,
    });
    child.send({ id, role: 'to' }, to, { keepOpen: true });
    return {
      ended,
      stop: () => {
        if (alive && child.connected && waiting.has(id)) child.send({ stop: id });
      },
    };
  };
  return {
    forward: (from, to, length) => hand(from, to, length, false),
    tunnel: (client, upstream) => hand(client, upstream, undefined, true),
    ready: readySettled,
    close() {
      alive = false;
      settleReady(false);
      child.kill('SIGKILL');
    },
  };
}
