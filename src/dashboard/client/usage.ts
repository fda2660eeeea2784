/**
 * A run's budget usage for display. The server's figures are the truth; the
 * wall clock alone is advanced locally between updates, since it changes every
 * second without any event. Any further dimension the run view carries
 * (tokens, USD) is shown as it comes.
 */
import type { BudgetUsage, RunView } from './types.js';

export function liveUsage(run: RunView, now: number): BudgetUsage[] {
  const usage = (run.usage ?? []) as BudgetUsage[];
  return usage.map((u) =>
    u.dimension === 'wall_clock' && run.state === 'active'
      ? { ...u, used: Math.max(u.used, now - run.created_at) }
      : u,
  );
}
