/**
 * The agent's own `count_tokens` costs its run nothing, so without a limit a steered agent can
 * call it endlessly: each call sends a prompt to the API on the organisation's key and spends its
 * rate limit (every other run on the key then meets 429s), and none of it shows in a budget. So a
 * run may make at most PER_MINUTE counts in any minute and have at most OPEN of them in flight;
 * past either it gets the API's own 429 (`rate_limit_error`, with `retry-after`), which the SDKs
 * already handle.
 *
 * Kept in memory, per gateway process: with two replicas a run may count up to twice as often.
 * What is kept stays bounded: a run's entry is dropped once its minute has passed with nothing
 * in flight (swept when the table grows past SWEEP_AT).
 */

export const COUNTS_PER_MINUTE = 60;
export const COUNTS_OPEN = 4;
const MINUTE_MS = 60_000;
const SWEEP_AT = 1024;

interface RunCounts {
  /** When each count of the last minute started, oldest first. */
  started: number[];
  open: number;
}

/** A count may start (`release` when it ends), or must wait `retryAfterS` seconds. */
export type CountAdmission = { ok: true; release: () => void } | { ok: false; retryAfterS: number };

export class CountLimiter {
  private readonly runs = new Map<string, RunCounts>();

  constructor(private readonly now: () => number = Date.now) {}

  admit(runId: string): CountAdmission {
    const now = this.now();
    if (this.runs.size > SWEEP_AT) this.sweep(now);
    let counts = this.runs.get(runId);
    if (!counts) {
      counts = { started: [], open: 0 };
      this.runs.set(runId, counts);
    }
    while (counts.started.length > 0 && counts.started[0]! <= now - MINUTE_MS) counts.started.shift();
    if (counts.open >= COUNTS_OPEN) return { ok: false, retryAfterS: 1 };
    if (counts.started.length >= COUNTS_PER_MINUTE) {
      const wait = counts.started[0]! + MINUTE_MS - now;
      return { ok: false, retryAfterS: Math.max(1, Math.ceil(wait / 1000)) };
    }
    counts.started.push(now);
    counts.open++;
    const held = counts;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        held.open--;
      },
    };
  }

  /** How many runs are kept (for tests of the bound). */
  get size(): number {
    return this.runs.size;
  }

  private sweep(now: number): void {
    for (const [runId, counts] of this.runs)
      if (counts.open === 0 && (counts.started.at(-1) ?? 0) <= now - MINUTE_MS) this.runs.delete(runId);
  }
}
