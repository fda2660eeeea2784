/**
 * Bytes printed as a list (see decoded.ts): a Node Buffer as JSON (`{"type":"Buffer","data":[115,
 * 107,…]}`, what `JSON.stringify` makes of one, so a tool that returns a Buffer in its JSON sends
 * this), as `util.inspect` shows it (`<Buffer 73 6b …>`, `Uint8Array(37) [ 115, 107, … ]`), or a
 * list of byte values from any language (`list(b'…')`). A key read into bytes went out bare in
 * each: the list is one more kind of encoded run, its bytes scanned, the list redacted whole when
 * they carry a match.
 *
 * Found by `indexOf` of `[` (and `<Buffer `), then read forward: a list not of bytes (a number past
 * 255, a fraction, a string) ends the run there, most at their first character.
 */
import { HEX_DIGIT_VALUES } from './char-tables.js';
import type { DecodedWriter } from './decoded-text.js';

const HEX_VALUE = HEX_DIGIT_VALUES;

/** Where inspect's Buffer starts its hex bytes. */
const INSPECTED = '<Buffer ';
/** A list shorter than this many bytes holds no credential a rule names. */
const MIN_LIST_BYTES = 12;

let SCRATCH: Buffer = Buffer.alloc(4096);

/**
 * Each byte list in `input`: `[` and numbers up to 255 (a Buffer's JSON, a Uint8Array inspected,
 * Python's `list(b'…')`), and inspect's `<Buffer 73 6b …>`; its bytes written to `out`, the run
 * closed over it. A list of other numbers (`[1000, …]`, `[0.25, …]`) ends where they start.
 */
export function findByteLists(input: string, out: DecodedWriter, locate = false): void {
  for (let at = input.indexOf('['); at >= 0; ) {
    const list = readDecimals(input, at + 1);
    closeList(out, at, list, locate);
    at = input.indexOf('[', Math.max(list.end, at + 1));
  }
  for (let at = input.indexOf(INSPECTED); at >= 0; ) {
    const list = readHexPairs(input, at + INSPECTED.length);
    closeList(out, at, list, locate);
    at = input.indexOf(INSPECTED, Math.max(list.end, at + 1));
  }
}

function closeList(out: DecodedWriter, start: number, list: List, locate: boolean): void {
  if (list.bytes < MIN_LIST_BYTES || !mostlyText(list.bytes)) return;
  if (locate) out.close(start, list.end, true);
  else {
    out.bytes(SCRATCH, 0, list.bytes);
    out.close(start, list.end);
  }
}

/**
 * Whether the first `count` bytes of SCRATCH are text: printable ASCII or whitespace, nine in ten
 * or more. A key is; pixels, counts and ids are not, and JSON full of such lists (an image's
 * colours) paid a decoded run each.
 */
function mostlyText(count: number): boolean {
  let other = 0;
  for (let k = 0; k < count; k++) {
    const byte = SCRATCH[k]!;
    if ((byte < 32 || byte > 126) && byte !== 9 && byte !== 10 && byte !== 13 && ++other * 10 > count)
      return false;
  }
  return true;
}

interface List {
  /** How many bytes were read into SCRATCH. */
  bytes: number;
  /** Where the list's text ends. */
  end: number;
}

/** `73 6b 2d …` to its first non-pair (`>`, ` ...`): inspect's Buffer. */
function readHexPairs(input: string, from: number): List {
  let count = 0;
  let k = from;
  while (k + 1 < input.length) {
    const high = HEX_VALUE[input.charCodeAt(k)]!;
    const low = HEX_VALUE[input.charCodeAt(k + 1)]!;
    if (high === 255 || low === 255) break;
    put(count++, (high << 4) | low);
    k += 2;
    if (input.charCodeAt(k) !== SPACE) break;
    k++;
  }
  return { bytes: count, end: k };
}

/** `115, 107, …` (any whitespace around the commas) to its `]`, or to the first non-byte. */
function readDecimals(input: string, from: number): List {
  let count = 0;
  let k = from;
  const n = input.length;
  for (;;) {
    while (k < n && isSpace(input.charCodeAt(k))) k++;
    let value = 0;
    let digits = 0;
    for (; k < n && digits < 4; k++) {
      const code = input.charCodeAt(k);
      if (code < 48 || code > 57) break;
      value = value * 10 + code - 48;
      digits++;
    }
    if (digits === 0 || value > 255) break;
    put(count++, value);
    while (k < n && isSpace(input.charCodeAt(k))) k++;
    if (input.charCodeAt(k) !== COMMA) break;
    k++;
  }
  if (input.charCodeAt(k) === CLOSE) k++;
  return { bytes: count, end: k };
}

function put(at: number, byte: number): void {
  if (at >= SCRATCH.length) {
    const larger = Buffer.alloc(SCRATCH.length * 2);
    SCRATCH.copy(larger);
    SCRATCH = larger;
  }
  SCRATCH[at] = byte;
}

const isSpace = (code: number) => code === SPACE || code === 9 || code === 10 || code === 13;

const SPACE = 32;
const COMMA = 44;
const CLOSE = 93;

/**
 * Where a stream must start holding so that a byte list still growing at the end of `input` is
 * read whole with the next chunk: its `[` or `<Buffer `, when the list runs to the end, no more
 * than `limit` characters back; `input.length` otherwise.
 */
export function byteListHold(input: string, limit: number): number {
  const n = input.length;
  let hold = n;
  const open = input.lastIndexOf('[');
  if (open >= 0 && open >= n - limit && readDecimals(input, open + 1).end >= n) hold = open;
  const inspected = input.lastIndexOf(INSPECTED);
  if (inspected >= 0 && inspected >= n - limit && readHexPairs(input, inspected + INSPECTED.length).end >= n)
    hold = Math.min(hold, inspected);
  return hold;
}
