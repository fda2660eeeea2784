/**
 * Decoding one encoded run (decoded.ts finds them): hex or base64 decoded into a scratch buffer,
 * window by window for a long run, gzip or zlib data decompressed within a budget shared by the
 * whole search, and the printable ASCII stretches of the bytes written to the search's writer.
 * A short run of random bytes (a hash, an id) is dropped reading only the bytes a probe needs.
 */
import { isAscii } from 'node:buffer';
import { gunzipSync, inflateSync, constants as zlibConstants } from 'node:zlib';
import { HEX_DIGIT_VALUES } from './char-tables.js';
import type { DecodedWriter } from './decoded-text.js';

const HEX_VALUE = HEX_DIGIT_VALUES;

/** A stream holds back no more of a growing run than this; longer runs are decoded in windows this long. */
export const MAX_ENCODED_RUN = 16_384;
/** Windows of a long run overlap by this much: more than any credential's encoding. */
export const WINDOW_OVERLAP = 1_024;
/** Decoded bytes are scanned in stretches of printable ASCII at least this long. */
const MIN_STRETCH = 8;
const EQ = 61;

/** Scratch for decoded bytes: one window of a run. */
const SCRATCH = Buffer.alloc(MAX_ENCODED_RUN);

/**
 * The printable stretches of `input[from, to)` decoded (see decodeText), window by window for a
 * long run: windows start a multiple of 4 characters apart (a base64 quantum, two hex bytes),
 * so each decodes as the whole run would there. `breaks`: a base64 body with its line breaks in
 * place (no longer than one window).
 */
export function decodeRun(
  out: DecodedWriter,
  input: string,
  from: number,
  to: number,
  hex: boolean,
  breaks = false,
): void {
  if (inflatedRun(out, input, from, to, hex)) return;
  if (to - from <= MAX_ENCODED_RUN) {
    decodeRange(out, input, from, to, hex, breaks);
    return;
  }
  for (let at = from; ; at += MAX_ENCODED_RUN - WINDOW_OVERLAP) {
    const before = out.length;
    if (out.written) out.separator();
    const mark = out.length;
    decodeRange(out, input, at, Math.min(to, at + MAX_ENCODED_RUN), hex);
    // A window with no printable stretch adds no separator either.
    if (out.length === mark) out.length = before;
    if (at + MAX_ENCODED_RUN >= to) break;
  }
}

/**
 * A run whose bytes are gzip or zlib data (`gzip -c .env | base64`): the printable stretches of
 * what it decompresses to, written to `out`; false when it is not such data (it is then decoded
 * as it is).
 * All decompression in one scan shares a budget proportional to the text (findEncoded), so
 * small bombs cannot multiply the work; past it, or past a corrupt stream, the run is decoded as
 * it is.
 */
function inflatedRun(out: DecodedWriter, input: string, from: number, to: number, hex: boolean): boolean {
  if (to - from < 4) return false;
  // The first two bytes, read from the first four characters (no allocation: most runs are not
  // compressed, and JSON tool output has thousands of runs).
  const c0 = input.charCodeAt(from);
  const c1 = input.charCodeAt(from + 1);
  const c2 = input.charCodeAt(from + 2);
  const c3 = input.charCodeAt(from + 3);
  const first = hex
    ? (HEX_VALUE[c0]! << 4) | HEX_VALUE[c1]!
    : ((SIXBIT[c0]! << 2) | (SIXBIT[c1]! >> 4)) & 0xff;
  const second = hex
    ? (HEX_VALUE[c2]! << 4) | HEX_VALUE[c3]!
    : (((SIXBIT[c1]! & 15) << 4) | (SIXBIT[c2]! >> 2)) & 0xff;
  const gzip = first === 0x1f && second === 0x8b;
  const zlib = first === 0x78 && ((first << 8) | second) % 31 === 0;
  if ((!gzip && !zlib) || inflateBudget <= 0) return false;
  const encoding = hex ? 'hex' : 'base64';
  let inflated: Buffer;
  try {
    inflated = (gzip ? gunzipSync : inflateSync)(Buffer.from(input.slice(from, to), encoding), {
      // A stream cut short still gives what it holds so far.
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
      maxOutputLength: inflateBudget,
    });
  } catch {
    // Not compressed data after all, or larger than the budget: decoded as it is.
    return false;
  }
  inflateBudget -= inflated.length;
  printableStretches(out, inflated, inflated.length);
  return true;
}

