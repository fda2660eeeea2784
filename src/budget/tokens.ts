/**
 * Token and spend budgets for the LLM proxy. A request reserves its input
 * estimate plus its (clamped) max_tokens before it is forwarded, and settles
 * to the real usage afterwards; reservations count against the budget while
 * they are open, so concurrent requests cannot overshoot together. Usage can
 * exceed a cap by at most one clamped response (the estimate may be low).
 */

export interface TokenAmounts {
  input: number;
  output: number;
  usd: number;
}

export interface TokenCaps {
  input?: number;
  output?: number;
  total?: number;
  usd?: number;
}

export type TokenReservation =
  | { ok: true; id: string; grantedOutput: number }
  | { ok: false; dimension: 'input' | 'output' | 'total' | 'usd'; used: number; cap: number };

export interface TokenUsage extends TokenAmounts {
  requests: number;
}

export interface TokenBudgetStore {
  reserve(
    runId: string,
    request: TokenAmounts,
    caps: TokenCaps,
    minOutput: number,
  ): Promise<TokenReservation>;
  /** Closes a reservation and charges what was really used (which may be less, or a little more). */
  settle(reservationId: string, actual: TokenAmounts): Promise<TokenUsage | undefined>;
  usage(runId: string): Promise<TokenUsage>;
}

/** Decides a reservation against caps from usage plus open reservations. Pure: both stores call it. */
export function decideReservation(
  committed: TokenAmounts,
  request: TokenAmounts,
  caps: TokenCaps,
  minOutput: number,
):
  | { ok: true; grantedOutput: number }
  | { ok: false; dimension: 'input' | 'output' | 'total' | 'usd'; used: number; cap: number } {
  if (caps.input !== undefined && committed.input + request.input > caps.input) {
    return { ok: false, dimension: 'input', used: committed.input, cap: caps.input };
  }
  if (caps.total !== undefined && committed.input + committed.output + request.input >= caps.total) {
    return { ok: false, dimension: 'total', used: committed.input + committed.output, cap: caps.total };
  }
  if (caps.usd !== undefined && committed.usd + request.usd > caps.usd) {
    return { ok: false, dimension: 'usd', used: committed.usd, cap: caps.usd };
  }
  let granted = request.output;
  if (caps.output !== undefined) granted = Math.min(granted, caps.output - committed.output);
  if (caps.total !== undefined)
    granted = Math.min(granted, caps.total - committed.input - committed.output - request.input);
  if (granted < minOutput) {
    const dimension =
      caps.output !== undefined && caps.output - committed.output < minOutput ? 'output' : 'total';
    return {
      ok: false,
      dimension,
      used: dimension === 'output' ? committed.output : committed.input + committed.output,
      cap: (dimension === 'output' ? caps.output : caps.total) as number,
    };
  }
  return { ok: true, grantedOutput: granted };
}
