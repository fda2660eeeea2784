/**
 * One budget dimension as a bar: `used` of `cap`. Any dimension works (tool
 * calls, tokens, USD, wall clock), so new budgets show up without changes here.
 * Amber from 80 %, red at the cap; no cap shows the count alone.
 */
import { dimensionLabel, quantity } from '../format.js';
import type { BudgetUsage } from '../types.js';

export function BudgetBar({ usage, compact = false }: { usage: BudgetUsage; compact?: boolean }) {
  const { dimension, used, cap } = usage;
  const label = dimensionLabel(dimension);
  const text =
    cap === null
      ? `${quantity(dimension, used)} (no cap)`
      : `${quantity(dimension, used)} / ${quantity(dimension, cap)}`;
  if (cap === null || cap <= 0) {
    return (
      <div class={`budget ${compact ? 'budget-compact' : ''}`}>
        <span class="budget-label">{label}</span>
        <span class="budget-text">{text}</span>
      </div>
    );
  }
  const fraction = Math.min(1, used / cap);
  const level = fraction >= 1 ? 'over' : fraction >= 0.8 ? 'warn' : 'ok';
  return (
    <div class={`budget ${compact ? 'budget-compact' : ''}`}>
      <span class="budget-label">{label}</span>
      <div
        class={`budget-track budget-${level}`}
        role="progressbar"
        aria-label={`${label} used`}
        aria-valuemin={0}
        aria-valuemax={cap}
        aria-valuenow={Math.min(used, cap)}
        aria-valuetext={text}
      >
        <div class="budget-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
      </div>
      <span class="budget-text">{text}</span>
    </div>
  );
}
