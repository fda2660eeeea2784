/**
 * After a request settles: budget thresholds it crossed are recorded and
 * notified (once each), and a run with no room left for the smallest request
 * ends as `exhausted`, so a runaway agent stops cleanly instead of grinding
 * against refusals.
 */
import type { Crossing } from '../budget/thresholds.js';
import { exhaustedDimension, type TokenAmounts, type TokenCaps } from '../budget/tokens.js';
import type { EventWriter } from '../events/writer.js';
import type { Notifier } from '../notify/notifier.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import { minRequestUsd } from './spend.js';
import type { Price } from './usage.js';

function formatAmount(c: Crossing): string {
  return c.dimension === 'usd' ? `$${c.used.toFixed(2)} of $${c.cap}` : `${c.used}/${c.cap}`;
}

/** Also by the reconciler, for a reservation a crash left open (reconcile.ts): so no proxy context. */
export async function alertCrossings(
  deps: { events: EventWriter; notifier?: Notifier | undefined },
  run: Pick<Run, 'id' | 'profile'>,
  crossings: Crossing[],
): Promise<void> {
  for (const crossing of crossings) {
    await deps.events.write({
      kind: 'budget.alert',
      runId: run.id,
      code: crossing.dimension,
      actor: 'system',
      data: { ...crossing },
    });
    deps.notifier?.send({
      kind: 'budget.alert',
      title: `Run ${run.id} used ${Math.round(crossing.fraction * 100)}% of its ${crossing.dimension.replace('_', ' ')} budget (${formatAmount(crossing)})`,
      data: { run_id: run.id, profile: run.profile, ...crossing },
    });
  }
}

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
