/**
 * Stage 7, gate: an irreversible or costly call waits for a human. The agent
 * cannot talk its way past it: the call is held here, in the gateway, and
 * runs only with an approval bound to exactly these arguments, claimed once.
 * A flow rule can ask for approval too (`call.approvalReason`).
 */
import { approvalApplies } from '../approvals/conditions.js';
import type { ApprovalService } from '../approvals/service.js';
import { denial } from '../errors.js';
import { hiddenNote } from '../inspect/hidden.js';
import { lookAlikeNote } from '../inspect/look-alikes.js';
import { canonicalHash } from '../util/canonical.js';
import { keyNote } from './key-note.js';
import { CONTINUE, deny, type Stage, type ToolCall } from './stage.js';

const DEFAULT_TIMEOUT_MS = 15 * 60_000;

/** Why this call must wait for a human (its tool rule, or a flow rule), or undefined. */
export function holdReason(call: ToolCall): string | undefined {
  const tool = call.tool;
  const rule = tool?.rule.approval;
  if (tool && call.args && rule !== undefined && approvalApplies(rule, call.args, call.run.taint.untrusted))
    // A flow rule's reason (what the run read, what of it is in these arguments) is always shown.
    return `${tool.rule.class} tool gated by policy${call.approvalReason ? `; ${call.approvalReason}` : ''}`;
  return call.approvalReason;
}

export function gateStage(deps: { approvals: ApprovalService }): Stage {
  return async (call) => {
    const tool = call.tool;
    const args = call.args;
    if (!tool || !args) return deny(denial('internal_error', 'The call could not be checked.'));
    const rule = tool.rule.approval;
    const reason = holdReason(call);
    if (!reason) return CONTINUE;
    // A person approves what they read: a Cyrillic `о` in `cоmpany.com` reads as the real domain,
    // and text in variation selectors or tag characters reads as nothing at all; two keys that
    // read the same hide which value the upstream takes for which.
    const why = [reason, lookAlikeNote(args), hiddenNote(args), keyNote(args)].filter(Boolean).join('; ');
    const argsHash = canonicalHash(args);
    // An identical retry after the waiting caller was gone (disconnect, restart) runs once, without asking again.
    const reused = await deps.approvals.reuse(call.run.id, tool.exposed, argsHash);
    if (!reused) call.onHold?.();
    const outcome = reused
      ? { ok: true as const, approval: reused }
      : await deps.approvals.hold({
          runId: call.run.id,
          tool: tool.exposed,
          toolClass: tool.rule.class,
          args,
          argsHash,
          why,
          quorum: rule?.quorum ?? 1,
          approvers: rule?.approvers ?? ['approver', 'admin'],
          timeoutMs: rule?.timeout ?? DEFAULT_TIMEOUT_MS,
          signal: call.signal,
          ...(call.callerGone ? { callerGone: call.callerGone } : {}),
          ...(call.progress ? { progress: call.progress } : {}),
        });
    if (!outcome.ok) {
      if (outcome.approval) call.approvalId = outcome.approval.id;
      return deny(outcome.denial);
    }
    call.approvalId = outcome.approval.id;
    call.approvalClaimed = true;
    if (outcome.approval.editedArguments) call.args = outcome.approval.editedArguments;
    return CONTINUE;
  };
}
