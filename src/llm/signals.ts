/**
 * One request's abort signal, tied to longer-lived ones (the run's kill
 * signal, the client's connection). Not `AbortSignal.any()`: on Node 20 each
 * call leaves a dependant registered on a long-lived source signal for as
 * long as that source lives (nodejs/node#55351), so a run's signal would keep
 * every request it ever made. Here the listeners are removed when the request
 * is done.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the sources; call once the request is over. */
  dispose(): void;
}

export function linkSignals(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const detach: Array<() => void> = [];
  for (const source of sources) {
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const onAbort = () => controller.abort(source.reason);
    source.addEventListener('abort', onAbort, { once: true });
    detach.push(() => source.removeEventListener('abort', onAbort));
  }
  let disposed = false;
  return {
    signal: controller.signal,
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const off of detach) off();
    },
  };
}
