/**
 * Token reservations a crash left open (the gateway died while a request was
 * in flight) are settled at what they reserved, and each gets an
 * `llm.request` event with code `outcome_unknown`, so the audit log holds
 * every request the LLM API may have seen, and no reservation stays counted
 * as open forever. Settled at the reserved amount rather than released: the
 * API may have billed the work whose answer was lost.
 *
 * Each settlement and its event are one transaction
 * (`EventStore.appendSettling`): a crash between them could otherwise leave
 * the reservation charged and closed with no event, and nobody would settle
 * it again (test/faults/reconcile-crash.test.ts, fault point
 * `reservation-settled`).
 *
 * A reservation belongs to the replica that made it. Run at every lease
 * heartbeat (src/replicas/lease.ts): those of a replica that holds no lease
 * (killed, lapsed) are settled within seconds by any live replica, those of a
 * live replica never; the store settles each once however many replicas
 * reconcile at the same moment. Rows from before owners were recorded are
 * taken once older than `PG_STALE_MS` on PostgreSQL (at once on SQLite).
 */
import { raiseAlerts } from '../budget/alerts.js';
import { tokenCrossings } from '../budget/thresholds.js';
import type { ReconciledReservation } from '../budget/tokens.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { Policy } from '../policy/schema/index.js';
import { faultPoint } from '../replicas/fault-point.js';
import type { RunService } from '../runs/service.js';
import type { Store } from '../store/store.js';
import { endIfExhausted } from './budget-alerts.js';
import { own } from './server-tool-fees.js';
import { capsOf } from './spend.js';

export const PG_STALE_MS = 15 * 60_000;

export async function reconcileReservations(
  store: Store,
  policy: Policy,
  deps: SettledDeps,
  logger: Logger,
  now = Date.now(),
): Promise<number> {
  const before = 'postgres' in policy.store ? now - PG_STALE_MS : now;
  let settled = 0;
  // Rows are never changed while open, so what is read here is what the settlement charges.
  for (const r of await store.tokens.orphans(before)) {
    const written = await deps.events.writeSettling(
      {
        kind: 'llm.request',
        runId: r.runId,
        decision: 'allow',
        code: 'outcome_unknown',
        actor: 'system',
        data: {
          model: r.model,
          reservation: r.id,
          charged_input: r.input,
          output_tokens: r.output,
          usd: r.usd,
          reserved_at: r.createdAt,
        },
      },
      { id: r.id, before },
    );
    if (!written) continue;
    faultPoint('reservation-settled');
    settled++;
    await afterSettled(store, policy, deps, r).catch((error: unknown) =>
      logger.error(
        { err: error, runId: r.runId },
        'budget alerts or the exhaustion of a settled LLM request could not be recorded',
      ),
    );
  }
  if (settled)
    logger.warn({ count: settled }, 'LLM requests left open by a crash were settled at what they reserved');
  return settled;
}

/** What settling a leftover writes to and tells. */
export interface SettledDeps {
  events: EventWriter;
  notifier?: Notifier | undefined;
  runs: Pick<RunService, 'end'>;
}

/**
 * The thresholds a crash's leftover crossed when it was charged, alerted, and the run ended as
 * `exhausted` if nothing is left, as after a live request (settlement.ts): until 4 Dec a run
 * whose budget a request cut by a crash used up raised no alert and stayed active. Read after
 * the charge, so a request of the same run settled on another replica in between can see the
 * same crossing: the store's alert gate (src/budget/alerts.ts) lets only one of them write it.
 */
async function afterSettled(
  store: Store,
  policy: Policy,
  deps: SettledDeps,
  r: ReconciledReservation,
): Promise<void> {
  const run = await store.runs.get(r.runId);
  const budgets = run && policy.profiles[run.profile]?.budgets;
  if (!run || !budgets) return;
  const after = await store.tokens.usage(r.runId);
  const caps = capsOf(budgets);
  await raiseAlerts(deps, run, tokenCrossings(after, r, caps, budgets.alert_at));
  if (run.state !== 'active') return;
  const price = r.model === null ? undefined : own(policy.llm?.prices ?? {}, r.model);
  await endIfExhausted({ store, runs: deps.runs }, run, caps, price, after);
}
