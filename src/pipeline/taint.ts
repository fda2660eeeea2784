/**
 * Taint marking, after the upstream answered: output of an open-world tool
 * (class `external`, or `taints: true`) is untrusted content, and the run is
 * marked before the agent can act on it. A tool that failed still tainted the
 * run if it returned content: an error message can carry an injection too.
 */
import type { RunService } from '../runs/service.js';
import { CONTINUE, type Stage } from './stage.js';

export function taintStage(deps: { runs: RunService }): Stage {
  return async (call) => {
    const tool = call.tool;
    if (!tool || !call.result) return CONTINUE;
    const opensWorld = tool.rule.taints ?? tool.rule.class === 'external';
    const returnedContent =
      (call.result.content?.length ?? 0) > 0 || call.result.structuredContent !== undefined;
    if (opensWorld && returnedContent) {
      await deps.runs.taint(call.run.id, tool.exposed);
      call.flags.push('tainted_run');
    }
    return CONTINUE;
  };
}
