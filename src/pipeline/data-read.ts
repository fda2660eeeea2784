/**
 * Data-class marking, right after the upstream answered and before
 * inspection changes the result: when the tool (or its upstream) is declared
 * a source of private or secret data and returned content, the run records
 * that it read that class, and keeps fingerprints of the identifying values
 * it received (addresses, phone numbers, JSON values), so the flow stage can
 * hold a later external call and name the values it recognises leaving.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { dataClassOf } from '../dataflow/classes.js';
import { fingerprintsOf } from '../dataflow/fingerprint.js';
import { valuesInResult } from '../dataflow/values.js';
import type { CatalogTool } from '../gateway/catalog.js';
import type { Policy } from '../policy/schema/index.js';
import type { DataClass } from '../runs/run.js';
import type { RunService } from '../runs/service.js';
import { CONTINUE, type Stage, type StageResult, type ToolCall } from './stage.js';

export function dataReadStage(deps: { policy: Pick<Policy, 'upstreams'>; runs: RunService }): Stage {
  const mark = async (
    call: ToolCall,
    tool: CatalogTool,
    result: CallToolResult,
    dataClass: DataClass,
  ): Promise<StageResult> => {
    const values = valuesInResult(result);
    await deps.runs.markRead(
      call.run.id,
      dataClass,
      tool.exposed,
      fingerprintsOf(call.run.id, tool.exposed, values),
    );
    call.flags.push(`read_${dataClass}`);
    return CONTINUE;
  };
  // Answers at once unless a private or secret source returned something to mark as read.
  return (call) => {
    const tool = call.tool;
    if (!tool || !call.result) return CONTINUE;
    const dataClass = dataClassOf(deps.policy, tool);
    if (!dataClass) return CONTINUE;
    const returnedContent =
      (call.result.content?.length ?? 0) > 0 || call.result.structuredContent !== undefined;
    if (!returnedContent) return CONTINUE;
    return mark(call, tool, call.result, dataClass);
  };
}
