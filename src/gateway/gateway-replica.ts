/**
 * This replica among the others (gateway.ts): its lease, whose start reconciles the work of
 * replicas that died, then the audit checkpoints, anchored outside the store.
 */
import type { ApprovalService } from '../approvals/service.js';
import { anchorPath } from '../events/anchor.js';
import { AuditCheckpoints } from '../events/checkpoints.js';
import type { EventWriter } from '../events/writer.js';
import { reconcileReservations } from '../llm/reconcile.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import type { Policy } from '../policy/schema/index.js';
import type { SecretSource } from '../policy/secrets.js';
import { sweepAlerts } from '../replicas/alert-sweep.js';
import { ReplicaLease } from '../replicas/lease.js';
import type { StoreClock } from '../replicas/store-clock.js';
import type { RunService } from '../runs/service.js';
import { storeLocation } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { GatewayOptions } from './gateway-types.js';
import { bulkheadHome } from './local-home.js';

export interface ReplicaParts {
  policy: Policy;
  source: SecretSource;
  store: Store;
  events: EventWriter;
  approvals: ApprovalService;
  /** Ends a run whose budget a crash's leftover used up (llm/reconcile.ts). */
  runs: RunService;
  logger: Logger;
  notifier: Notifier;
  clock: StoreClock;
}

export async function startReplica(
  options: GatewayOptions,
  { policy, source, store, events, approvals, runs, logger, notifier, clock }: ReplicaParts,
): Promise<{ lease: ReplicaLease; audit: AuditCheckpoints }> {
  // The lease first, then reconciliation: work of replicas that died (kill -9, lost host)
  // becomes outcome_unknown; work of live replicas is theirs and is left alone.
  const lease = new ReplicaLease(
    {
      store,
      events,
      approvals,
      logger,
      notifier,
      // LLM reservations of dead replicas are settled with their calls and approvals.
      reservations: () => reconcileReservations(store, policy, { events, notifier, runs }, logger),
      // Budget alerts a dead replica's charges reached but it never wrote.
      alerts: () => sweepAlerts({ store, policy, events, notifier, runs }),
      // Notices dead replicas kept but never delivered.
      ...(notifier.recover ? { notices: notifier.recover } : {}),
      ...(options.now ? {} : { clock }),
    },
    options.lease,
  );
  await lease.start();
  const audit = new AuditCheckpoints({
    store: store.events,
    events,
    logger,
    notifier,
    ...(options.checkpointMs !== undefined ? { intervalMs: options.checkpointMs } : {}),
    ...(anchorFor(policy, source, options.home) ?? {}),
  });
  await audit.start();
  return { lease, audit };
}

/** The audit anchor outside the store, in the gateway's home (none for an in-memory store). */
function anchorFor(
  policy: Policy,
  source: SecretSource,
  home: string | undefined,
): { anchor: { file: string; store: string } } | undefined {
  const store = storeLocation(policy, source);
  if (store === ':memory:') return undefined;
  return { anchor: { file: anchorPath(home ?? bulkheadHome(), store), store } };
}
