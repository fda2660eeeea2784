/**
 * Threshold crossings for token and spend budgets. A crossing is reported by
 * the one settlement that crossed it, exactly once per threshold per
 * dimension, also across gateway replicas: settlements are serialised by the
 * store and each returns the usage right after its own charge, so the
 * intervals `(after - charged, after]` of two settlements never overlap and a
 * threshold lies in at most one of them.
 *
 * That argument needs `after - charged` to be exact. Token counts are
 * integers; USD amounts are kept exact by `quantizeUsd`.
 */
import type { TokenAmounts, TokenCaps } from './tokens.js';

export type TokenDimension = 'input_tokens' | 'output_tokens' | 'total_tokens' | 'usd';

export interface Crossing {
  dimension: TokenDimension;
  /** The alert fraction crossed, e.g. 0.8. */
  fraction: number;
  used: number;
  cap: number;
}

/** 2^-36 USD, about 1.5e-11 dollars. */
const USD_UNIT = 2 ** -36;

/**
 * Rounds a USD amount up to a multiple of 2^-36. Sums and differences of such
 * multiples are exact in a double below 2^17 USD (131,072 dollars per run), in SQLite REAL and
 * PostgreSQL DOUBLE PRECISION alike, so a settlement's "before" is exactly
 * `after - charged` and no threshold can be reported twice through rounding.
 */
export function quantizeUsd(usd: number): number {
  if (!Number.isFinite(usd) || usd <= 0) return 0;
  return Math.ceil(usd / USD_UNIT) * USD_UNIT;
}

/** Fractions of `cap` crossed going from `before` to `after`. */
function crossed(before: number, after: number, cap: number, alertAt: readonly number[]): number[] {
  return alertAt.filter((f) => before < f * cap && after >= f * cap);
}

/** The thresholds one settlement crossed, given the usage right after it and what it charged. */
export function tokenCrossings(
  after: TokenAmounts,
  charged: TokenAmounts,
  caps: TokenCaps,
  alertAt: readonly number[],
): Crossing[] {
  const out: Crossing[] = [];
  for (const [dimension, cap, used, delta] of dimensionsOf(caps, after, charged)) {
    if (cap === undefined || delta <= 0) continue;
    for (const fraction of crossed(used - delta, used, cap, alertAt)) {
      out.push({ dimension, fraction, used, cap });
    }
  }
  return out;
}

/**
 * Every threshold `used` has reached, crossed by whichever charge: what a run should have been
 * alerted of by now (the sweep after a crash, src/replicas/alert-sweep.ts).
 */
export function tokenThresholdsReached(
  used: TokenAmounts,
  caps: TokenCaps,
  alertAt: readonly number[],
): Crossing[] {
  const out: Crossing[] = [];
  for (const [dimension, cap, amount] of dimensionsOf(caps, used)) {
    if (cap === undefined || amount <= 0) continue;
    for (const fraction of crossed(-1, amount, cap, alertAt))
      out.push({ dimension, fraction, used: amount, cap });
  }
  return out;
}

/** Each dimension's cap, the amount used and what the last charge added to it. */
function dimensionsOf(
  caps: TokenCaps,
  used: TokenAmounts,
  charged: TokenAmounts = { input: 0, output: 0, usd: 0 },
): [TokenDimension, number | undefined, number, number][] {
  return [
    ['input_tokens', caps.input, used.input, charged.input],
    ['output_tokens', caps.output, used.output, charged.output],
    ['total_tokens', caps.total, used.input + used.output, charged.input + charged.output],
    ['usd', caps.usd, used.usd, charged.usd],
  ];
}
