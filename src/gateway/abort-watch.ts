/**
 * Abort signals for the keep-alive fetch (http-fetch.ts): one listener per
 * signal, however many requests share it.
 *
 * Why: the SDK passes one long-lived AbortSignal to every request; a listener
 * per request piled up on it (undici's fetch did, MaxListenersExceededWarning
 * under load). Here a signal gets exactly one listener, which calls the
 * requests still watching it, and a request that ends takes itself off
 * (the function `watch` returns), leaving nothing behind.
 */

/** Watches signals for one fetch: `watch(signal, onAbort)` returns the function that stops watching. */
export function abortWatcher(): (signal: AbortSignal, onAbort: (reason: unknown) => void) => () => void {
  /** One abort listener per signal, however many requests it covers. */
  const watched = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

  return (signal: AbortSignal, onAbort: (reason: unknown) => void): (() => void) => {
    let set = watched.get(signal);
    if (!set) {
      const listeners = new Set<(reason: unknown) => void>();
      set = listeners;
      watched.set(signal, listeners);
      signal.addEventListener(
        'abort',
        () => {
          for (const listener of [...listeners]) listener(signal.reason);
          listeners.clear();
        },
        { once: true },
      );
    }
    set.add(onAbort);
    const active = set;
    return () => active.delete(onAbort);
  };
}

/** The error an aborted request fails with: the signal's reason if it is an Error, else an AbortError. */
export function abortError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const error = new Error('This operation was aborted');
  error.name = 'AbortError';
  return error;
}
