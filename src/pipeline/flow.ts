/**
 * Stage 6, flow: what may leave, given what the run has seen. The lethal
 * trifecta is private data, untrusted content and a way out; a run holding
 * the first two must not use the third unchecked. So once a run has read
 * untrusted content, private data (`sources: private`) or secrets
 * (`sources: secret`), an external sink (an `external` tool, or one that
 * reaches the open web) is allowed, held for a human, or refused, as the
 * profile's flow rules say; the strictest applicable rule wins. Untrusted
 * content alone holds `external` tools only, as it did before data classes.
 *
 * The approval says why: which sources the run read, and which outgoing
 * arguments hold a value the run received from one of them (recognised by
 * fingerprint, see src/dataflow). The same evidence goes into the audit event.
 */
import { isExternalSink } from '../dataflow/classes.js';
import { type Recognised, recognise } from '../dataflow/fingerprint.js';
import { valuesInArguments } from '../dataflow/values.js';
import { denial } from '../errors.js';
import type { CatalogTool } from '../gateway/catalog.js';
import type { FlowAction } from '../policy/schema/profile.js';
import type { RunService } from '../runs/service.js';
import { CONTINUE, deny, type Stage, type StageResult, type ToolCall } from './stage.js';

/** Why a flow rule applied, for the approval and the audit event. */
export interface FlowEvidence {
  action: FlowAction;
  /** Each applicable rule: what the run read, from which sources. */
  reasons: { rule: 'tainted_external' | 'private_external' | 'secret_external'; sources: string[] }[];
  /** Outgoing arguments holding a value received from a private or secret source. */
  recognised: Recognised[];
}

const STRICTNESS: Record<FlowAction, number> = { allow: 0, approve: 1, refuse: 2 };

export function flowStage(deps: { runs: Pick<RunService, 'fingerprints'> }): Stage {
  const check = async (call: ToolCall, tool: CatalogTool): Promise<StageResult> => {
    const { taint, read } = call.run;
    const rules = call.profile.flow;
    const reasons: FlowEvidence['reasons'] = [];
    // Untrusted content alone holds only `external` tools (as before data classes): a browsing
    // agent's next fetch after a page is not a leak unless the run also holds private data.
    if (taint.untrusted && tool.rule.class === 'external')
      reasons.push({ rule: 'tainted_external', sources: taint.sources });
    if (read.private.length > 0) reasons.push({ rule: 'private_external', sources: read.private });
    if (read.secret.length > 0) reasons.push({ rule: 'secret_external', sources: read.secret });
    if (reasons.length === 0) return CONTINUE;

    const action = reasons
      .map((r) => rules[r.rule])
      .reduce((a, b) => (STRICTNESS[b] > STRICTNESS[a] ? b : a), 'allow' as FlowAction);
    const readData = reasons.some((r) => r.rule !== 'tainted_external');
    const recognised =
      readData && call.args
        ? recognise(call.run.id, await deps.runs.fingerprints(call.run.id), valuesInArguments(call.args))
        : [];
    call.flow = { action, reasons, recognised };

    switch (action) {
      case 'allow':
        return CONTINUE;
      case 'refuse':
        return deny(
          denial(
            'flow_blocked',
            `This run has read ${whatWasRead(reasons)}, so tools that send data out are refused for the rest of the run.`,
          ),
        );
      case 'approve':
        call.approvalReason = approvalReason(reasons, recognised);
        return CONTINUE;
    }
  };
  // Most tools send nothing out: they pass at once, without a promise.
  return (call) => {
    const tool = call.tool;
    if (!tool || !isExternalSink(tool.rule, tool.upstreamDefinition.annotations)) return CONTINUE;
    return check(call, tool);
  };
}

function whatWasRead(reasons: FlowEvidence['reasons']): string {
  const words = {
    tainted_external: 'untrusted content',
    private_external: 'private data',
    secret_external: 'secrets',
  };
  return reasons.map((r) => words[r.rule]).join(' and ');
}

/** One paragraph an approver reads: what the run read, from where, and what of it is in this call. */
export function approvalReason(reasons: FlowEvidence['reasons'], recognised: readonly Recognised[]): string {
  const read = reasons
    .map((r) => {
      const what =
        r.rule === 'tainted_external'
          ? 'untrusted content'
          : r.rule === 'private_external'
            ? 'private data'
            : 'secrets';
      return `${what} from ${r.sources.join(', ')}`;
    })
    .join('; ');
  const found =
    recognised.length > 0
      ? ` Recognised in the arguments: ${recognised.map((r) => `${r.pointer || '(root)'} holds ${article(r.kind)} from ${r.source}`).join('; ')}.`
      : '';
  return `this tool sends data out and the run has read ${read}.${found}`;
}

function article(kind: Recognised['kind']): string {
  return kind === 'email' ? 'an e-mail address' : kind === 'phone' ? 'a phone number' : 'a value';
}