/** Bytes all decompression in one findEncoded call may produce. */
let inflateBudget = 0;
const INFLATE_PER_CHAR = 4;
const INFLATE_FLOOR = 1 << 20;

/** A search of `chars` characters of text (not decoded text) starts the budget its levels share. */
export function startInflateBudget(chars: number): void {
  inflateBudget = INFLATE_PER_CHAR * chars + INFLATE_FLOOR;
}

/**
 * `input[from, to)` decoded as hex or base64: its printable stretches (printableStretches).
 * Node's decoders are native and skip what is not in the alphabet (line breaks of a wrapped
 * body: `breaks`, which short runs' decoders here do not); base64 takes both alphabets.
 */
function decodeRange(
  out: DecodedWriter,
  input: string,
  from: number,
  to: number,
  hex: boolean,
  breaks = false,
): void {
  if (!breaks && to - from <= SHORT_RUN) {
    // Most short runs are hashes and random ids, whose bytes hold no printable stretch: that is
    // settled reading the few bytes a probe needs, decoded from the text, before decoding all.
    if (!hasStretch(input, from, to, hex)) return;
    printableStretches(out, SCRATCH, hex ? hexInto(input, from, to) : base64Into(input, from, to));
    return;
  }
  const text = from === 0 && to === input.length ? input : input.slice(from, to);
  printableStretches(out, SCRATCH, SCRATCH.write(text, 0, hex ? 'hex' : 'base64'));
}

/**
 * Runs up to this long are decoded here rather than by node's native decoders: JSON tool output
 * has thousands of short ones (hashes, ids, thumbnails), and for those a slice and a native
 * call cost more than the decoding.
 */
export const SHORT_RUN = 256;

/** `input[from, to)`, all hex digits, decoded into SCRATCH; the byte count. */
function hexInto(input: string, from: number, to: number): number {
  let length = 0;
  for (let k = from; k + 1 < to; k += 2) {
    SCRATCH[length++] = (HEX_VALUE[input.charCodeAt(k)]! << 4) | HEX_VALUE[input.charCodeAt(k + 1)]!;
  }
  return length;
}

/**
 * `input[from, to)`, base64 or base64url characters with up to two \`=\` after them, decoded into
 * SCRATCH as node's decoder would: whole quanta, then 2 or 3 trailing characters as 1 or 2 bytes
 * (a lone trailing character decodes to nothing).
 */
function base64Into(input: string, from: number, to: number): number {
  while (to > from && input.charCodeAt(to - 1) === EQ) to--;
  let length = 0;
  let k = from;
  for (; k + 3 < to; k += 4) {
    const quantum =
      (SIXBIT[input.charCodeAt(k)]! << 18) |
      (SIXBIT[input.charCodeAt(k + 1)]! << 12) |
      (SIXBIT[input.charCodeAt(k + 2)]! << 6) |
      SIXBIT[input.charCodeAt(k + 3)]!;
    SCRATCH[length++] = quantum >> 16;
    SCRATCH[length++] = (quantum >> 8) & 0xff;
    SCRATCH[length++] = quantum & 0xff;
  }
  const left = to - k;
  if (left >= 2) {
    const quantum =
      (SIXBIT[input.charCodeAt(k)]! << 18) |
      (SIXBIT[input.charCodeAt(k + 1)]! << 12) |
      (left === 3 ? SIXBIT[input.charCodeAt(k + 2)]! << 6 : 0);
    SCRATCH[length++] = quantum >> 16;
    if (left === 3) SCRATCH[length++] = (quantum >> 8) & 0xff;
  }
  return length;
}

