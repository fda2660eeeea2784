/**
 * Base64 payloads (an image's or audio's `data`, a resource's `blob`) pass
 * inspection verbatim, but the scrubber reads inside base64 runs: when it
 * redacted a secret inside one, the payload is base64 no longer, and the
 * agent's client refused the whole answer (the SDK checks `data` and `blob`
 * are base64), so an upstream could fail any call by planting a credential
 * in an image. The block or resource whose payload held a secret becomes a
 * note in text instead; the rest of the answer is kept.
 */
import { MAX_DEPTH } from './deep.js';
import { mediaTypeForNote } from './note-words.js';

/** `after` (the scrubbed answer) with each payload the scrubber changed replaced by a note. */
export function settleScrubbedPayloads<T>(before: T, after: T): T {
  return settle(before, after, 0) as T;
}

function settle(before: unknown, after: unknown, depth: number): unknown {
  if (after === before || after === null || typeof after !== 'object' || depth > MAX_DEPTH) return after;
  if (before === null || typeof before !== 'object') return after;
  const was = before as Record<string, unknown>;
  if (Array.isArray(after)) {
    const list = Array.isArray(before) ? before : [];
    let changed = false;
    const out = after.map((item, i) => {
      const settled = settle(list[i], item, depth + 1);
      if (settled !== item) changed = true;
      return settled;
    });
    return changed ? out : after;
  }
  const node = after as Record<string, unknown>;
  const payload = payloadOf(node);
  if (payload !== undefined && payload !== payloadOf(was)) return payloadNote(node);
  let out: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(node)) {
    const settled = settle(was[key], value, depth + 1);
    if (settled === value) continue;
    out ??= { ...node };
    out[key] = settled;
  }
  return out ?? after;
}

/** The base64 payload of a block (an image's or audio's `data`) or of a resource (its `blob`). */
export function payloadOf(node: Record<string, unknown>): string | undefined {
  if ((node.type === 'image' || node.type === 'audio') && typeof node.data === 'string') return node.data;
  if (typeof node.blob === 'string') return node.blob;
  return undefined;
}

/** What stands in for a block or resource whose payload held a secret. */
export function payloadNote(node: Record<string, unknown>): Record<string, unknown> {
  if (node.type === 'image' || node.type === 'audio')
    return {
      type: 'text',
      text: `[bulkhead: ${node.type} (${mediaTypeForNote(node.mimeType)}) removed: it held a secret]`,
    };
  return {
    uri: typeof node.uri === 'string' ? node.uri : '',
    mimeType: 'text/plain',
    text: '[bulkhead: resource content removed: it held a secret]',
  };
}
