/**
 * Stage 8, execute: call the upstream with its own credential (held by the
 * pool, never by the agent), under a per-call timeout, cancelled when the
 * client goes away or the run is killed.
 */
import type { UpstreamPool } from '../gateway/upstream-pool.js';
import type { Logger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export function executeStage(deps: { pool: UpstreamPool; policy: Policy; logger: Logger }): Stage {
  return async (call) => {
    const tool = call.tool;
    const args = call.args;
    if (!tool || !args) throw new Error('execute reached without scope and validate');
    const timeoutMs = tool.rule.timeout ?? deps.policy.upstreams[tool.upstream]?.call_timeout ?? 30_000;
    const outcome = await deps.pool.call(tool.upstream, tool.original, args, {
      signal: call.signal,
      timeoutMs,
    });
    call.upstreamMs = outcome.ms;
    if (!outcome.ok) {
      if (outcome.error) {
        deps.logger.warn(
          { runId: call.run.id, tool: tool.exposed, err: outcome.error },
          'upstream call failed',
        );
      }
      return deny(outcome.denial);
    }
    call.result = outcome.result;
    return CONTINUE;
  };
}
