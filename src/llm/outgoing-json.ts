/**
 * A request body on its way to the API: the checked value serialised again
 * (never the agent's own bytes, so what was checked is what is sent, whatever
 * another parser would make of duplicate keys), encoded into memory reused
 * from one request to the next.
 *
 * Why not `JSON.stringify` and a string: for a long conversation it returns a
 * rope, and node's first reads of it (its UTF-8 length, the request head
 * prepended, the socket's copy) each copy it whole into fresh memory. On this
 * project's hosts a fresh page costs about 20 µs in faults, so a 210 KB prompt
 * paid ~150 faults, ~3 ms, before its first byte left (bench/README.md, LLM
 * long prompt). Here the value is serialised in pieces (a message, a content
 * block: short strings, no rope to copy flat) and each piece is written
 * straight into a pooled buffer; once warm, nothing on the way is fresh.
 *
 * The bytes equal `JSON.stringify(value)` for any value JSON can hold: only
 * plain arrays and objects are taken apart, and they are written with the
 * same rules (keys in `Object.keys` order, `undefined` and functions left out
 * of objects and `null` in arrays); everything else is `JSON.stringify`'s own.
 */

import { giveBuffer, takeBuffer } from '../util/buffer-pool.js';

/** Arrays and objects this many levels deep are taken apart; below, a piece is one `JSON.stringify`. */
const SPLIT_DEPTH = 4;
export interface OutgoingJson {
  /** The UTF-8 bytes to send: valid until `release`. */
  readonly bytes: Buffer;
  /** Gives the memory back for another request; once the bytes are written or dropped. Idempotent. */
  release(): void;
}

/** What `JSON.stringify` leaves out of an object and writes as `null` in an array. */
function unserialisable(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/** A plain array or object with no `toJSON`: written here exactly as `JSON.stringify` would. */
function takeApart(value: unknown): 'array' | 'object' | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if ('toJSON' in value) return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (Array.isArray(value)) return proto === Array.prototype ? 'array' : undefined;
  return proto === Object.prototype || proto === null ? 'object' : undefined;
}

/** `value` as `JSON.stringify` writes it, in pieces whose concatenation is that text. */
export function jsonPieces(value: unknown, depth = SPLIT_DEPTH, out: string[] = []): string[] {
  const kind = depth > 0 ? takeApart(value) : undefined;
  if (kind === 'array') {
    const items = value as unknown[];
    out.push('[');
    for (let i = 0; i < items.length; i++) {
      if (i) out.push(',');
      const item = items[i];
      if (unserialisable(item)) out.push('null');
      else jsonPieces(item, depth - 1, out);
    }
    out.push(']');
  } else if (kind === 'object') {
    const record = value as Record<string, unknown>;
    let first = true;
    out.push('{');
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (unserialisable(item)) continue;
      out.push(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      jsonPieces(item, depth - 1, out);
    }
    out.push('}');
  } else {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError('a value JSON cannot hold');
    out.push(text);
  }
  return out;
}

/**
 * Below this many bytes as the agent sent it, a body goes as `JSON.stringify`'s string: short
 * strings live in memory V8 keeps reusing, so there is nothing to save and a few pieces to pay.
 */
export const LONG_BODY = 64 * 1024;

/** The body to send: a plain string when short, else bytes in pooled memory (`serialiseJson`). */
export function outgoingJson(value: unknown, sentBytes: number): string | OutgoingJson {
  return sentBytes < LONG_BODY ? JSON.stringify(value) : serialiseJson(value);
}

/** `value` serialised as `JSON.stringify` would, as UTF-8 in pooled memory. */
export function serialiseJson(value: unknown): OutgoingJson {
  const pieces = jsonPieces(value);
  let chars = 0;
  for (const piece of pieces) chars += piece.length;
  // Most text is one byte a character; a piece that may not fit is measured first.
  let buffer = takeBuffer(chars + 1024);
  let at = 0;
  for (const piece of pieces) {
    if (buffer.length - at < piece.length * 3) {
      const need = at + Buffer.byteLength(piece);
      if (need > buffer.length) {
        const bigger = takeBuffer(need + (chars - piece.length));
        buffer.copy(bigger, 0, 0, at);
        giveBuffer(buffer);
        buffer = bigger;
      }
    }
    at += buffer.write(piece, at);
  }
  const held = buffer;
  let released = false;
  return {
    bytes: held.subarray(0, at),
    release: () => {
      // Twice given back would hand one buffer to two requests at once.
      if (released) return;
      released = true;
      giveBuffer(held);
    },
  };
}
