/**
 * The alerts a crash lost. A charge and its alert are two writes: a gateway killed between
 * them (a tool call's reservation committed, an LLM request settled) leaves a run past a
 * threshold with no `budget.alert`, and nobody would raise it later, since alerts are raised
 * by the charge that crosses. So whenever a replica retires a dead one (its own predecessor
 * at start, or a peer whose lease lapsed), it sweeps: every active run is alerted of each
 * threshold its usage has reached, unless that was alerted already (the store gates each, see
 * src/budget/alerts.ts), marked `recovered`. A run whose LLM budget such a settlement used up is ended
 * as `exhausted`, as the live settlement would have.
 *
 * Thresholds are read against the policy as it is now: a cap changed by a reload since the
 * charge is the cap the run is held to.
 */
import { type BudgetAlert, raiseAlerts } from '../budget/alerts.js';
import { tokenThresholdsReached } from '../budget/thresholds.js';
import type { EventWriter } from '../events/writer.js';
import { endIfExhausted } from '../llm/budget-alerts.js';
import { capsOf } from '../llm/spend.js';
import type { Notifier } from '../notify/notifier.js';
import type { Policy } from '../policy/schema/index.js';
import type { Run } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';

export interface SweepDeps {
  store: Store;
  /** Live: a reload replaces its sections in place. */
  policy: Policy;
  events: EventWriter;
  notifier?: Notifier | undefined;
  runs: Pick<RunService, 'end'>;
}

/** Far more runs than one gateway keeps active; the sweep reads each one's usage. */
const MAX_RUNS = 100_000;

/** Raises the alerts active runs are owed; resolves how many it raised. */
export async function sweepAlerts(deps: SweepDeps): Promise<number> {
  let raised = 0;
  for (const run of await deps.store.runs.list({ state: 'active', limit: MAX_RUNS })) {
    raised += await sweepRun(deps, run);
  }
  return raised;
}

async function sweepRun(deps: SweepDeps, run: Run): Promise<number> {
  const budgets = deps.policy.profiles[run.profile]?.budgets;
  if (!budgets || budgets.alert_at.length === 0) return 0;
  const alerts: BudgetAlert[] = [];
  const callCap = budgets.tool_calls;
  if (callCap !== undefined) {
    const { calls } = await deps.store.calls.usage(run.id);
    for (const fraction of budgets.alert_at) {
      if (calls > 0 && calls >= fraction * callCap) {
        alerts.push({ dimension: 'tool_calls', fraction, used: calls, cap: callCap });
      }
    }
  }
  const caps = capsOf(budgets);
  const tokenCapped = Object.keys(caps).length > 0;
  const used = tokenCapped ? await deps.store.tokens.usage(run.id) : undefined;
  if (used) alerts.push(...tokenThresholdsReached(used, caps, budgets.alert_at));
  const raised = alerts.length > 0 ? await raiseAlerts(deps, run, alerts, true) : 0;
  if (used) await endIfExhausted({ store: deps.store, runs: deps.runs }, run, caps, undefined, used);
  return raised;
}
