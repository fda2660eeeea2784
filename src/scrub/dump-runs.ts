/**
 * Hex dumps of encoded text (see decoded.ts): the lines `xxd`, `hexdump -C` and `od -A x -t x1`
 * print, whose bytes are a file's. An agent that reads `.env` through `xxd` sees its keys cut
 * into 16-byte lines, in the hex column and in the ASCII column both: neither holds a key whole,
 * so the text as it is matches nothing. A block of consecutive dump lines is one run: its bytes,
 * read from the hex column, are the decoded text, and a match in them redacts the block whole.
 *
 * Found line by line: a line is looked at only where it starts with a hex digit or a space, and
 * read by one sticky regex; ordinary text's lines fail it in their first characters.
 */
import { HEX_DIGIT_VALUES } from './char-tables.js';
import type { DecodedWriter } from './decoded-text.js';

const HEX_VALUE = HEX_DIGIT_VALUES;

/**
 * A dump line: an offset (hex, `xxd`'s with a colon; or none, `od -An`, a line of bytes as a
 * debugger or a packet tool prints them), then its hex column, bytes alone (`hexdump -C`,
 * `od -t x1`) or in groups of two to eight (`xxd`, `xxd -g`), one space apart (two in the middle
 * of `hexdump -C`'s) or a colon (`41:50:49`); after it, the ASCII column or the line's end.
 */
const DUMP_LINE =
  /(?:[0-9a-fA-F]{6,16}:?[ \t]{1,3}| {0,3})((?:[0-9a-fA-F]{2}){1,8}(?:(?: {1,2}|:)(?:[0-9a-fA-F]{2}){1,8}){1,127})(?=[ \t]{2,}|[ \t]*\|| ?\r?$|\r?\n)/y;

/**
 * A line of `od -c`: an offset (octal, or hex with `-A x`), then a cell of four characters a
 * byte, right-aligned: the character, a C escape (`\n`), or three octal digits.
 */
const CHAR_LINE =
  /[0-9a-fA-F]{6,16}((?: {3}[^ \r\n]| {2}\\[0abfnrtv]| [0-7]{3}| {4}){1,32})[ \t]*(?=\r?\n|$)/y;

