/**
 * A run's usage against every budget of its profile, for display (`bulkhead
 * runs`, the API, the dashboard). Every dimension is listed, capped or not:
 * `cap: null` means the profile sets no limit there, never "zero allowed".
 */
import type { Budgets } from '../policy/schema/profile.js';
import type { CallUsage } from './calls.js';
import type { TokenUsage } from './tokens.js';

export type BudgetDimension =
  | 'tool_calls'
  | 'wall_clock'
  | 'input_tokens'
  | 'output_tokens'
  | 'total_tokens'
  | 'usd';

export interface DimensionUsage {
  dimension: BudgetDimension;
  used: number;
  cap: number | null;
  /** Set for a per-tool call cap: the exposed tool name. */
  tool?: string;
}

export interface UsageInput {
  /** The profile's budgets; undefined when the profile is gone from the policy. */
  budgets: Budgets | undefined;
  calls: CallUsage;
  tokens: TokenUsage;
  run: { createdAt: number; expiresAt: number; endedAt: number | null };
  now: number;
}

export function budgetUsage({ budgets, calls, tokens, run, now }: UsageInput): DimensionUsage[] {
  const t = budgets?.tokens;
  const rows: DimensionUsage[] = [
    { dimension: 'tool_calls', used: calls.calls, cap: budgets?.tool_calls ?? null },
    {
      dimension: 'wall_clock',
      used: Math.max(0, (run.endedAt ?? now) - run.createdAt),
      cap: run.expiresAt - run.createdAt,
    },
    { dimension: 'input_tokens', used: tokens.input, cap: t?.input ?? null },
    { dimension: 'output_tokens', used: tokens.output, cap: t?.output ?? null },
    { dimension: 'total_tokens', used: tokens.input + tokens.output, cap: t?.total ?? null },
    { dimension: 'usd', used: tokens.usd, cap: budgets?.usd ?? null },
  ];
  const tools = new Set([...Object.keys(calls.perTool), ...Object.keys(budgets?.per_tool ?? {})]);
  for (const tool of [...tools].sort()) {
    rows.push({
      dimension: 'tool_calls',
      tool,
      used: calls.perTool[tool] ?? 0,
      cap: budgets?.per_tool[tool]?.calls ?? null,
    });
  }
  return rows;
}
