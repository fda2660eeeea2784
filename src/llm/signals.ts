/**
 * One request's cancellation, tied to longer-lived sources: the run's kill
 * signal and the agent's connection. Not an AbortSignal of its own, nor
 * `AbortSignal.any()`:
 *   - on Node 20 `AbortSignal.any()` leaves a dependant registered on a
 *     long-lived source for as long as the source lives (nodejs/node#55351),
 *     so a run's signal would keep every request it ever made;
 *   - adding the first listener to a fresh AbortSignal costs about 30 µs on
 *     Node 20 (a request's own signal, then the linked one the upstream call
 *     listened to: two of them on the path to the first byte, more than the
 *     rest of the proxy's checks together).
 * So the sources are listened to once each (the agent's connection is a node
 * response's `close`, an EventEmitter), the request's own listeners are a
 * plain list, and everything is detached when the request is done. A
 * long-lived signal (the run's) gets one listener of ours for its whole life,
 * shared by every request that listens to it (`onSignalAbort`): a request
 * joins and leaves a set instead of adding and removing an EventTarget
 * listener, which cost 10–20 µs a pair inside the gateway, on the path to the
 * first byte.
 */
import type { ServerResponse } from 'node:http';

export interface Cancel {
  readonly aborted: boolean;
  readonly reason: Error | undefined;
  /** Calls `listener` once when the request is cancelled (at once if it already is). */
  onAbort(listener: (reason: Error) => void): void;
}

export interface RequestCancel extends Cancel {
  /** The agent went away (its connection closed before the answer was complete). */
  readonly clientGone: boolean;
  /** Detaches from the sources; call once the request is over. */
  dispose(): void;
  /** Cancels the request from within (a guard of its own), with `reason`. */
  cancel(reason: Error): void;
}

const asError = (reason: unknown, fallback: string): Error =>
  reason instanceof Error ? reason : new Error(typeof reason === 'string' ? reason : fallback);

/** For each signal listened to: who is waiting on it now. Gone with the signal. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `listener` once when `signal` (not yet aborted) aborts, through the one listener this module
 * keeps on it; returns how to stop waiting.
 */
export function onSignalAbort(signal: AbortSignal, listener: () => void): () => void {
  let set = waiting.get(signal);
  if (!set) {
    const members = new Set<() => void>();
    set = members;
    waiting.set(signal, members);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        const now = [...members];
        members.clear();
        // Every request hears the kill even if one of them throws; the first error is then
        // rethrown, reported as a throwing listener of the signal is.
        let failed: { error: unknown } | undefined;
        for (const member of now) {
          try {
            member();
          } catch (error) {
            failed ??= { error };
          }
        }
        if (failed) throw failed.error;
      },
      { once: true },
    );
  }
  // A distinct entry per call, so the same function waiting twice is called twice, as listeners were.
  const entry = () => listener();
  set.add(entry);
  const members = set;
  return () => {
    members.delete(entry);
  };
}

/**
 * Cancelled when any of `signals` aborts, or when the agent goes away: `client` is its node
 * response when the proxy is served by node, else a signal for its connection (a web Request's).
 */
export function cancelFor(
  signals: readonly AbortSignal[],
  client?: ServerResponse | AbortSignal,
): RequestCancel {
  let aborted: Error | undefined;
  let clientGone = false;
  let listeners: Array<(reason: Error) => void> = [];
  const detach: Array<() => void> = [];
  const abort = (reason: Error) => {
    if (aborted) return;
    aborted = reason;
    const now = listeners;
    listeners = [];
    for (const listener of now) listener(reason);
  };
  const gone = () => {
    clientGone = true;
    abort(new Error('the client went away'));
  };
  for (const signal of signals) {
    if (signal.aborted) {
      abort(asError(signal.reason, 'aborted'));
      break;
    }
    detach.push(onSignalAbort(signal, () => abort(asError(signal.reason, 'aborted'))));
  }
  if (client && 'writableFinished' in client) {
    // A response closed before it finished: the agent's connection is gone.
    const onClose = () => {
      if (!client.writableFinished) gone();
    };
    if (client.destroyed) onClose();
    else {
      client.once('close', onClose);
      detach.push(() => client.off('close', onClose));
    }
  } else if (client) {
    if (client.aborted) gone();
    else {
      client.addEventListener('abort', gone, { once: true });
      detach.push(() => client.removeEventListener('abort', gone));
    }
  }
  let disposed = false;
  return {
    get aborted() {
      return aborted !== undefined;
    },
    get reason() {
      return aborted;
    },
    get clientGone() {
      return clientGone;
    },
    onAbort(listener) {
      if (aborted) listener(aborted);
      else listeners.push(listener);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const off of detach) off();
    },
    cancel: abort,
  };
}
