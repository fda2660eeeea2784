/**
 * Stage 5, budget & rate: reserve one call atomically before anything is
 * forwarded. A call counts when it passed validation, whatever happens after
 * (held, refused by flow, failed upstream): a refused attempt still cost the
 * agent a turn, and counting it keeps a looping agent from trying forever.
 * Running out of the run's total ends the run as `exhausted`: a runaway
 * becomes a clean abort, not a slow grind against refusals.
 */
import { raiseAlerts } from '../budget/alerts.js';
import { crossedThresholds } from '../budget/calls.js';
import { denial } from '../errors.js';
import type { EventWriter } from '../events/writer.js';
import type { Notifier } from '../notify/notifier.js';
import { faultPoint } from '../replicas/fault-point.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export function budgetStage(deps: {
  store: Store;
  runs: RunService;
  events: EventWriter;
  notifier: Notifier;
  now: () => number;
}): Stage {
  return async (call) => {
    const tool = call.tool;
    if (!tool) return CONTINUE;
    const budgets = call.profile.budgets;
    const perTool = budgets.per_tool[tool.exposed];
    const rate = perTool?.rate ?? tool.rule.rate;
    const cap = budgets.tool_calls;
    const outcome = await deps.store.calls.reserve({
      runId: call.run.id,
      tool: tool.exposed,
      ...(cap !== undefined ? { cap } : {}),
      ...(perTool?.calls !== undefined ? { toolCap: perTool.calls } : {}),
      ...(rate ? { rate } : {}),
      now: deps.now(),
    });
    if (outcome.ok) {
      if (cap === undefined) return CONTINUE;
      const crossed = crossedThresholds(outcome.calls - 1, outcome.calls, cap, budgets.alert_at);
      if (crossed.length === 0) return CONTINUE;
      // A crash here leaves the alert to the sweep at the next start (src/replicas/alert-sweep.ts).
      faultPoint('budget-crossed');
      const alerts = crossed.map((fraction) => ({
        dimension: 'tool_calls' as const,
        fraction,
        used: outcome.calls,
        cap,
      }));
      await raiseAlerts(deps, { id: call.run.id, profile: call.profileName }, alerts);
      return CONTINUE;
    }
    if (outcome.code === 'rate_limited') {
      const seconds = Math.max(1, Math.ceil(outcome.retryAfterMs / 1000));
      return deny(
        denial('rate_limited', `This tool's rate limit is reached; try again in ${seconds}s.`, {
          retry_after_ms: outcome.retryAfterMs,
        }),
      );
    }
    if (outcome.scope === 'tool') {
      return deny(
        denial('budget_exhausted', 'This run has used all the calls it may make to this tool.', {
          scope: 'tool',
        }),
      );
    }
    await deps.runs.end(call.run.id, 'exhausted', `tool call budget of ${cap} used`);
    return deny(
      denial('budget_exhausted', 'This run has used its tool call budget and has been stopped.', {
        scope: 'run',
      }),
    );
  };
}
