/**
 * After a request settles, a run with no room left for the smallest request
 * ends as `exhausted`, so a runaway agent stops cleanly instead of grinding
 * against refusals (the thresholds it crossed are alerted by src/budget/alerts.ts).
 */
import { exhaustedDimension, type TokenAmounts, type TokenCaps } from '../budget/tokens.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import { minRequestUsd } from './spend.js';
import type { Price } from './usage.js';

/** Ends the run as `exhausted` when a budget has no room left for the smallest request. */
export async function endIfExhausted(
  deps: { store: Store; runs: Pick<RunService, 'end'> },
  run: Pick<Run, 'id'>,
  caps: TokenCaps,
  price: Price | undefined,
  used?: TokenAmounts,
): Promise<void> {
  const usage = used ?? (await deps.store.tokens.usage(run.id));
  const dimension = exhaustedDimension(usage, caps, minRequestUsd(price));
  if (!dimension) return;
  const what = dimension === 'usd' ? 'spend (USD)' : `${dimension} token`;
  // In-flight requests keep going (they were within budget); only new ones are refused.
  await deps.runs.end(run.id, 'exhausted', `${what} budget used`);
}
