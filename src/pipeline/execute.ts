/**
 * Stage 8, execute: call the upstream with its own credential (held by the
 * pool, never by the agent), under a per-call timeout, cancelled when the
 * client goes away or the run is killed. The call's intent is recorded first
 * (intent.ts), so a crash mid-call still leaves an audit event behind.
 */

import { dataClassOf, readsOpenWorld } from '../dataflow/classes.js';
import { denial } from '../errors.js';
import type { UpstreamPool } from '../gateway/upstream-pool.js';
import { progressCleaner } from '../inspect/progress.js';
import type { Logger } from '../log.js';
import type { Policy } from '../policy/schema/index.js';
import type { LeaseFence } from '../replicas/lease.js';
import type { Scrubber } from '../scrub/index.js';
import { type IntentDeps, openIntent } from './intent.js';
import { runEnded } from './run-state.js';
import { CONTINUE, deny, type Stage, type ToolCall } from './stage.js';
import { taintBeforeText } from './taint.js';

export function executeStage(deps: {
  pool: UpstreamPool;
  policy: Policy;
  logger: Logger;
  /** Without it (unit tests of this stage alone) no intent is recorded. */
  intent?: IntentDeps;
  /** Scrubs upstream progress messages for a profile's agents; without it only the numbers pass. */
  scrubberFor?: (profile: string) => Scrubber;
  /** This replica's lease: a call it may no longer own is not forwarded (see `LeaseFence`). */
  fence?: LeaseFence;
  /** An approval's current state, checked before an approved call is forwarded. */
  approvalState?: (id: string) => Promise<string | undefined>;
  /** Marks a run tainted: an open-world tool's progress text does, before it passes (`readsOpenWorld`). */
  taint?: (runId: string, source: string) => Promise<unknown>;
}): Stage {
  return async (call) => {
    const tool = call.tool;
    const args = call.args;
    if (!tool || !args) throw new Error('execute reached without scope and validate');
    const timeoutMs = tool.rule.timeout ?? deps.policy.upstreams[tool.upstream]?.call_timeout ?? 30_000;
    const epoch = deps.fence?.epoch();
    // Durable before the upstream sees anything; a store that cannot take it refuses the call.
    if (deps.intent) {
      call.intentId = await openIntent(deps.intent, call);
      // Killed (perhaps through another replica) since this call read its run.
      if (!call.intentId) return deny(runEnded());
    }
    // Awaited only when there is something to ask (a replica's lease, an approval).
    const asking = leaseLost(deps, epoch, call);
    const lost = asking && (await asking);
    if (lost) {
      // Not sent: settled as such (an approval becomes `failed`, code lease_lost), recorded after
      // the `outcome_unknown` another replica may have written for it.
      call.upstreamMs = 0;
      deps.logger.warn({ runId: call.run.id, tool: tool.exposed, why: lost }, 'call fenced: not forwarded');
      return deny(
        denial(
          'lease_lost',
          'This gateway stalled and another replica took over its work; the call was not sent. Retry it.',
        ),
      );
    }
    const progress = call.progress;
    // A private or secret source's progress text is that data, shown before any result is recorded
    // as read (data-read.ts): a call that then fails or times out would leave the run unmarked. Only
    // the numbers pass for such a tool.
    const scrub = dataClassOf(deps.policy, tool) ? undefined : deps.scrubberFor?.(call.profileName).text;
    const taint = deps.taint;
    const gate =
      readsOpenWorld(tool.rule, tool.upstreamDefinition.annotations) && taint
        ? taintBeforeText(async () => {
            await taint(call.run.id, tool.exposed);
            if (!call.flags.includes('tainted_run')) call.flags.push('tainted_run');
          })
        : undefined;
    // Awaited before the answer: a notification sent after it would find the agent's stream closed.
    const forwarded: Promise<unknown>[] = [];
    // One cleaner per call: its messages are read joined (inspect/progress.ts).
    const clean = scrub ? progressCleaner(scrub) : undefined;
    const outcome = await deps.pool.call(tool.upstream, tool.original, args, {
      signal: call.signal,
      timeoutMs,
      // Upstream progress reaches the agent that asked for it, under its own token; the message is
      // upstream text, so it is cleaned as output (inspect/progress.ts), or dropped without a scrubber.
      ...(progress
        ? {
            onprogress: (p) => {
              const message = clean?.(p.message);
              const send = (text: string | undefined) =>
                progress(p.progress, text, p.total).catch(() => undefined);
              forwarded.push(gate ? gate.pass(message, send) : send(message));
            },
          }
        : {}),
    });
    if (forwarded.length > 0) await Promise.all(forwarded);
    const shown = clean?.shown();
    if (shown) call.progressShown = shown;
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

/**
 * Why this replica must not forward the call now, or undefined. Checked after the intent is
 * durable, just before the upstream sees the call: a pause anywhere earlier shows here.
 */
/** Why the call may no longer be sent; undefined, with no promise, when there is nothing to ask. */
function leaseLost(
  deps: { fence?: LeaseFence; approvalState?: (id: string) => Promise<string | undefined> },
  epoch: number | undefined,
  call: ToolCall,
): Promise<string | undefined> | undefined {
  const { fence, approvalState } = deps;
  const { approvalId } = call;
  const fenced = fence !== undefined && epoch !== undefined;
  if (!fenced && !(approvalId && approvalState)) return undefined;
  return (async () => {
    if (fenced && !(await fence.holds(epoch))) return 'the lease lapsed or was lost since the call began';
    // An approved call: the approval may have been marked outcome_unknown by another replica
    // while this one was stopped, even within this replica's own lease (leases differ, clocks drift).
    if (approvalId && approvalState) {
      const state = await approvalState(approvalId);
      if (state !== 'executing') return `the approval is ${state ?? 'gone'}, no longer executing here`;
    }
    return undefined;
  })();
}
