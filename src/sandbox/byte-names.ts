/**
 * File names as the kernel has them: bytes, not text. An agent can name a file with any bytes but
 * `/` and NUL (`printf 'a\377'`), and reading that name as UTF-8 turns each byte that does not
 * decode into U+FFFD: the string names no file (looking it up fails), and two names that differ
 * only in such bytes become one string (one overwrites the other). So the merge reads names as
 * bytes and keys them by a string that keeps every byte: valid UTF-8 decodes as itself, and each
 * byte that does not decode becomes the lone surrogate U+DC00 + byte (Python's "surrogateescape").
 * No valid UTF-8 decodes to a lone surrogate, so the mapping is one to one and `bytesOf` undoes it;
 * the names' `/` and `.` are ASCII and stay as they are, so paths split and compare as before.
 *
 * Carried, not held back: such names are ordinary (an archive from an older system, a test
 * fixture), none of them is a steering file (those names are ASCII), and holding them back would
 * leave the host's copy of a folder out of step with the jail's for no gain.
 */
import type { PathLike } from 'node:fs';

/** Bytes 0x80-0xff that do not decode, as lone surrogates U+DC80-U+DCFF. */
const ESCAPED = /[\udc80-\udcff]/u;

/** How many bytes the UTF-8 sequence at `i` takes, or 0 when it is not valid there. */
function sequenceAt(bytes: Uint8Array, i: number): number {
  const b = bytes[i] as number;
  if (b < 0x80) return 1;
  const cont = (at: number, lo = 0x80, hi = 0xbf) => {
    const c = bytes[i + at];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (b >= 0xc2 && b <= 0xdf) return cont(1) ? 2 : 0;
  if (b >= 0xe0 && b <= 0xef) {
    // E0 needs A0-BF (no overlong forms); ED needs 80-9F (no surrogates).
    const second = b === 0xe0 ? cont(1, 0xa0) : b === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    return second && cont(2) ? 3 : 0;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    // F0 needs 90-BF (no overlong forms); F4 needs 80-8F (nothing above U+10FFFF).
    const second = b === 0xf0 ? cont(1, 0x90) : b === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    return second && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** A name (or link target) read as bytes, as a string that keeps every byte. */
export function nameOf(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  // Every byte that does not decode gives U+FFFD; without one, the bytes were valid UTF-8.
  if (!text.includes('\ufffd')) return text;
  let out = '';
  let start = 0;
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceAt(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out += bytes.toString('utf8', start, i) + String.fromCharCode(0xdc00 + (bytes[i] as number));
    i += 1;
    start = i;
  }
  return out + bytes.toString('utf8', start);
}

/** The bytes `nameOf` read. */
export function bytesOf(name: string): Buffer {
  if (!ESCAPED.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let text = '';
  for (const char of name) {
    const code = char.length === 1 ? char.charCodeAt(0) : 0;
    if (code >= 0xdc80 && code <= 0xdcff) {
      parts.push(Buffer.from(text, 'utf8'), Buffer.from([code - 0xdc00]));
      text = '';
    } else text += char;
  }
  parts.push(Buffer.from(text, 'utf8'));
  return Buffer.concat(parts);
}

/** `dir/rel` as a path fs takes: the plain string when `rel` is valid UTF-8, else its bytes. */
export function pathIn(dir: string, rel: string): PathLike {
  const path = rel === '' ? dir : `${dir}/${rel}`;
  return ESCAPED.test(rel) ? bytesOf(path) : path;
}

/** A name for people to read (reports, audit events): each byte that does not decode as `\xNN`. */
export function shownName(name: string): string {
  return ESCAPED.test(name)
    ? name.replace(/[\udc80-\udcff]/gu, (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`)
    : name;
}
