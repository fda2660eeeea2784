/**
 * A signal that aborts when any of its sources does, and that can be
 * released. `AbortSignal.any()` is not used on hot paths: on Node 20, each
 * combined signal stays reachable from a long-lived source for as long as the
 * source lives (nodejs/node#55351), so one per call against a run's signal
 * grows the heap with every call. Here the listeners are removed when the
 * caller is done, and the combined signal is garbage like any other object.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Detaches from the sources; call it when the work the signal guarded is over. */
  release(): void;
}

export function linkedSignal(sources: readonly AbortSignal[]): LinkedSignal {
  const controller = new AbortController();
  const attached: AbortSignal[] = [];
  const onAbort = (event: Event) => {
    release();
    controller.abort((event.target as AbortSignal).reason);
  };
  const release = () => {
    for (const source of attached) source.removeEventListener('abort', onAbort);
    attached.length = 0;
  };
  for (const source of sources) {
    if (source.aborted) {
      release();
      controller.abort(source.reason);
      break;
    }
    source.addEventListener('abort', onAbort, { once: true });
    attached.push(source);
  }
  return { signal: controller.signal, release };
}
