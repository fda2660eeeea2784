/**
 * A scan's spans as numbers (scan-phase.ts, engine.ts): (start, end, rank) triples in a kept buffer per level of
 * decoding, made objects in one go where the caller needs them.
 */
import { MAX_DECODE_DEPTH } from './decoded.js';
import type { Span } from './spans.js';

/**
 * A scan's spans as (start, end, rank) triples, one buffer per level of decoding, shared by all
 * engines: a scan of decoded text (one level down) is the only scan that can start inside
 * another, and its parent's spans are kept meanwhile when they are merged as numbers.
 */
export const SPAN_BUFFERS = Array.from({ length: MAX_DECODE_DEPTH + 1 }, () => new Int32Array(3 * 1024));
export function growSpanBuffer(level: number): Int32Array {
  const old = SPAN_BUFFERS[level]!;
  const grown = new Int32Array(old.length * 2);
  grown.set(old);
  SPAN_BUFFERS[level] = grown;
  return grown;
}

/** Adds (start, end, rank) after the first `count` spans of `level`'s buffer (grown if need be); answers the new count. */
export function appendSpan(level: number, count: number, start: number, end: number, rank: number): number {
  let buffer: Int32Array = SPAN_BUFFERS[level]!;
  if (count * 3 + 3 > buffer.length) buffer = growSpanBuffer(level);
  buffer[count * 3] = start;
  buffer[count * 3 + 1] = end;
  buffer[count * 3 + 2] = rank;
  return count + 1;
}

/** The first `count` spans of `buffer` as objects, in an array allocated at its size. */
export function spanObjects(buffer: Int32Array, count: number, markerOf: (rank: number) => string): Span[] {
  const out: Span[] = [];
  out.length = count;
  for (let k = 0; k < count; k++) {
    const rank = buffer[3 * k + 2]!;
    const marker = markerOf(rank);
    out[k] = {
      start: buffer[3 * k]!,
      end: buffer[3 * k + 1]!,
      replacement: marker,
      marker,
      rank,
    };
  }
  return out;
}
