/**
 * Stage 9's pure part: inspecting a tool result before the agent sees it.
 * Tool output is untrusted data — a compromised or buggy upstream can answer
 * with instructions, hidden text or a payload large enough to flood the
 * model's context. Inspection:
 *  1. strips terminal escapes and invisible characters (hidden.ts) from every
 *     string of every content block and of structured content,
 *  2. flags injection heuristics and long encoded blobs (injection.ts), the
 *     heuristics on each string and on the parts a reader joins (joined.ts),
 *  3. caps the size: text is truncated with a visible marker, images, audio
 *     and embedded resources over the remaining budget are replaced by a note,
 *  4. drops `_meta` keys an upstream forged in bulkhead's namespace (meta.ts)
 *     and result fields the protocol does not define,
 *  5. optionally wraps text in delimited data markers (spotlight.ts).
 * Flags are advisory for the model but binding for policy: the pipeline turns
 * them into an event and taint. Secrets and PII are scrubbed separately, by
 * the scrubber the pipeline applies to the inspected result.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type InspectFinding, type InspectFlag, Inspector } from './inspector.js';
import { takePrecut } from './precut.js';
import { spotlightText } from './spotlight.js';

export { type InspectFinding, type InspectFlag, truncationMarker } from './inspector.js';

export interface InspectOptions {
  /** Budget for the whole result: text bytes (UTF-8) plus decoded media and resource bytes. */
  maxBytes: number;
  /** Wrap text content in delimited data markers. */
  spotlight?: boolean;
  /** Marker nonce for spotlight; random when absent (so tool output cannot forge the end marker). */
  nonce?: string;
  /** Scrubs the raw text of strings that hold hidden characters, before they are removed. */
  scrub?: (text: string) => string;
}

export interface InspectResult {
  result: CallToolResult;
  flags: InspectFlag[];
  findings: InspectFinding[];
}

export function inspectToolResult(received: CallToolResult, options: InspectOptions): InspectResult {
  // A result cut to its budget before it left the transport (precut.ts) says how large it was.
  const { result, sizes } = takePrecut(received);
  const inspector = new Inspector(options.maxBytes, options.scrub, sizes);
  const content = (result.content ?? []).map((block, i) => inspector.block(block, `content[${i}]`));
  // Only the fields the protocol defines: anything else an upstream adds is not inspected, so it
  // does not travel on.
  const out: CallToolResult = { content };
  if (result.isError !== undefined) out.isError = result.isError;
  if (result._meta !== undefined) {
    const { _meta } = inspector.data({ _meta: result._meta }, 'result') as Pick<CallToolResult, '_meta'>;
    if (_meta && Object.keys(_meta).length > 0) out._meta = _meta;
  }
  if (result.structuredContent !== undefined) {
    const cleaned = inspector.data(result.structuredContent, 'structuredContent');
    const bytes = Buffer.byteLength(JSON.stringify(cleaned) ?? '', 'utf8');
    if (inspector.charge(bytes)) out.structuredContent = cleaned as Record<string, unknown>;
    else inspector.note('truncated', `structuredContent: ${bytes} bytes removed: over the remaining budget`);
  }
  // Read joined before spotlighting, whose markers stand between the parts.
  inspector.joined(out);
  if (options.spotlight) out.content = spotlightText(out.content, options.nonce);
  return { result: out, flags: inspector.flags(), findings: inspector.findings };
}
