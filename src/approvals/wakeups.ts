/**
 * Waiting on an approval without busy polling: a waiter sleeps until its
 * poll interval passes, its caller goes, or a decision wakes it (made here,
 * or signalled by another replica). One set of sleepers per approval id.
 */
export class Wakeups {
  private readonly sleepers = new Map<string, Set<() => void>>();

  /** Wakes every call sleeping on approval `id` at once. */
  wake(id: string): void {
    for (const wake of this.sleepers.get(id) ?? []) wake();
  }

  /** Sleeps up to `ms`, or until `wake(id)`, or until either signal aborts. */
  sleep(id: string, ms: number, signal: AbortSignal, gone?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const set = this.sleepers.get(id) ?? new Set();
      this.sleepers.set(id, set);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        gone?.removeEventListener('abort', done);
        set.delete(done);
        if (set.size === 0) this.sleepers.delete(id);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      signal.addEventListener('abort', done, { once: true });
      gone?.addEventListener('abort', done, { once: true });
      set.add(done);
      if (signal.aborted || gone?.aborted) done();
    });
  }
}