/**
 * Whether `input[from, to)` decoded (as hexInto or base64Into would) holds a stretch of printable
 * bytes at least MIN_STRETCH long: the probe of printableStretches, each byte it reads decoded
 * from its two characters.
 */
function hasStretch(input: string, from: number, to: number, hex: boolean): boolean {
  let length: number;
  if (hex) length = (to - from) >> 1;
  else {
    while (to > from && input.charCodeAt(to - 1) === EQ) to--;
    const left = (to - from) & 3;
    length = ((to - from) >> 2) * 3 + (left >= 2 ? left - 1 : 0);
  }
  let done = 0;
  for (let p = MIN_STRETCH - 1; p < length; p += MIN_STRETCH) {
    if (PRINTABLE[byteAt(input, from, p, hex)] === 0) continue;
    let start = p;
    while (start > done && PRINTABLE[byteAt(input, from, start - 1, hex)] === 1) start--;
    let end = p + 1;
    while (end < length && PRINTABLE[byteAt(input, from, end, hex)] === 1) end++;
    if (end - start >= MIN_STRETCH) return true;
    done = end;
    p = end - 1;
  }
  return false;
}

/** Byte `k` of the hex or base64 text at `from` (a base64 quantum's missing characters read as 0). */
function byteAt(input: string, from: number, k: number, hex: boolean): number {
  if (hex) {
    const at = from + 2 * k;
    return (HEX_VALUE[input.charCodeAt(at)]! << 4) | HEX_VALUE[input.charCodeAt(at + 1)]!;
  }
  const q = (k / 3) | 0;
  const at = from + 4 * q + (k - 3 * q);
  const high = SIXBIT[input.charCodeAt(at)]!;
  const low = SIXBIT[input.charCodeAt(at + 1)] ?? 0;
  switch (k - 3 * q) {
    case 0:
      return ((high << 2) | (low >> 4)) & 0xff;
    case 1:
      return ((high & 15) << 4) | (low >> 2);
    default:
      return ((high & 3) << 6) | low;
  }
}

/** Below this, the loop below is cheaper than a Buffer view and a native call. */
const NATIVE_ASCII_CHECK = 256;

/**
 * The stretches of printable ASCII at least MIN_STRETCH long in `bytes[0, length)`, written to
 * `out` separated by line breaks (nothing when there are none).
 */
function printableStretches(out: DecodedWriter, bytes: Buffer, length: number): void {
  // All ASCII (decoded text, the common case when there is any): all of it, checked natively.
  // Control characters are kept then: no rule matches across one, and keeping more text can only
  // find more.
  if (length >= NATIVE_ASCII_CHECK && isAscii(bytes.subarray(0, length))) {
    out.bytes(bytes, 0, length);
    return;
  }
  // Probing every MIN_STRETCH-th byte: a stretch that long holds a probe, and in binary most
  // probes land on an unprintable byte and cost nothing more.
  const mark = out.length;
  let done = 0;
  for (let p = MIN_STRETCH - 1; p < length; p += MIN_STRETCH) {
    if (PRINTABLE[bytes[p]!] === 0) continue;
    let start = p;
    while (start > done && PRINTABLE[bytes[start - 1]!] === 1) start--;
    let end = p + 1;
    while (end < length && PRINTABLE[bytes[end]!] === 1) end++;
    if (end - start >= MIN_STRETCH) {
      if (out.length > mark) out.separator();
      out.bytes(bytes, start, end);
    }
    done = end;
    p = end - 1;
  }
}

const PRINTABLE = new Uint8Array(256);
for (let b = 0x20; b < 0x7f; b++) PRINTABLE[b] = 1;
PRINTABLE[0x09] = PRINTABLE[0x0a] = PRINTABLE[0x0d] = 1;

/** The six bits of a base64 or base64url character (0 for others: only read on base64 runs). */
const SIXBIT = new Uint8Array(65536);
for (let v = 0; v < 64; v++) {
  SIXBIT['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(v)] = v;
}
SIXBIT['-'.charCodeAt(0)] = 62;
SIXBIT['_'.charCodeAt(0)] = 63;
