/**
 * How much of a stream's tail the scrubber holds back so that an encoded run still growing at the
 * end of one chunk is decoded whole with the next (decoded.ts finds and decodes the runs).
 */

import { byteListHold } from './byte-lists.js';
import { MAX_ENCODED_RUN, WINDOW_OVERLAP } from './decoded.js';
import { dumpHold } from './dump-runs.js';
import { REFERENCE_RUN_TABLE } from './reference-runs.js';

/**
 * Where a stream must start holding so that an encoded run still growing at
 * the end of `input` is decoded whole with the next chunk: the start of the
 * trailing stretch of characters that can belong to a run (line breaks
 * included, for wrapped bodies); only its last WINDOW_OVERLAP characters when
 * it is longer than a stream holds (a token this cut splits begins there); or
 * `input.length` when it looks like a plain word.
 *
 * A plain word (letters and punctuation, no digit, none of `+/=%\\_-`, no
 * lower-to-upper change inside: `Hello`, `API`, `done!`)
 * is emitted at once: holding every stream's last word would delay each LLM
 * token by one chunk. If the next chunk makes it the head of a base64 run,
 * the run is decoded at every alignment from the cut (`findEncoded` with
 * `continued`), so a token inside is still found; only the redaction then
 * starts at the cut instead of at the word.
 */
export function encodedHold(input: string): number {
  return Math.min(runHold(input), dumpHold(input, MAX_ENCODED_RUN), byteListHold(input, MAX_ENCODED_RUN));
}

function runHold(input: string): number {
  const n = input.length;
  let k = n;
  let encodedLooking = false;
  let after = 0;
  while (k > 0 && n - k <= MAX_ENCODED_RUN) {
    const code = input.charCodeAt(k - 1);
    if (RUN_OR_BREAK[code] !== 1) break;
    // Scanning backwards: `after` is the character that follows this one.
    if (HINT[code] === 1 || (code >= 97 && code <= 122 && after >= 65 && after <= 90)) encodedLooking = true;
    after = code;
    k--;
  }
  if (!encodedLooking) return n;
  // Longer than a stream holds: its head was decoded with this chunk, and a token that this cut
  // splits begins in the last WINDOW_OVERLAP characters (an encoded token is shorter), so those
  // are held to be decoded again with the next chunk, at every alignment.
  if (n - k > MAX_ENCODED_RUN) return n - WINDOW_OVERLAP;
  return k;
}

/** Characters of encodings that words and punctuation in prose rarely hold. */
const HINT = new Uint8Array(65536);
for (const ch of '0123456789+/=%\\_-&') HINT[ch.charCodeAt(0)] = 1;

/**
 * 1 for a character that can continue a run of any kind (a character reference's `&` and `;`
 * among them: a value echoed as `…MDENG&#43;bPx…` and cut after its `&` was let out up to the
 * cut), or break a wrapped body's lines.
 */
const RUN_OR_BREAK = new Uint8Array(65536).fill(1);
for (let code = 0; code < 65536; code++) {
  const ch = String.fromCharCode(code);
  if (ch !== '\r' && ch !== '\n' && ch !== '&' && REFERENCE_RUN_TABLE[code] !== 1) RUN_OR_BREAK[code] = 0;
}
