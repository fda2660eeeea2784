/**
 * Waiting on an approval without busy polling: a waiter sleeps until its
 * poll interval passes, its caller goes, or a decision wakes it (made here,
 * or signalled by another replica).
 *
 * A waiter watches its approval for the whole wait, not only while it
 * sleeps: a wake that lands while it is re-reading the store (the read
 * answered `pending` just before the decision committed) is kept and ends
 * the next sleep at once. Without that, such a decision was seen only at
 * the next poll, 2 s later with NOTIFY live.
 */
import type { ApprovalState } from './approval.js';

/**
 * What a wake says: the state the decider wrote, when it said. A hint only: it picks which
 * query the waiter issues first, and the store still decides (a claim succeeds only on a
 * stored `approved`), so a forged or stale hint costs a query, never a decision.
 */
export interface Wake {
  state?: ApprovalState;
}

export class Wakeups {
  private readonly watches = new Map<string, Set<Watch>>();

  /** Wakes every call watching approval `id` at once (or at its next sleep, if it is not asleep). */
  wake(id: string, wake: Wake = {}): void {
    for (const watch of this.watches.get(id) ?? []) watch.wake(wake);
  }

  /** Starts watching approval `id`: wakes from now on are not lost. `close()` when done. */
  watch(id: string): Watch {
    const set = this.watches.get(id) ?? new Set<Watch>();
    this.watches.set(id, set);
    const watch = new Watch(() => {
      set.delete(watch);
      if (set.size === 0 && this.watches.get(id) === set) this.watches.delete(id);
    });
    set.add(watch);
    return watch;
  }

  /** How many waiters watch approval `id` here (for tests of the bookkeeping). */
  watching(id: string): number {
    return this.watches.get(id)?.size ?? 0;
  }
}

export class Watch {
  /** A wake that came while nobody slept: the next sleep returns it at once. */
  private latched: Wake | undefined;
  private sleeper: ((wake: Wake | undefined) => void) | undefined;

  constructor(private readonly release: () => void) {}

  wake(wake: Wake): void {
    if (this.sleeper) this.sleeper(wake);
    // Two wakes before the next sleep: the later one says the newer state.
    else this.latched = wake;
  }

  /**
   * Sleeps up to `ms`, or until a wake (returned; a wake since the last sleep returns at
   * once), or until either signal aborts (undefined, as for the timer).
   */
  sleep(ms: number, signal: AbortSignal, gone?: AbortSignal): Promise<Wake | undefined> {
    const latched = this.latched;
    this.latched = undefined;
    if (latched) return Promise.resolve(latched);
    return new Promise((resolve) => {
      const done = (wake?: Wake) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        gone?.removeEventListener('abort', aborted);
        this.sleeper = undefined;
        resolve(wake);
      };
      const aborted = () => done();
      const timer = setTimeout(aborted, Math.max(1, ms));
      signal.addEventListener('abort', aborted, { once: true });
      gone?.addEventListener('abort', aborted, { once: true });
      this.sleeper = done;
      if (signal.aborted || gone?.aborted) done();
    });
  }

  /** Stops watching; idempotent. */
  close(): void {
    this.sleeper?.(undefined);
    this.release();
  }
}
