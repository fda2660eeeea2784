/**
 * The base64 payloads of one answer (images' and audio's `data`, resources'
 * `blob`) read joined, as joined.ts reads its texts: a client that decodes
 * them and a model told to put the pieces together read one byte string, so
 * an upstream that cut a credential into two blobs passed each payload's
 * scrub. The payloads' bytes are joined and encoded again as one base64 text,
 * which the scrubber reads as it reads any one payload (known secrets at any
 * alignment, rules inside the decoded run); when it finds what no payload
 * alone held, every payload the finding covers is replaced by the note a
 * payload holding a secret gets (payloads.ts).
 */
import { MAX_DEPTH } from './deep.js';
import { payloadNote, payloadOf } from './payloads.js';

export interface JoinedPayloads {
  /** The payloads' bytes joined, in base64: what to scrub. */
  encoded: string;
  sizes: number[];
}

/** The payloads of `value` joined, or undefined when it has fewer than two. */
export function joinPayloads(value: unknown): JoinedPayloads | undefined {
  const sizes: number[] = [];
  const chunks: Buffer[] = [];
  visit(value, 0, (payload) => {
    const bytes = Buffer.from(payload, 'base64');
    chunks.push(bytes);
    sizes.push(bytes.length);
    return undefined;
  });
  if (chunks.length < 2) return undefined;
  return { encoded: Buffer.concat(chunks).toString('base64'), sizes };
}

/**
 * `value` with the payloads that `scrubbed` (the scrubber's rendering of `joined.encoded`) changed
 * replaced by notes; `value` when it changed nothing.
 */
export function settleJoinedPayloads<T>(value: T, joined: JoinedPayloads, scrubbed: string): T {
  const { encoded, sizes } = joined;
  if (scrubbed === encoded) return value;
  const { first, last } = changedBytes(encoded, scrubbed);
  let index = 0;
  let from = 0;
  return visit(value, 0, (_, node) => {
    const at = from;
    from += sizes[index++] ?? 0;
    // Covered when its bytes meet the changed span (an empty payload next to it too).
    return at <= last && from >= first ? payloadNote(node) : undefined;
  }) as T;
}

/** The bytes (of the joined payloads) that the scrubber's changes to their base64 text cover. */
function changedBytes(before: string, after: string): { first: number; last: number } {
  const limit = Math.min(before.length, after.length);
  let start = 0;
  while (start < limit && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let common = 0;
  while (
    common < limit - start &&
    before.charCodeAt(before.length - 1 - common) === after.charCodeAt(after.length - 1 - common)
  )
    common++;
  // Four base64 characters carry three bytes; a character partly carries its neighbours'.
  return { first: Math.floor((start * 3) / 4), last: Math.ceil(((before.length - common) * 3) / 4) };
}

/**
 * Calls `payload` with each payload in document order and the object that holds it; an object it
 * answers for is replaced by that answer. Objects are copied only where something changed.
 */
function visit(
  value: unknown,
  depth: number,
  payload: (text: string, node: Record<string, unknown>) => Record<string, unknown> | undefined,
): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = visit(item, depth + 1, payload);
      if (next === item) return;
      out ??= [...value];
      out[i] = next;
    });
    return out ?? value;
  }
  const node = value as Record<string, unknown>;
  const own = payloadOf(node);
  if (own !== undefined) return payload(own, node) ?? value;
  let out: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(node)) {
    const next = visit(item, depth + 1, payload);
    if (next === item) continue;
    out ??= { ...node };
    Object.defineProperty(out, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return out ?? value;
}