/** The byte a C escape of `od -c` stands for. */
const ESCAPED: Readonly<Record<string, number>> = { '0': 0, a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** A block shorter than this many bytes holds no credential a rule names. */
const MIN_DUMP_BYTES = 12;

/** Bytes of the block being read. */
let SCRATCH: Buffer = Buffer.alloc(4096);

/**
 * Each block of dump lines in `input`: its bytes written to `out` (nothing written with `locate`)
 * and the run closed over the block's lines.
 */
export function findDumped(input: string, out: DecodedWriter, locate = false): void {
  const n = input.length;
  let blockStart = -1;
  let blockEnd = -1;
  let bytes = 0;
  for (let at = 0; at < n; ) {
    const next = input.indexOf('\n', at);
    const lineEnd = next < 0 ? n : next;
    const read = dumpLine(input, at, lineEnd, locate ? -1 : bytes);
    if (read >= 0) {
      if (blockStart < 0) blockStart = at;
      blockEnd = lineEnd;
      bytes += read;
    } else if (blockStart >= 0) {
      closeBlock(out, blockStart, blockEnd, bytes, locate);
      blockStart = -1;
      bytes = 0;
    }
    if (next < 0) break;
    at = next + 1;
  }
  if (blockStart >= 0) closeBlock(out, blockStart, blockEnd, bytes, locate);
}

function closeBlock(out: DecodedWriter, start: number, end: number, bytes: number, locate: boolean): void {
  if (bytes < MIN_DUMP_BYTES) return;
  if (locate) {
    out.close(start, end, true);
    return;
  }
  out.bytes(SCRATCH, 0, bytes);
  out.close(start, end);
}

/**
 * The bytes of the dump line at `input[from, to)`, written to SCRATCH from `at` (not written
 * when `at` is -1): how many, or -1 when the line is not a dump line.
 */
function dumpLine(input: string, from: number, to: number, at: number): number {
  if (!dumpStart(input, from)) return -1;
  DUMP_LINE.lastIndex = from;
  const match = DUMP_LINE.exec(input);
  if (!match || match.index + match[0].length > to) return charLine(input, from, to, at);
  const column = match[1]!;
  let count = 0;
  for (let k = 0; k + 1 < column.length; ) {
    const high = HEX_VALUE[column.charCodeAt(k)]!;
    if (high === 255) {
      k++;
      continue;
    }
    if (at >= 0) {
      if (at + count >= SCRATCH.length) SCRATCH = grown(SCRATCH);
      SCRATCH[at + count] = (high << 4) | HEX_VALUE[column.charCodeAt(k + 1)]!;
    }
    count++;
    k += 2;
  }
  return count;
}

/** The bytes of an `od -c` line at `input[from, to)`, as dumpLine; -1 when it is not one. */
function charLine(input: string, from: number, to: number, at: number): number {
  CHAR_LINE.lastIndex = from;
  const match = CHAR_LINE.exec(input);
  if (!match || match.index + match[0].length > to) return -1;
  const cells = match[1]!;
  let count = 0;
  for (let k = 0; k + 3 < cells.length; k += 4) {
    const cell = cells.slice(k, k + 4);
    const byte =
      cell[2] === '\\'
        ? ESCAPED[cell[3]!]!
        : cell[0] === ' ' && cell[1] !== ' '
          ? Number.parseInt(cell.slice(1), 8) // ` 342`: a byte in octal
          : cell.charCodeAt(3); // `   F`, or four spaces for a space
    if (at >= 0) {
      if (at + count >= SCRATCH.length) SCRATCH = grown(SCRATCH);
      SCRATCH[at + count] = byte & 0xff;
    }
    count++;
  }
  return count;
}

/**
 * Whether a dump line can start at `from`: six hex digits (an offset), a space and two hex
 * digits (`od -An`), or two bytes and their separator (`41 50 `, `41:50:`). Most lines fail it at their first or second character, before the regex.
 */
function dumpStart(input: string, from: number): boolean {
  if (from + 6 > input.length) return false;
  if (input.charCodeAt(from) === 32) {
    let k = from + 1;
    while (k < from + 3 && input.charCodeAt(k) === 32) k++;
    return HEX_VALUE[input.charCodeAt(k)] !== 255 && HEX_VALUE[input.charCodeAt(k + 1)] !== 255;
  }
  // Bytes from the line's start: `41 50 …`, `41:50:…`.
  const third = input.charCodeAt(from + 2);
  if ((third === 32 || third === 58) && input.charCodeAt(from + 5) === third) {
    for (const k of [0, 1, 3, 4]) if (HEX_VALUE[input.charCodeAt(from + k)] === 255) return false;
    return true;
  }
  for (let k = from; k < from + 6; k++) if (HEX_VALUE[input.charCodeAt(k)] === 255) return false;
  return true;
}

function grown(buffer: Buffer): Buffer {
  const larger = Buffer.alloc(buffer.length * 2);
  buffer.copy(larger);
  return larger;
}

/** The start of a dump line cut short: an offset, then hex groups so far. */
const DUMP_HEAD =
  /(?:[0-9a-fA-F]{1,16}:?|[0-9a-fA-F]{6,16}:?[ \t]{1,3}(?:[0-9a-fA-F]{1,16}(?: {1,2}|$)){0,32}.*)$/y;

/**
 * Where a stream must start holding so that a dump still growing at the end of `input` is read
 * whole with the next chunk: the first line of its trailing block of dump lines (the last line
 * may be cut short), no more than `limit` characters back; `input.length` when it ends in none.
 */
export function dumpHold(input: string, limit: number): number {
  const n = input.length;
  let lineStart = input.lastIndexOf('\n', n - 1) + 1;
  let hold = n;
  // The last line, cut or whole.
  if (lineStart < n) {
    if (dumpLine(input, lineStart, n, -1) < 0 && !dumpHead(input, lineStart)) return n;
    hold = lineStart;
  }
  // Whole lines before it, while they are dump lines.
  while (lineStart > 0 && n - lineStart <= limit) {
    const end = lineStart - 1;
    const start = input.lastIndexOf('\n', end - 1) + 1;
    if (dumpLine(input, start, end, -1) < 0) break;
    hold = start;
    lineStart = start;
  }
  return Math.max(hold, n - limit);
}

function dumpHead(input: string, from: number): boolean {
  const first = input.charCodeAt(from);
  if (HEX_VALUE[first] === 255) return false;
  DUMP_HEAD.lastIndex = from;
  return DUMP_HEAD.test(input);
}
