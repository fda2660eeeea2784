/**
 * A run as operators see it (`/api/runs`, `bulkhead runs`, the dashboard):
 * its state, taint, tool calls by decision, and usage against each budget of
 * its profile. A view of stored values only; it never carries the run token.
 */
import { type DecisionCounts, emptyCounts } from '../events/stats.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { Store } from '../store/store.js';

export interface Usage {
  dimension: 'tool_calls' | 'wall_clock' | 'input_tokens' | 'output_tokens' | 'total_tokens' | 'usd';
  used: number;
  cap: number | null;
}

export interface RunView {
  id: string;
  profile: string;
  state: Run['state'];
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
  exit_code: number | null;
  label: string | null;
  taint: Run['taint'];
  usage: Usage[];
  /** Tool calls by decision: a run refused ten times is not "clean", whatever its taint. */
  calls: DecisionCounts;
}

/** A run as operators see it, with its usage against each budget of its profile. */
export async function runView(
  run: Run,
  policy: Policy,
  store: Store,
  now = Date.now(),
  counts?: DecisionCounts,
): Promise<RunView> {
  const budgets = policy.profiles[run.profile]?.budgets;
  const [calls, tokens] = await Promise.all([store.calls.usage(run.id), store.tokens.usage(run.id)]);
  return {
    id: run.id,
    profile: run.profile,
    state: run.state,
    created_at: run.createdAt,
    expires_at: run.expiresAt,
    ended_at: run.endedAt,
    end_reason: run.endReason,
    exit_code: run.exitCode,
    label: run.label,
    taint: run.taint,
    calls: counts ?? (await store.stats.decisionsByRun([run.id])).get(run.id) ?? emptyCounts(),
    usage: [
      { dimension: 'tool_calls', used: calls.calls, cap: budgets?.tool_calls ?? null },
      {
        dimension: 'wall_clock',
        used: (run.endedAt ?? now) - run.createdAt,
        cap: run.expiresAt - run.createdAt,
      },
      // LLM usage as settled (cache tokens weighted as the budget counts them); open requests are not in it yet.
      { dimension: 'input_tokens', used: tokens.input, cap: budgets?.tokens?.input ?? null },
      { dimension: 'output_tokens', used: tokens.output, cap: budgets?.tokens?.output ?? null },
      ...(budgets?.tokens?.total !== undefined
        ? [
            {
              dimension: 'total_tokens' as const,
              used: tokens.input + tokens.output,
              cap: budgets.tokens.total,
            },
          ]
        : []),
      { dimension: 'usd', used: tokens.usd, cap: budgets?.usd ?? null },
    ],
  };
}
