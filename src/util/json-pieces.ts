/**
 * A value's JSON as `JSON.stringify` writes it, in pieces whose concatenation
 * is that text, for writing straight into a buffer.
 *
 * Why: for a long value `JSON.stringify` returns a rope, and the first native
 * read of it (its UTF-8 length, an encode, a socket write) copies it whole into
 * a fresh flat string. On this project's hosts fresh memory costs its page
 * faults (~20 µs a page): reading flat the SDK's serialised 1 MB tool answer
 * took 6.4 ms of the event loop, in one turn (bench/README.md). Pieces are
 * short strings in memory V8 keeps reusing: a message, a content block, and a
 * long string in slices of `STRING_SLICE` characters.
 *
 * Only plain arrays and objects are taken apart, and they are written with
 * `JSON.stringify`'s rules (keys in `Object.keys` order, `undefined`,
 * functions and symbols left out of objects and `null` in arrays); a slice of
 * a long string is `JSON.stringify`'s own escaping of it, cut where no
 * surrogate pair is split (a pair is escaped as one character, a lone half
 * as `\uXXXX`); everything else is one `JSON.stringify`.
 */

/** Arrays and objects this many levels deep are taken apart; below, a piece is one `JSON.stringify`. */
export const SPLIT_DEPTH = 4;
/** Strings this long or longer are serialised in slices. */
export const LONG_STRING = 64 * 1024;
/** Characters per slice of a long string. */
const STRING_SLICE = 32 * 1024;

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
  } else if (typeof value === 'string' && value.length >= LONG_STRING) {
    stringPieces(value, out);
  } else {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) throw new TypeError('a value JSON cannot hold');
    out.push(text);
  }
  return out;
}

/** A long string's JSON in slices: each slice escaped by `JSON.stringify`, its quotes but the outer two cut. */
function stringPieces(text: string, out: string[]): void {
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + STRING_SLICE, text.length);
    // Never between the halves of a surrogate pair: each half alone would be escaped.
    if (
      end < text.length &&
      isHighSurrogate(text.charCodeAt(end - 1)) &&
      isLowSurrogate(text.charCodeAt(end))
    )
      end++;
    const escaped = JSON.stringify(text.slice(start, end));
    out.push(escaped.slice(start === 0 ? 0 : 1, end === text.length ? escaped.length : -1));
    start = end;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** The pieces' UTF-8 in one new buffer of exactly their length. */
export function piecesToBytes(pieces: readonly string[]): Buffer {
  let size = 0;
  for (const piece of pieces) size += Buffer.byteLength(piece, 'utf8');
  const bytes = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const piece of pieces) at += bytes.write(piece, at, 'utf8');
  return bytes;
}
