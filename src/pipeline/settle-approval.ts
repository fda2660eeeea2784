/**
 * Finalizer: records what became of a call that ran under an approval. Only a
 * call that reached the upstream settles; one refused before is left as is.
 */
import type { ApprovalService } from '../approvals/service.js';
import type { Finalizer } from './pipeline.js';

export function settleApprovalFinalizer(deps: { approvals: ApprovalService }): Finalizer {
  return {
    name: 'settle-approval',
    run: async (call, outcome) => {
      if (!call.approvalId || call.upstreamMs === undefined) return;
      const ok = outcome.decision === 'allow' && call.result?.isError !== true;
      await deps.approvals.finish(call.approvalId, ok, {
        upstreamMs: call.upstreamMs,
        ...(outcome.decision === 'deny' ? { code: outcome.denial.code } : {}),
      });
    },
  };
}
