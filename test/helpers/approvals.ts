/** Approvals as the data-flow tests meet them: wait for a run's held call, then deny it. */
import type { Approval } from '../../src/approvals/approval.js';
import type { Gateway } from '../../src/gateway/gateway.js';

/** The run's pending approval, once its held call has been persisted (10 s at most). */
export async function pendingFor(gateway: Gateway, runId: string): Promise<Approval> {
  for (let i = 0; i < 400; i++) {
    const [approval] = (await gateway.store.approvals.list({ state: 'pending' })).filter(
      (a) => a.runId === runId,
    );
    if (approval) return approval;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no pending approval appeared');
}

/** Denies an approval as the local operator. */
export async function denyApproval(gateway: Gateway, approval: Approval): Promise<void> {
  await gateway.approvals.decide(approval.id, {
    operator: 'local',
    decision: 'deny',
    reason: 'not this',
    at: Date.now(),
  });
}
