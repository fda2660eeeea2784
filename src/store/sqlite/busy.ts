/**
 * A SQLite write lock held by another process must not freeze the gateway.
 * better-sqlite3 is synchronous, and SQLite's own busy handler sleeps inside
 * the call, blocking the event loop for the whole `busy_timeout`. So the
 * store runs with `busy_timeout = 0` (a locked database answers SQLITE_BUSY at
 * once) and each store operation is retried here, asynchronously, with
 * backoff, until a deadline; then it fails closed with `store_unavailable`.
 * A retried operation is whole: a transaction that met SQLITE_BUSY rolled back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BulkheadError } from '../../errors.js';

export interface BusyPolicy {
  /** How long one operation may wait for the lock in total. */
  deadlineMs: number;
  /** First pause between attempts; doubles up to `maxPauseMs`, with jitter. */
  firstPauseMs: number;
  maxPauseMs: number;
}

export const DEFAULT_BUSY: BusyPolicy = { deadlineMs: 2_000, firstPauseMs: 2, maxPauseMs: 100 };

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** What the store saw last: health reads this without touching the database. */
export interface BusyState {
  since: number | null;
  lastError: string | null;
}

export async function withRetry<T>(op: () => Promise<T>, policy: BusyPolicy, state: BusyState): Promise<T> {
  const started = Date.now();
  let pause = policy.firstPauseMs;
  for (;;) {
    try {
      const value = await op();
      state.since = null;
      state.lastError = null;
      return value;
    } catch (error) {
      if (!isBusy(error)) throw error;
      state.since ??= Date.now();
      state.lastError = 'the SQLite database is locked by another process';
      if (Date.now() - started + pause > policy.deadlineMs) {
        throw new BulkheadError(
          'store_unavailable',
          `the SQLite store stayed locked for ${Date.now() - started} ms (another process holds its write lock)`,
          { cause: error },
        );
      }
      await sleep(pause * (0.5 + Math.random()));
      pause = Math.min(policy.maxPauseMs, pause * 2);
    }
  }
}

/**
 * Wraps every method of a store area so each call is retried on SQLITE_BUSY.
 * Methods are async already; the wrapper keeps their signatures.
 */
export function retrying<T extends object>(area: T, policy: BusyPolicy, state: BusyState): T {
  const wrapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(area)) {
    wrapped[key] =
      typeof value === 'function'
        ? (...args: unknown[]) =>
            withRetry(
              () => Promise.resolve((value as (...a: unknown[]) => unknown).apply(area, args)),
              policy,
              state,
            )
        : value;
  }
  return wrapped as T;
}
