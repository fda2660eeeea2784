/**
 * Token and spend budgets for the LLM proxy. A request reserves an upper
 * bound of its input plus its (clamped) max_tokens before it is forwarded,
 * and settles to the real usage afterwards; reservations count against the
 * budget while they are open, so concurrent requests cannot overshoot
 * together. `max_tokens` is clamped to what is left of the output, total and
 * USD caps. A reservation left open by a crash is settled, at what it
 * reserved, by the lease reconciliation of a live replica (`orphans`,
 * then `EventStore.appendSettling`).
 */
import type { Run } from '../runs/run.js';
import { quantizeUsd } from './thresholds.js';

export interface TokenAmounts {
  input: number;
  output: number;
  usd: number;
}

/** What a request asks to reserve. */
export interface TokenRequest extends TokenAmounts {
  /**
   * USD per output token. When given, `usd` is the price of the input side
   * only and the output is clamped to what the USD cap has left; when absent,
   * `usd` is the whole request's price.
   */
  usdPerOutput?: number;
  /** Recorded with the reservation, so a crash's leftovers can be reported by model. */
  model?: string;
}

export interface TokenCaps {
  input?: number;
  output?: number;
  total?: number;
  usd?: number;
}

export type TokenDimension = 'input' | 'output' | 'total' | 'usd';

export type TokenReservation =
  | { ok: true; id: string; grantedOutput: number }
  | { ok: false; dimension: TokenDimension; used: number; cap: number }
  /** `checked` was not the run as it is now: nothing was reserved. */
  | { ok: false; stale: true };

export interface TokenUsage extends TokenAmounts {
  requests: number;
}

/** A reservation a crash left open, settled at what it reserved. */
export interface ReconciledReservation extends TokenAmounts {
  id: string;
  runId: string;
  model: string | null;
  createdAt: number;
}

export interface TokenBudgetStore {
  /**
   * `checked`: the run as the caller read it from memory (`Store.rememberedRun`) and checked the
   * request against. The reservation is then made only if, under the write lock, nothing has
   * written the run since that object was read (so it is still active and its taint the same);
   * else `stale`, nothing reserved, and the caller reads the run and checks again. A store
   * without `rememberedRun` answers `stale` to any `checked`.
   */
  reserve(
    runId: string,
    request: TokenRequest,
    caps: TokenCaps,
    minOutput: number,
    checked?: Run,
  ): Promise<TokenReservation>;
  /** Closes a reservation and charges what was really used (which may be less, or a little more). */
  settle(reservationId: string, actual: TokenAmounts): Promise<TokenUsage | undefined>;
  usage(runId: string): Promise<TokenUsage>;
  /**
   * The open reservations nobody will settle: made by a replica that holds no lease (it
   * died), or without an owner before `before` (ms since the epoch). Read only: each is
   * settled at what it reserved, with its event, by `EventStore.appendSettling` (the API may
   * have billed the request whose answer was lost, so releasing it for free would let a
   * crash refund spend).
   */
  orphans(before: number): Promise<ReconciledReservation[]>;
}

export type Decision =
  | { ok: true; grantedOutput: number; usd: number }
  | { ok: false; dimension: TokenDimension; used: number; cap: number };

/** Decides a reservation against caps from usage plus open reservations. Pure: both stores call it. */
export function decideReservation(
  committed: TokenAmounts,
  request: TokenRequest,
  caps: TokenCaps,
  minOutput: number,
): Decision {
  if (caps.input !== undefined && committed.input + request.input > caps.input) {
    return { ok: false, dimension: 'input', used: committed.input, cap: caps.input };
  }
  if (caps.total !== undefined && committed.input + committed.output + request.input >= caps.total) {
    return { ok: false, dimension: 'total', used: committed.input + committed.output, cap: caps.total };
  }
  const perOutput = request.usdPerOutput;
  if (caps.usd !== undefined && committed.usd + request.usd > caps.usd) {
    return { ok: false, dimension: 'usd', used: committed.usd, cap: caps.usd };
  }
  let granted = request.output;
  let dimension: TokenDimension = 'output';
  const clamp = (left: number, d: TokenDimension) => {
    if (left < granted) {
      granted = left;
      dimension = d;
    }
  };
  if (caps.output !== undefined) clamp(caps.output - committed.output, 'output');
  if (caps.total !== undefined)
    clamp(caps.total - committed.input - committed.output - request.input, 'total');
  if (caps.usd !== undefined && perOutput !== undefined && perOutput > 0)
    clamp(Math.floor((caps.usd - committed.usd - request.usd) / perOutput), 'usd');
  if (granted < minOutput) {
    const used =
      dimension === 'output'
        ? committed.output
        : dimension === 'usd'
          ? committed.usd
          : committed.input + committed.output;
    return { ok: false, dimension, used, cap: caps[dimension] as number };
  }
  const usd = perOutput === undefined ? request.usd : quantizeUsd(request.usd + granted * perOutput);
  return { ok: true, grantedOutput: granted, usd };
}

/**
 * The first budget dimension with no room left for the smallest request
 * (one input and one output token, costing `minUsd`), if any: the run is
 * then `exhausted`, as when it runs out of tool calls.
 */
export function exhaustedDimension(
  used: TokenAmounts,
  caps: TokenCaps,
  minUsd: number,
): TokenDimension | undefined {
  if (caps.input !== undefined && used.input >= caps.input) return 'input';
  if (caps.output !== undefined && used.output >= caps.output) return 'output';
  if (caps.total !== undefined && used.input + used.output + 1 >= caps.total) return 'total';
  if (caps.usd !== undefined && caps.usd - used.usd < Math.max(minUsd, Number.EPSILON)) return 'usd';
  return undefined;
}
