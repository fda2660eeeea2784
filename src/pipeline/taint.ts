/**
 * Taint marking, after the upstream answered: output of a tool that reads the
 * open world (`taints: true`: web pages, tickets, inbound mail; or, the policy
 * silent, its server's read-only `openWorldHint`, `readsOpenWorld`) is untrusted
 * content, and the run is marked before the agent can act on it. Class alone
 * does not taint: an `external` tool that sends mail returns a receipt, not
 * foreign content. A tool that failed still taints the run if it returned
 * content (text, structured content or its own `_meta`): an error message can
 * carry an injection too. (Inspection taints
 * too, whatever the tool, when it finds injection signs.)
 */
import { readsOpenWorld } from '../dataflow/classes.js';
import { isBulkheadMetaKey } from '../inspect/meta.js';
import type { RunService } from '../runs/service.js';
import { CONTINUE, type Stage, type StageResult, type ToolCall } from './stage.js';

export function taintStage(deps: { runs: RunService }): Stage {
  const taint = async (call: ToolCall, exposed: string): Promise<StageResult> => {
    await deps.runs.taint(call.run.id, exposed);
    call.flags.push('tainted_run');
    return CONTINUE;
  };
  // Answers at once unless the run is to be tainted (no promise per call for the rest).
  return (call) => {
    const tool = call.tool;
    if (!tool || !call.result) return CONTINUE;
    const opensWorld = readsOpenWorld(tool.rule, tool.upstreamDefinition.annotations);
    // The upstream's own `_meta` reaches the agent too: an answer whose only words are there counts.
    const meta = call.result._meta;
    const returnedContent =
      (call.result.content?.length ?? 0) > 0 ||
      call.result.structuredContent !== undefined ||
      (meta !== undefined && Object.keys(meta).some((key) => !isBulkheadMetaKey(key)));
    return opensWorld && returnedContent ? taint(call, tool.exposed) : CONTINUE;
  };
}

/**
 * Progress text from a tool that reads the open world reaches the agent before any result, and a
 * call that then fails or times out never reaches the taint stage: the agent had read the text
 * and the run stayed clean. The returned gate taints the run once, before the first message
 * passes; what is sent after it waits for it, so progress keeps its order. A taint that cannot
 * be recorded lets only the numbers pass.
 */
export function taintBeforeText(taint: () => Promise<unknown>): {
  /** Sends one progress notification: `message` is dropped if the run could not be tainted. */
  pass: (
    message: string | undefined,
    send: (message: string | undefined) => Promise<unknown>,
  ) => Promise<unknown>;
} {
  let marked: Promise<boolean> | undefined;
  return {
    pass: (message, send) => {
      if (message !== undefined)
        marked ??= taint().then(
          () => true,
          () => false,
        );
      return marked ? marked.then((ok) => send(ok ? message : undefined)) : send(message);
    },
  };
}
