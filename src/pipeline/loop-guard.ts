/**
 * Loop guard (part of stage 5): an agent that repeats the same call, or keeps
 * hitting a failing tool, is stuck or being steered; letting it continue burns
 * budget and hammers the upstream. N identical calls (same tool, same
 * canonical arguments) within a window, or M consecutive upstream errors from
 * one tool, trip `loop_detected`; the profile chooses whether that refuses
 * the call or ends the run.
 *
 * The windows live in this gateway's memory: with several replicas each
 * counts what it sees, which can only delay detection, never wrongly refuse.
 */
import { createHash } from 'node:crypto';
import { denial } from '../errors.js';
import type { RunService } from '../runs/service.js';
import { canonicalJson } from '../util/canonical.js';
import type { Finalizer } from './pipeline.js';
import { CONTINUE, deny, type Stage } from './stage.js';

/**
 * The distinct calls one run's window remembers, most recently made last: past it the one made
 * longest ago is forgotten. A loop repeats within far fewer distinct calls than this; a repeat
 * after more than this many others is not counted (detection can only be missed, never wrongly
 * refused). Without the bound a busy run kept every call of its window: about 50,000 keys and
 * 10 MB of heap per gateway at 700 calls/s in `bench/soak.bench.ts` (its plateau).
 */
export const MAX_CALLS_KEPT = 1_000;

interface RunWindow {
  /**
   * Times of each distinct call within the window: one number for a call seen once (the common
   * case: most agents never repeat themselves), an array once it repeats. Keys are a 128-bit
   * digest of the tool and its arguments (`callKey`), at most `MAX_CALLS_KEPT` of them.
   */
  calls: Map<string, number | number[]>;
  errors: Map<string, number>;
  lastSeen: number;
  /** When keys whose calls all left the window are next dropped. */
  pruneAt: number;
}

export class LoopGuard {
  private readonly windows = new Map<string, RunWindow>();

  constructor(private readonly deps: { runs: RunService; now: () => number }) {}

  /** Answers at once unless the run is to be ended (no promise per call otherwise). */
  readonly stage: Stage = (call) => {
    const tool = call.tool;
    if (!tool || !call.args) return CONTINUE;
    const guard = call.profile.loop_guard;
    const now = this.deps.now();
    const window = this.window(call.run.id, now);
    if (now >= window.pruneAt) prune(window, now, guard.window);
    const key = callKey(tool.exposed, call.args);
    const seen = window.calls.get(key);
    const recent =
      seen === undefined
        ? []
        : (typeof seen === 'number' ? [seen] : seen).filter((t) => t > now - guard.window);
    recent.push(now);
    // Re-inserted, so the Map's order is least recently made first and a repeating call stays.
    if (seen !== undefined) window.calls.delete(key);
    window.calls.set(key, recent.length === 1 ? now : recent);
    if (window.calls.size > MAX_CALLS_KEPT) {
      const oldest = window.calls.keys().next();
      if (!oldest.done) window.calls.delete(oldest.value);
    }
    const errors = window.errors.get(tool.exposed) ?? 0;
    const reason =
      recent.length > guard.identical_calls
        ? `the same call was made ${recent.length} times within ${Math.round(guard.window / 1000)}s`
        : errors >= guard.consecutive_errors
          ? `the tool failed ${errors} times in a row`
          : undefined;
    if (!reason) return CONTINUE;
    const refused = deny(
      denial(
        'loop_detected',
        guard.action === 'kill'
          ? `This run was stopped: ${reason}.`
          : `Refused: ${reason}. Change approach instead of repeating the call.`,
      ),
    );
    if (guard.action !== 'kill') return refused;
    return this.deps.runs.end(call.run.id, 'exhausted', `loop detected: ${reason}`).then(() => refused);
  };

  /** Counts consecutive upstream errors per tool; a success resets the count. */
  readonly finalizer: Finalizer = {
    name: 'loop-guard',
    run: (call, outcome) => {
      const tool = call.tool;
      if (!tool || call.upstreamMs === undefined) return undefined;
      const window = this.window(call.run.id, this.deps.now());
      const failed = outcome.decision === 'deny' || call.result?.isError === true;
      window.errors.set(tool.exposed, failed ? (window.errors.get(tool.exposed) ?? 0) + 1 : 0);
      return undefined;
    },
  };

  forget(runId: string): void {
    this.windows.delete(runId);
  }

  private window(runId: string, now: number): RunWindow {
    let window = this.windows.get(runId);
    if (!window) {
      window = { calls: new Map(), errors: new Map(), lastSeen: now, pruneAt: now };
      this.windows.set(runId, window);
    }
    window.lastSeen = now;
    return window;
  }
}

/**
 * A call's key: 128 bits of SHA-256 over the tool's name and its canonical arguments (JSON never
 * holds a raw NUL, so the pair reads back one way), as 22 base64url characters. A flat string of
 * its own: a template of the tool and a slice of the hex digest was a cons of a slice that kept
 * the whole 64-character digest, about 180 bytes a key where this is about 40.
 */
export function callKey(tool: string, args: unknown): string {
  return createHash('sha256')
    .update(tool)
    .update('\0')
    .update(canonicalJson(args))
    .digest()
    .toString('base64url', 0, 16);
}

/**
 * Drops the keys of argument sets not seen within the window. Without it a
 * run that never repeats itself (the common case) kept one key per call for
 * as long as it lived. Runs every quarter window, so a key outlives its
 * window by at most a quarter of it, and the cost per call stays constant
 * (each pass reads at most five calls' worth of keys per call since the last).
 */
function prune(window: RunWindow, now: number, windowMs: number): void {
  const cutoff = now - windowMs;
  for (const [key, times] of window.calls) {
    const last = typeof times === 'number' ? times : (times[times.length - 1] ?? 0);
    if (last <= cutoff) window.calls.delete(key);
  }
  window.pruneAt = now + windowMs / 4;
}
