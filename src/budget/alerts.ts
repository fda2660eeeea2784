/**
 * Budget alerts: a run reaching a fraction of one of its budgets (the profile's `alert_at`) is
 * recorded as a `budget.alert` event and told to the notifier, once per run, dimension and
 * fraction. The store gates each alert (`EventStore.appendAlerting`), so the paths that may
 * raise one — the call or request that crossed it, a replica settling a dead one's leftovers,
 * the sweep after a crash (src/replicas/alert-sweep.ts) — never alert a threshold twice between them, and a
 * crash between a charge and its alert leaves the alert to the sweep instead of losing it.
 */
import type { EventWriter } from '../events/writer.js';
import type { Notifier } from '../notify/notifier.js';
import type { Run } from '../runs/run.js';
import type { TokenDimension } from './thresholds.js';

export type AlertDimension = 'tool_calls' | TokenDimension;

export interface BudgetAlert {
  dimension: AlertDimension;
  /** The alert fraction reached, e.g. 0.8. */
  fraction: number;
  used: number;
  cap: number;
}

export interface AlertDeps {
  events: EventWriter;
  notifier?: Notifier | undefined;
}

/**
 * Records and notifies each alert not raised for the run before; `recovered` marks those raised
 * after a crash, not by the charge that reached them. Resolves how many were new.
 */
export async function raiseAlerts(
  deps: AlertDeps,
  run: Pick<Run, 'id' | 'profile'>,
  alerts: readonly BudgetAlert[],
  recovered = false,
): Promise<number> {
  let raised = 0;
  for (const alert of alerts) {
    const written = await deps.events.writeAlert(
      {
        kind: 'budget.alert',
        runId: run.id,
        code: alert.dimension,
        actor: 'system',
        data: { ...alert, ...(recovered ? { recovered: true } : {}) },
      },
      { runId: run.id, dimension: alert.dimension, fraction: alert.fraction },
    );
    if (!written) continue;
    raised++;
    deps.notifier?.send({
      kind: 'budget.alert',
      title: `Run ${run.id} used ${Math.round(alert.fraction * 100)}% of its ${label(alert.dimension)} budget (${amount(alert)})`,
      data: { run_id: run.id, profile: run.profile, ...alert },
    });
  }
  return raised;
}

function label(dimension: AlertDimension): string {
  return dimension === 'tool_calls' ? 'tool-call' : dimension.replace('_', ' ');
}

function amount(a: BudgetAlert): string {
  return a.dimension === 'usd' ? `$${a.used.toFixed(2)} of $${a.cap}` : `${a.used}/${a.cap}`;
}
