/**
 * Stage 9's whole treatment of a tool result: inspection (index.ts), the
 * withholding of structured output over the budget, and scrubbing with the
 * profile's scrubber. Small results (nearly all) take the synchronous path on
 * the main thread. A large one (over `LARGE_OUTPUT` characters) goes to an
 * inspection worker (worker/pool.ts), so one agent's megabytes of hostile
 * text never hold the event loop every other agent's calls need: the same
 * code runs there, with a replica of the same scrubber (src/scrub/replica.ts).
 * A worker that fails or dies fails the call; the result is never passed on
 * unscrubbed.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { rememberMeasure } from '../pipeline/measure-json.js';
import { RESULT_PREVIEW_BYTES } from '../pipeline/record.js';
import type { Scrubber } from '../scrub/index.js';
import { replicaOf } from '../scrub/replica.js';
import { charCount, scrubValueYielding } from '../scrub/yielding.js';
import { inspectToolResult } from './index.js';
import { scrubJoinedYielding } from './joined.js';
import { settleScrubbedPayloads } from './payloads.js';
import { inspectionWorkers } from './worker/pool.js';
import type { InspectedOutput, OutputOptions } from './worker/protocol.js';

export type { InspectedOutput, OutputOptions } from './worker/protocol.js';

/** Results with more characters than this are inspected and scrubbed in a worker. */
export const LARGE_OUTPUT = 256 * 1024;

export async function inspectOutput(
  result: CallToolResult,
  options: OutputOptions,
  scrubber: Scrubber,
): Promise<InspectedOutput> {
  const replica = replicaOf(scrubber);
  if (replica && charCount(result, LARGE_OUTPUT + 1, 0) > LARGE_OUTPUT) {
    const { measured, ...inspected } = await inspectionWorkers().inspect(result, options, replica);
    // The worker measured the content for the audit record (stage 10): frozen, that measure holds
    // for as long as the content does, and the main thread does not walk its megabytes again.
    rememberMeasure(deepFreeze(inspected.result.content), RESULT_PREVIEW_BYTES, measured);
    return inspected;
  }
  const inspected = inspectAndWithhold(result, options, scrubber);
  // A scrubber that cannot be replicated still slices large values with yields.
  const scrubbed = await scrubValueYielding(scrubber, inspected.result);
  const settled = settleScrubbedPayloads(inspected.result, scrubbed);
  // A secret cut across blocks passed each block's scrub: the blocks are read joined (joined.ts).
  const joined = await scrubJoinedYielding(
    settled,
    (text) => scrubValueYielding(scrubber, text),
    options.shown,
  );
  // A literal, not `{ ...inspected, result }`: a spread then a redefined key costs a slow path.
  return { result: joined, flags: inspected.flags, findings: inspected.findings };
}

/** Inspection and the structured-output rule, before scrubbing; also what a worker runs. */
export function inspectAndWithhold(
  result: CallToolResult,
  options: OutputOptions,
  scrubber: Scrubber,
): InspectedOutput {
  const { maxBytes } = options;
  const inspected = inspectToolResult(result, {
    maxBytes,
    ...(options.spotlight !== undefined ? { spotlight: options.spotlight } : {}),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    scrub: scrubber.text,
  });
  let out: CallToolResult = inspected.result;
  const flags = [...inspected.flags];
  if (
    out.structuredContent !== undefined &&
    Buffer.byteLength(JSON.stringify(out.structuredContent)) > maxBytes
  ) {
    // Structured output cannot be cut and stay valid: the agent gets a clear error instead of a flood.
    flags.push('truncated');
    out = {
      isError: true,
      content: [{ type: 'text', text: `[bulkhead: structured output over ${maxBytes} bytes was withheld]` }],
    };
  }
  return { result: out, flags: [...new Set(flags)], findings: inspected.findings };
}

/** `value` and every object and array in it frozen (strings are immutable already). */
function deepFreeze<T extends object>(value: T): T {
  const seen = new Set<object>();
  const stack: object[] = [value];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    Object.freeze(next);
    for (const item of Object.values(next)) if (typeof item === 'object' && item !== null) stack.push(item);
  }
  return value;
}
