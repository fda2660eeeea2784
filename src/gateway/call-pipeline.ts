/**
 * The decision pipeline every `tools/call` passes, assembled in its order (DESIGN.md, "The
 * decision pipeline"): the checks (run state, scope, validate, budget, loop guard, flow), the
 * gate, execute, data-read, inspect, taint; then the finalizers (the loop guard's count, the
 * approval's settlement, the audit record).
 */
import type { ApprovalService } from '../approvals/service.js';
import type { EventWriter } from '../events/writer.js';
import type { Logger } from '../log.js';
import type { Notifier } from '../notify/notifier.js';
import { checkStages } from '../pipeline/checks.js';
import { dataReadStage } from '../pipeline/data-read.js';
import { executeStage } from '../pipeline/execute.js';
import { gateStage } from '../pipeline/gate.js';
import { inspectStage } from '../pipeline/inspect.js';
import { LoopGuard } from '../pipeline/loop-guard.js';
import { Pipeline, type PipelineHook } from '../pipeline/pipeline.js';
import { recordFinalizer } from '../pipeline/record.js';
import { settleApprovalFinalizer } from '../pipeline/settle-approval.js';
import { taintStage } from '../pipeline/taint.js';
import type { Policy } from '../policy/schema/index.js';
import type { ReplicaLease } from '../replicas/lease.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import { registerReplica, replicaOf } from '../scrub/replica.js';
import type { Store } from '../store/store.js';
import type { Catalog } from './catalog.js';
import type { Metrics } from './metrics.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface CallPipelineDeps {
  policy: Policy;
  catalog: Catalog;
  store: Store;
  runs: RunService;
  events: EventWriter;
  notifier: Notifier;
  approvals: ApprovalService;
  pool: UpstreamPool;
  lease: ReplicaLease;
  metrics: Metrics;
  logger: Logger;
  /** The sinks' scrubber (the audit trail, logs). */
  scrubber: Scrubber;
  /** Marks the gateway's own secrets only (scrubbers.ts): none may leave in a call's arguments. */
  gatewaySecrets: Scrubber;
  /** The scrubber of what a profile's agents receive; read at each call, as a reload replaces it. */
  scrubberFor: (profile: string) => Scrubber;
  now: () => number;
  hooks: readonly PipelineHook[];
}

export function callPipeline(deps: CallPipelineDeps): Pipeline {
  const { policy, catalog, store, runs, events, notifier, approvals, pool, logger, scrubber, now } = deps;
  const loopGuard = new LoopGuard({ runs, now });
  runs.onEnd((run) => loopGuard.forget(run.id));
  return new Pipeline(
    [
      ...checkStages({
        catalog,
        store,
        runs,
        events,
        notifier,
        loopGuard,
        now,
        scrub: (text) => deps.gatewaySecrets.text(text),
        // Exposed names are `<upstream>__<tool>`, and upstream names hold no `_`.
        upstreamDown: (name) => {
          const state = pool.stateOf(name.slice(0, name.indexOf('__')));
          return state !== undefined && state !== 'ready';
        },
      }),
      { name: 'gate', run: gateStage({ approvals }) },
      {
        name: 'execute',
        run: executeStage({
          pool,
          policy,
          logger,
          intent: { intents: store.intents, owner: store.replica, scrub: (v) => scrubber.value(v), now },
          scrubberFor: deps.scrubberFor,
          fence: deps.lease,
          approvalState: async (id) => (await store.approvals.get(id))?.state,
          taint: (runId, source) => runs.taint(runId, source),
        }),
      },
      { name: 'data-read', run: dataReadStage({ policy, runs }) },
      {
        name: 'inspect',
        run: inspectStage({
          scrubberFor: (profile) => counted(deps.scrubberFor(profile), deps.metrics),
          events,
          runs,
        }),
      },
      { name: 'taint', run: taintStage({ runs }) },
    ],
    [loopGuard.finalizer, settleApprovalFinalizer({ approvals }), recordFinalizer({ events, now })],
    { logger, scrubber, hooks: deps.hooks },
  );
}

/** `s`, its redactions in tool results counted by rule (bulkhead_scrub_findings_total). */
function counted(s: Scrubber, metrics: Metrics): Scrubber {
  const scrubber: Scrubber = {
    ...s,
    value: <T>(input: T): T => {
      const output = s.value(input);
      metrics.scrubbed(input, output);
      return output;
    },
  };
  // Large results are scrubbed by a replica in a worker thread (src/inspect/worker), which counts.
  const replica = replicaOf(s);
  if (replica) registerReplica(scrubber, { ...replica, onRedactions: (c) => metrics.redactions(c) });
  return scrubber;
}
