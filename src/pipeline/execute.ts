/**
 * Stage 8, execute: call the upstream with its own credential (held by the
 * pool, never by the agent), under a per-call timeout, cancelled when the
 * client goes away or the run is killed. The call's intent is recorded first
 * (intent.ts), so a crash mid-call still leaves an audit event behind.
 */
import type { UpstreamPool } from '../gateway/upstream-pool.js';
import type { Logger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import { type IntentDeps, openIntent } from './intent.js';
import { CONTINUE, deny, type Stage } from './stage.js';

export function executeStage(deps: {
  pool: UpstreamPool;
  policy: Policy;
  logger: Logger;
  /** Without it (unit tests of this stage alone) no intent is recorded. */
  intent?: IntentDeps;
}): Stage {
  return async (call) => {
    const tool = call.tool;
    const args = call.args;
    if (!tool || !args) throw new Error('execute reached without scope and validate');
    const timeoutMs = tool.rule.timeout ?? deps.policy.upstreams[tool.upstream]?.call_timeout ?? 30_000;
    // Durable before the upstream sees anything; a store that cannot take it refuses the call.
    if (deps.intent) call.intentId = await openIntent(deps.intent, call);
    const progress = call.progress;
    // Awaited before the answer: a notification sent after it would find the agent's stream closed.
    const forwarded: Promise<void>[] = [];
    const outcome = await deps.pool.call(tool.upstream, tool.original, args, {
      signal: call.signal,
      timeoutMs,
      // Upstream progress reaches the agent that asked for it, as numbers only: a progress
      // message is upstream text that no inspection would see on its way to the model.
      ...(progress ? { onprogress: (p) => forwarded.push(progress(p.progress).catch(() => undefined)) } : {}),
    });
    await Promise.all(forwarded);
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
