/**
 * Call budgets: how many tool calls a run may make in all, per tool, and how
 * fast (a token bucket per tool). A reservation checks and charges in one
 * atomic store operation, so 100 racing calls against a cap of 10 execute
 * exactly 10 — also when they arrive through different gateway replicas.
 */
import type { Rate } from '../policy/schema/index.js';

export interface CallRequest {
  runId: string;
  tool: string;
  /** Total tool calls the run may make; none when undefined. */
  cap?: number;
  /** Calls of this tool the run may make. */
  toolCap?: number;
  /** Token bucket for this tool. */
  rate?: Rate;
  now: number;
}

export type CallReservation =
  | { ok: true; calls: number; toolCalls: number }
  | { ok: false; code: 'budget_exhausted'; scope: 'run' | 'tool'; calls: number }
  | { ok: false; code: 'rate_limited'; retryAfterMs: number };

export interface CallUsage {
  calls: number;
  perTool: Record<string, number>;
}

export interface CallBudgetStore {
  reserve(request: CallRequest): Promise<CallReservation>;
  usage(runId: string): Promise<CallUsage>;
}

/** The row key that holds a run's total. Exposed tool names never contain '*'. */
export const TOTAL = '*';

/** Refills a token bucket; returns the tokens now available. */
export function refill(tokens: number, lastMs: number, rate: Rate, now: number): number {
  return Math.min(rate.count, tokens + (Math.max(0, now - lastMs) * rate.count) / rate.perMs);
}

/** Fractions of a cap crossed by going from `before` to `after` calls: each reported once, by the call that crossed it. */
export function crossedThresholds(
  before: number,
  after: number,
  cap: number,
  thresholds: readonly number[],
): number[] {
  return thresholds.filter((t) => before < t * cap && after >= t * cap);
}
