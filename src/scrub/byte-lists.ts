/**
 * Bytes printed as a list (see decoded.ts): a Node Buffer as JSON (`{"type":"Buffer","data":[115,
 * 107,…]}`, what `JSON.stringify` makes of one, so a tool that returns a Buffer in its JSON sends
 * this) or as `util.inspect` shows it (`<Buffer 73 6b …>`, `Uint8Array(37) [ 115, 107, … ]`). A
 * key read into a Buffer went out bare in each: the list is one more kind of encoded run, its
 * bytes scanned, the list redacted whole when they carry a match.
 *
 * Found by the type's name (`indexOf`, rare in other text), then read forward: a list not of
 * bytes (a number past 255, another character) ends the run there.
 */
import { HEX_DIGIT_VALUES } from './char-tables.js';
import type { DecodedWriter } from './decoded-text.js';

const HEX_VALUE = HEX_DIGIT_VALUES;

/** Names a byte list follows; `Buffer` also starts Node's JSON form (`"type":"Buffer"`). */
const NAMES = ['Buffer', 'Uint8Array'];
/** How far after the name its list may open (`"Buffer","data":[`, `Uint8Array(4096) [`). */
const OPENING_WITHIN = 24;
/** A list shorter than this many bytes holds no credential a rule names. */
const MIN_LIST_BYTES = 12;

let SCRATCH: Buffer = Buffer.alloc(4096);

/** Each byte list in `input` after one of NAMES: its bytes written to `out`, the run closed. */
export function findByteLists(input: string, out: DecodedWriter, locate = false): void {
  for (const name of NAMES) {
    for (let at = input.indexOf(name); at >= 0; ) {
      const list = readList(input, at + name.length);
      if (list.bytes >= MIN_LIST_BYTES) {
        if (locate) out.close(at, list.end, true);
        else {
          out.bytes(SCRATCH, 0, list.bytes);
          out.close(at, list.end);
        }
      }
      at = input.indexOf(name, Math.max(list.end, at + 1));
    }
  }
}

interface List {
  /** How many bytes were read into SCRATCH. */
  bytes: number;
  /** Where the list's text ends. */
  end: number;
}

/** The list after a name at `from`: `[decimals]` within OPENING_WITHIN, or ` hex hex …` (inspect). */
function readList(input: string, from: number): List {
  if (
    input.charCodeAt(from) === SPACE &&
    from + 1 < input.length &&
    HEX_VALUE[input.charCodeAt(from + 1)] !== 255
  ) {
    return readHexPairs(input, from + 1);
  }
  const stop = Math.min(input.length, from + OPENING_WITHIN);
  for (let k = from; k < stop; k++) {
    const code = input.charCodeAt(k);
    if (code === OPEN) return readDecimals(input, k + 1);
    if (code === CLOSE || code === CLOSE_BRACE || code === GT) break;
  }
  return { bytes: 0, end: from };
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
const OPEN = 91;
const CLOSE = 93;
const CLOSE_BRACE = 125;
const GT = 62;

/**
 * Where a stream must start holding so that a byte list still growing at the end of `input` is
 * read whole with the next chunk: the name before it, when its list runs to the end (or has not
 * opened yet), no more than `limit` characters back; `input.length` otherwise.
 */
export function byteListHold(input: string, limit: number): number {
  const n = input.length;
  let hold = n;
  for (const name of NAMES) {
    const at = input.lastIndexOf(name);
    if (at < 0 || at < n - limit) continue;
    const end = readList(input, at + name.length).end;
    const open = end === at + name.length && n - end < OPENING_WITHIN;
    if (end >= n || open) hold = Math.min(hold, at);
  }
  return hold;
}
