/**
 * Stage 9's pure part: inspecting a tool result before the agent sees it.
 * Tool output is untrusted data — a compromised or buggy upstream can answer
 * with instructions, hidden text or a payload large enough to flood the
 * model's context. Inspection:
 *  1. strips terminal escapes and invisible characters (hidden.ts),
 *  2. flags injection heuristics and long encoded blobs (injection.ts),
 *  3. caps the size: text is truncated with a visible marker, images, audio
 *     and embedded resources over the remaining budget are replaced by a note,
 *  4. optionally wraps text in delimited data markers (spotlight.ts).
 * Flags are advisory for the model but binding for policy: the pipeline turns
 * them into an event and taint. Secrets and PII are scrubbed separately, by
 * the scrubber the pipeline applies to the inspected result.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { stripHidden } from './hidden.js';
import { findEncodedBlob, findInjection } from './injection.js';
import { spotlightText } from './spotlight.js';

export type InspectFlag =
  | 'truncated'
  | 'media_dropped'
  | 'injection_suspected'
  | 'encoded_blob'
  | 'hidden_characters'
  | 'escape_sequences';

export interface InspectFinding {
  kind: InspectFlag;
  detail: string;
}

export interface InspectOptions {
  /** Budget for the whole result: text bytes (UTF-8) plus decoded media and resource bytes. */
  maxBytes: number;
  /** Wrap text content in delimited data markers. */
  spotlight?: boolean;
  /** Marker nonce for spotlight; random when absent (so tool output cannot forge the end marker). */
  nonce?: string;
}

export interface InspectResult {
  result: CallToolResult;
  flags: InspectFlag[];
  findings: InspectFinding[];
}

type Block = CallToolResult['content'][number];

export function truncationMarker(bytes: number): string {
  return `[bulkhead: output truncated at ${bytes} bytes]`;
}

export function inspectToolResult(result: CallToolResult, options: InspectOptions): InspectResult {
  const findings: InspectFinding[] = [];
  const seen = new Set<string>();
  const note = (kind: InspectFlag, detail: string) => {
    const key = `${kind}:${detail}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push({ kind, detail });
  };
  const clean = (text: string, where: string): string => {
    const cleaned = stripHidden(text);
    if (cleaned.escapes > 0) note('escape_sequences', `${where}: ${cleaned.escapes} removed`);
    if (cleaned.hidden > 0) note('hidden_characters', `${where}: ${cleaned.hidden} removed`);
    for (const hit of findInjection(cleaned.text)) note('injection_suspected', `${where}: ${hit.heuristic}`);
    if (cleaned.smuggled) {
      note('injection_suspected', `${where}: tag_smuggled_text`);
      for (const hit of findInjection(cleaned.smuggled))
        note('injection_suspected', `${where}: hidden ${hit.heuristic}`);
    }
    const blob = findEncodedBlob(cleaned.text);
    if (blob) note('encoded_blob', `${where}: ${blob.heuristic}`);
    return cleaned.text;
  };

  let budget = Math.max(0, options.maxBytes);
  const take = (text: string, where: string): string => {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes <= budget) {
      budget -= bytes;
      return text;
    }
    const kept = utf8Prefix(text, budget);
    note('truncated', `${where}: ${bytes} bytes cut to ${budget}`);
    const out = `${kept}\n${truncationMarker(options.maxBytes)}`;
    budget = 0;
    return out;
  };

  const content: Block[] = [];
  (result.content ?? []).forEach((block, i) => {
    const where = `content[${i}]`;
    switch (block.type) {
      case 'text':
        content.push({ ...block, text: take(clean(block.text, where), where) });
        return;
      case 'image':
      case 'audio': {
        const bytes = base64Bytes(block.data);
        if (bytes > budget) {
          note('media_dropped', `${where}: ${block.type} of ${bytes} bytes over the remaining budget`);
          content.push({
            type: 'text',
            text: `[bulkhead: ${block.type} (${block.mimeType}, ${bytes} bytes) removed: over the size limit]`,
          });
        } else {
          budget -= bytes;
          content.push(block);
        }
        return;
      }
      case 'resource': {
        const resource = block.resource;
        if ('text' in resource && typeof resource.text === 'string') {
          content.push({
            ...block,
            resource: { ...resource, text: take(clean(resource.text, where), where) },
          });
          return;
        }
        const bytes =
          'blob' in resource && typeof resource.blob === 'string' ? base64Bytes(resource.blob) : 0;
        if (bytes > budget) {
          note('media_dropped', `${where}: resource of ${bytes} bytes over the remaining budget`);
          content.push({
            type: 'text',
            text: `[bulkhead: resource ${resource.uri} (${bytes} bytes) removed: over the size limit]`,
          });
        } else {
          budget -= bytes;
          content.push(block);
        }
        return;
      }
      default:
        // resource_link and future block types carry no payload of their own.
        content.push(block);
    }
  });

  const out: CallToolResult = { ...result, content };
  if (result.structuredContent !== undefined) {
    // Cleaned string by string: serialised JSON would carry control characters as `\u001b`
    // escapes, out of reach of the escape-sequence filter.
    const cleaned = cleanStrings(result.structuredContent, (text) => clean(text, 'structuredContent'), 0);
    const bytes = Buffer.byteLength(JSON.stringify(cleaned) ?? '', 'utf8');
    if (bytes > budget) {
      note('truncated', `structuredContent: ${bytes} bytes removed: over the remaining budget`);
      delete out.structuredContent;
    } else {
      budget -= bytes;
      out.structuredContent = cleaned as Record<string, unknown>;
    }
  }

  if (options.spotlight) out.content = spotlightText(out.content, options.nonce);
  const flags = [...new Set(findings.map((f) => f.kind))];
  return { result: out, flags, findings };
}

const MAX_DEPTH = 64;

/** `value` with every string (keys too) passed through `fn`; nesting past MAX_DEPTH is dropped. */
function cleanStrings(value: unknown, fn: (text: string) => string, depth: number): unknown {
  if (typeof value === 'string') return fn(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value)) return value.map((item) => cleanStrings(item, fn, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // Defined, not assigned: a `__proto__` key stays data instead of becoming the prototype.
    Object.defineProperty(out, fn(key), {
      value: cleanStrings(item, fn, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Decoded size of base64 without decoding it. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.floor((data.length * 3) / 4) - padding;
}

/** The longest prefix of `text` whose UTF-8 encoding fits in `bytes`, never splitting a character. */
function utf8Prefix(text: string, bytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  let end = Math.min(bytes, buf.length);
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}
