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
 * The bytes equal `JSON.stringify(value)` for any value JSON can hold
 * (util/json-pieces.ts says how).
 */

import { jsonPieces } from '../util/json-pieces.js';
import { giveBuffer, takeBuffer } from './buffer-pool.js';

export { jsonPieces };

export interface OutgoingJson {
  /** The UTF-8 bytes to send: valid until `release`. */
  readonly bytes: Buffer;
  /** Gives the memory back for another request; once the bytes are written or dropped. Idempotent. */
  release(): void;
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
