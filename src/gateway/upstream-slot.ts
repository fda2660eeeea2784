/**
 * One upstream's place in the pool (upstream-pool.ts): its connection, its
 * state and recent history (what health reports), and the handles a policy
 * reload passes around while it prepares or retires one.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from '../policy/schema/index.js';
import type { Containment } from './parent-death.js';
import type { UpstreamConnection } from './upstream-client.js';

export type UpstreamState = 'starting' | 'ready' | 'down' | 'stopped';

export interface UpstreamStatus {
  name: string;
  state: UpstreamState;
  tools: number;
  restarts: number;
  /** The last failure seen, kept after it healed (with `restarts`, the upstream's recent history). */
  lastError: string | null;
  /** When `lastError` happened (ms since epoch). */
  lastErrorAt: number | null;
  /** `required: true` in the policy: the gateway does not start without it. */
  required: boolean;
  /** `required: false` in the policy: readiness does not wait for it either. */
  optional: boolean;
  /** When it stopped being ready (ms since epoch); null while ready. */
  downSince: number | null;
  pid: number | null;
  /** How a stdio upstream dies with the gateway (parent-death.ts); null for HTTP or before its first start. */
  containment: ContainmentView | null;
}

/** What health says of a stdio upstream's containment: the mode, and why not the strongest. */
export type ContainmentView =
  | { mode: 'pid-namespace' }
  | { mode: 'parent-death'; reason: string; sweep: boolean }
  | { mode: 'none'; reason: string };

export function containmentView(how: Containment): ContainmentView {
  return how.mode === 'pid-namespace' ? { mode: how.mode } : how;
}

/** An upstream a reload took out of the pool; it still serves the calls that started on it. */
export interface RetiredUpstream {
  readonly name: string;
  /** @internal */
  readonly slot: unknown;
}

/** An upstream started by a reload but not yet serving: the reload installs it, or discards it. */
export interface PreparedUpstream {
  readonly name: string;
  /** @internal */
  readonly slot: unknown;
}

/** How many stderr lines of an upstream are kept to explain a failed start. */
export const STDERR_TAIL = 5;

export interface Slot {
  name: string;
  config: UpstreamConfig;
  state: UpstreamState;
  connection: UpstreamConnection | null;
  tools: Tool[];
  restarts: number;
  attempt: number;
  /** When the current connection became ready: the backoff resets only after it stayed up. */
  upSince: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  timer: NodeJS.Timeout | null;
  stderrTail: string[];
  /** Calls currently running on this slot's connection (a reload waits for them before stopping it). */
  inflight: number;
  /** Taken out of the pool by a reload: never restarted, never reported to the catalog again. */
  retired: boolean;
  downSince: number | null;
  /** A connection being set up: closed if the start times out, so no child outlives it. */
  pendingConnection: UpstreamConnection | null;
  /** A re-initialisation under way, shared by every call that found the session lost. */
  healing: Promise<boolean> | null;
  /** Re-listings under way after a `list_changed`, by what changed (see `coalesced`). */
  relisting: Map<string, { running: Promise<void>; again: boolean }>;
  /** How its last stdio start was tied to the gateway. */
  containment: Containment | null;
}

export function newSlot(name: string, config: UpstreamConfig): Slot {
  return {
    name,
    config,
    state: 'starting',
    connection: null,
    tools: [],
    restarts: 0,
    attempt: 0,
    upSince: null,
    lastError: null,
    lastErrorAt: null,
    timer: null,
    stderrTail: [],
    inflight: 0,
    retired: false,
    downSince: null,
    pendingConnection: null,
    healing: null,
    relisting: new Map(),
    containment: null,
  };
}

/** What health reports of a slot. */
export function statusOf(s: Slot): UpstreamStatus {
  return {
    name: s.name,
    state: s.state,
    tools: s.tools.length,
    restarts: s.restarts,
    lastError: s.lastError,
    lastErrorAt: s.lastErrorAt,
    required: s.config.required === true,
    optional: s.config.required === false,
    downSince: s.downSince,
    pid: s.connection?.pid() ?? null,
    containment: s.containment ? containmentView(s.containment) : null,
  };
}

/** The slot is down for `reason` (already scrubbed); `downSince` keeps the first failure of a streak. */
export function markDown(slot: Slot, reason: string): void {
  if (slot.state === 'ready' || slot.downSince === null) slot.downSince = Date.now();
  slot.state = 'down';
  slot.lastError = reason;
  slot.lastErrorAt = Date.now();
}

/** How long an upstream must stay up before its restart backoff starts over. */
export const STABLE_MS = 60_000;

/**
 * The wait before the slot's next restart, counted as an attempt. An upstream that starts, then
 * dies within STABLE_MS keeps backing off (a crash loop is not restarted every few hundred ms
 * forever); one that stayed up starts over at the first delay.
 */
export function nextRestartDelay(slot: Slot, backoff: { initialMs: number; maxMs: number }): number {
  if (slot.upSince !== null && Date.now() - slot.upSince >= STABLE_MS) slot.attempt = 0;
  slot.upSince = null;
  const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** slot.attempt);
  slot.attempt++;
  return delay;
}

/** The least time between two runs of one coalesced re-listing. */
export const RELIST_GAP_MS = 50;

/**
 * Runs `work` for one kind of change on a slot, coalesced: one run at a time, at most one per
 * RELIST_GAP_MS (or four times the last run's duration, if longer), and changes announced
 * meanwhile queue one more run (which sees them), however many were announced. An upstream
 * flooding `list_changed` had the gateway re-list, rebuild and tell every agent session once
 * per notification.
 */
export function coalesced(slot: Slot, what: string, work: () => Promise<void>): Promise<void> {
  const current = slot.relisting.get(what);
  if (current) {
    current.again = true;
    return current.running;
  }
  const state = { running: Promise.resolve(), again: false };
  const run = async () => {
    do {
      state.again = false;
      const started = Date.now();
      await work();
      // Work that takes long (compiling expensive schemas) waits four times as long before the
      // next run: a flood keeps a re-listing to a fifth of the gateway's time at most.
      const gap = Math.max(RELIST_GAP_MS, 4 * (Date.now() - started));
      await new Promise((resolve) => setTimeout(resolve, gap).unref());
    } while (state.again);
  };
  state.running = run().finally(() => slot.relisting.delete(what));
  slot.relisting.set(what, state);
  return state.running;
}
