/**
 * Finalizer: records what became of a call that ran under an approval. A call
 * that went to the upstream settles (`upstreamMs` is set); one refused before
 * settles `failed` only if it claimed the approval and never wrote its intent;
 * the loser of a claim race is left as is, its approval belongs to the
 * winner's execution.
 *
 * An answer from the upstream settles it as `executed` or `failed`. A call cut
 * off after it was sent (timeout, cancel, the upstream stopping) may have
 * happened: it becomes `outcome_unknown` for a human to check, never `failed`,
 * which would invite someone to approve the irreversible action again.
 */
import type { ApprovalService } from '../approvals/service.js';
import type { Finalizer } from './pipeline.js';

const UNKNOWN_AFTER_SEND = new Set(['upstream_timeout', 'run_not_active', 'upstream_unavailable']);

export function settleApprovalFinalizer(deps: { approvals: ApprovalService }): Finalizer {
  return {
    name: 'settle-approval',
    run: async (call, outcome) => {
      if (!call.approvalId) return;
      const code = outcome.decision === 'deny' ? outcome.denial.code : undefined;
      if (call.upstreamMs === undefined) {
        // Claimed, then refused before it was sent (its intent could not be written: the store
        // connection dropped): nothing ran, and left `executing` under a live replica nobody
        // would ever settle it. A rival's approval (a lost claim) is not this call's to settle.
        if (call.approvalClaimed && call.intentId === undefined)
          await deps.approvals.finish(call.approvalId, 'failed', {
            upstreamMs: 0,
            ...(code ? { code } : {}),
          });
        return;
      }
      const answered = call.result !== undefined || code === 'upstream_error';
      // Never sent: the pool refuses an upstream that is down before calling it (0 ms).
      const neverSent = call.result === undefined && code === 'upstream_unavailable' && call.upstreamMs === 0;
      const state = answered
        ? call.result !== undefined && call.result.isError !== true
          ? 'executed'
          : 'failed'
        : neverSent || !UNKNOWN_AFTER_SEND.has(code ?? '')
          ? 'failed'
          : 'outcome_unknown';
      await deps.approvals.finish(call.approvalId, state, {
        upstreamMs: call.upstreamMs,
        ...(code ? { code } : {}),
      });
    },
  };
}
