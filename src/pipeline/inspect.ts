/**
 * Stage 9, inspect output: tool output is untrusted data. Before the agent
 * sees it, the result is cleaned of hidden characters and terminal escapes,
 * capped in size, checked for injection heuristics, optionally spotlighted,
 * and scrubbed of secrets and PII with the run's profile rules. Anything
 * suspicious becomes a flag on the result, an event, and taint on the run:
 * the flag informs the model, the taint binds the policy.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { EventWriter } from '../events/writer.js';
import { inspectOutput } from '../inspect/output.js';
import type { RunService } from '../runs/service.js';
import type { Scrubber } from '../scrub/index.js';
import { CONTINUE, type Stage } from './stage.js';

/** Results larger than this are truncated unless a tool rule sets `max_output`. */
export const DEFAULT_MAX_OUTPUT = 256 * 1024;

/** Flags that mean the content may be steering the agent: they taint the run. */
export const TAINTING_FLAGS: ReadonlySet<string> = new Set([
  'injection_suspected',
  'hidden_characters',
  'escape_sequences',
  'encoded_blob',
  'forged_meta',
]);

export interface InspectDeps {
  /** The scrubber for results going back to an agent of this profile (its PII rules). */
  scrubberFor: (profile: string) => Scrubber;
  events: EventWriter;
  runs: RunService;
}

export function inspectStage(deps: InspectDeps): Stage {
  return async (call) => {
    const tool = call.tool;
    if (!call.result || !tool) return CONTINUE;
    const maxBytes = tool.rule.max_output ?? DEFAULT_MAX_OUTPUT;
    const scrubber = deps.scrubberFor(call.profileName);
    // Large results are inspected and scrubbed in a worker thread (inspect/output.ts), so one
    // agent's megabytes of hostile text do not hold every other agent's calls.
    const inspected = await inspectOutput(
      call.result,
      {
        maxBytes,
        spotlight: call.profile.spotlight,
        // Read joined with the progress text shown during the call (inspect/joined.ts).
        ...(call.progressShown ? { shown: call.progressShown } : {}),
      },
      scrubber,
    );
    let result: CallToolResult = inspected.result;
    const flags = inspected.flags;
    if (flags.length > 0) {
      call.flags.push(...flags);
      result = { ...result, _meta: { ...result._meta, 'bulkhead/flags': flags } };
      await deps.events.write({
        kind: 'output.flagged',
        runId: call.run.id,
        tool: tool.exposed,
        actor: `run:${call.run.id}`,
        data: { flags, findings: inspected.findings },
      });
      if (flags.some((f) => TAINTING_FLAGS.has(f))) await deps.runs.taint(call.run.id, tool.exposed);
    }
    call.result = result;
    return CONTINUE;
  };
}
