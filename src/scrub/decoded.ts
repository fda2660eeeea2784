/**
 * Encoded text that may carry a credential the rules would name in plain
 * form: a `ghp_` token base64-encoded into a MIME body (wrapped at 64 or 76
 * columns, with CRLF, LF or a JSON-escaped `\n` — possibly inside the token),
 * hex-encoded, percent-encoded (once or twice), written with `\u00xx` or
 * `\xNN` escapes, or quoted-printable with soft line breaks.
 *
 * The engine calls `findEncoded` on the text it scans, decodes every run
 * found, scans all decoded runs at once (one joined string, so a text of many
 * small runs costs one pass, not one call per run), and redacts the whole
 * encoded run that carried a match. Decoded text is searched again, to a
 * bounded depth (`MAX_DECODE_DEPTH`), as gitleaks' decoder does: base64 of a
 * URL-encoded token, a percent-encoded `%2567` (encoded twice).
 *
 * Linear: runs are found by two global regexes and a forward walk, each
 * character belongs to at most one run of each kind, and decoding shrinks
 * (base64 to 3/4, hex to 1/2, escapes to 1/3 or less).
 *
 * Decoded bytes are scanned as text where they are text: the stretches of
 * printable ASCII at least MIN_STRETCH long, as `strings` finds them. Binary
 * around a token (NUL padding, random bytes, a file's header) does not hide
 * it, and a binary blob with no such stretch costs its decoding only. A run of
 * any length is decoded, window by overlapping window (an image, an archive, a
 * padded token); a stream holds back at most `MAX_ENCODED_RUN` of a run that
 * is still growing, so in a stream a longer run is decoded as the chunks that
 * carry it, each with the last WINDOW_OVERLAP characters of the one before.
 *
 * This file finds the runs; decoded-bytes.ts decodes one and writes its printable stretches.
 */

import { findByteLists } from './byte-lists.js';
import { HEX_DIGIT_VALUES } from './char-tables.js';
import { codeUnits } from './code-units.js';
import type { Covering } from './covered-runs.js';
import { decodeRun, MAX_ENCODED_RUN, SHORT_RUN, startInflateBudget } from './decoded-bytes.js';
import { type DecodedRuns, DecodedWriter, type LocatedRuns } from './decoded-text.js';
import { findDumped } from './dump-runs.js';
import { findEscaped } from './escaped-runs.js';
import { findReferenced } from './reference-runs.js';
import { findTableCells } from './table-cells.js';

export { MAX_ENCODED_RUN, WINDOW_OVERLAP } from './decoded-bytes.js';
export type { DecodedRuns, LocatedRuns } from './decoded-text.js';

const HEX_VALUE = HEX_DIGIT_VALUES;

/** Decoded text is searched again at most this many times (encoded inside encoded). */
export const MAX_DECODE_DEPTH = 3;
/** Shorter base64 decodes to fewer than 15 bytes: shorter than any credential a rule names. */
const MIN_BASE64_RUN = 20;
/** 16 bytes. */
const MIN_HEX_RUN = 32;

/**
 * Encoded runs in `input`, decoded (each kind in order of start; kinds may overlap). `nested`:
 * `input` is decoded text of an earlier call's runs. `locate`: the runs' places only, none
 * decoded (each decoded text empty): every run of the shape that would be decoded, including
 * base64-shaped ones that decode to no text.
 */
/**
 * `covered`: the spans the scan of `input` will redact whole; a base64 run inside one is not
 * decoded (covered-runs.ts). Only for a whole text: a stream's spans may be scanned again.
 */
export function findEncoded(
  input: string,
  continued = false,
  nested = false,
  locate = false,
  covered?: Covering,
): DecodedRuns {
  return searched(input, continued, nested, locate, false, covered).finish();
}

/**
 * The places of the runs `findEncoded(input, continued, nested, true)` finds, in the same order:
 * only their places recorded, none copied out (views valid until the next search). Past the work
 * budget the engine redacts a hostile text's tens of thousands of runs unchecked: a line break
 * written per run, then a string of them and three copies, were a sixth of locating them.
 */
export function locateEncoded(input: string, continued = false, nested = false): LocatedRuns {
  return searched(input, continued, nested, true, true).located();
}

function searched(
  input: string,
  continued: boolean,
  nested: boolean,
  locate: boolean,
  placesOnly: boolean,
  covered?: Covering,
): DecodedWriter {
  // One writer for all scans: a scan's runs are finished (made a string and copied out) before
  // the scan of their decoded text starts another, and nothing here calls back into a scan.
  const out = WRITER;
  out.reset(placesOnly);
  // Decoded text searched again (`nested`) shares the budget of the text it came from: a fresh
  // one per level would let each level decompress four times more than the one before.
  if (!nested) startInflateBudget(input.length);
  findBase64(input, out, continued, locate, covered);
  findEscaped(input, out, locate);
  findReferenced(input, out, locate);
  findDumped(input, out, locate);
  findByteLists(input, out, locate);
  findTableCells(input, out, locate);
  return out;
}

const WRITER = new DecodedWriter();

function findBase64(
  input: string,
  out: DecodedWriter,
  continued: boolean,
  locate: boolean,
  covered?: Covering,
): void {
  const n = input.length;
  // Probing every MIN_BASE64_RUN-th character, not reading each: a run that long must contain a
  // probe, and a probe that lands in a shorter word costs that word. Ordinary text is mostly
  // short words, so this reads about a quarter of it; a regex (`[A-Za-z0-9+/_-]{20,}`) restarts
  // at every position of every word and cost more than the whole automaton pass.
  let done = 0;
  // The walks below read the text's code units from a typed array: half the time of charCodeAt
  // per character on JSON tool output, where paths, hashes and thumbnails are half the text.
  const codes = codeUnits(input);
  for (let i = MIN_BASE64_RUN - 1; i < n; i += MIN_BASE64_RUN) {
    if (SHAPE[codes[i]!] === 0) continue;
    if (covered?.containing(i) && covered.spanNames && !locate) {
      // The probe is inside a span found. Every run from the span's start on ends inside it when
      // no run, padding or line break goes on at its end: each is then one `holds` would hold
      // (its very extents included: the span names the result), and none is read. A page of
      // keys: every key is such a span, and was read whole a second time here.
      const s = covered.spanStart;
      const e = covered.spanEnd;
      if ((s <= done || s === 0 || SHAPE[codes[s - 1]!] === 0) && (e >= n || ENDS_RUN[codes[e]!] === 1)) {
        done = e;
        i = e - 1;
        continue;
      }
    }
    // The run's shape (cases, hex or not) is read as the run is found: most runs (paths, words
    // in one case) are then dropped without being read again or copied.
    let shape = 0;
    let start = i;
    while (start > done) {
      const bits = SHAPE[codes[start - 1]!]!;
      if (bits === 0) break;
      shape |= bits;
      start--;
    }
    // Most probes land in a word shorter than a run: its alphabet characters, with at most two
    // `=` after them, end before `start + MIN_BASE64_RUN`, so one character outside the alphabet
    // at `start + MIN_BASE64_RUN - 3` drops it unread. A run long enough that starts after that
    // character holds its alphabet characters for 18 from its start: the probe 20 after it lands
    // in them unless all they are is 18 or 19 of them before padding (13 or 14 bytes, shorter than
    // any credential a rule names; a known secret's base64 forms are matched in the text as it is).
    const far = start + MIN_BASE64_RUN - 3;
    if (far > i && (far >= n || SHAPE[codes[far]!] === 0)) {
      i = far;
      continue;
    }
    let end = i;
    while (end < n) {
      const bits = SHAPE[codes[end]!]!;
      if (bits === 0) break;
      shape |= bits;
      end++;
    }
    if (input.charCodeAt(end) === EQ) {
      end++;
      shape |= NOT_HEX;
      if (input.charCodeAt(end) === EQ) end++;
    }
    done = end;
    // Continue from the last character a run starting after `end` must cover.
    i = end - 1;
    if (end - start < MIN_BASE64_RUN) continue;
    // A wrapped body: lines of one width joined across breaks, then a shorter last line. The
    // first line may be shorter (it can follow a label on its line); a line after the short
    // last line, a longer line, or a MIME boundary (`--…`) is not part of the body.
    // Each further line's [start, end): the body is decoded in place when it can be.
    const first = end;
    let lines: number[] | undefined;
    let escapedBreak = false;
    let line = end - start;
    let before = 0;
    for (;;) {
      if (input.charCodeAt(end - 1) === EQ) break;
      if (lines && line < before) break;
      const next = lineBreakEnd(input, end);
      if (next < 0 || next >= n || SHAPE[input.charCodeAt(next)] === 0 || input.startsWith('--', next)) break;
      const nextEnd = lineEnd(input, next);
      if (lines && nextEnd - next > line) break;
      lines ??= [];
      lines.push(next, nextEnd);
      if (input.charCodeAt(end) === BACKSLASH) escapedBreak = true;
      before = line;
      line = nextEnd - next;
      end = nextEnd;
    }
    done = end;
    i = end - 1;
    if (locate) {
      if (lines || kindOf(shape, end - start) !== undefined) out.close(start, end, true);
      continue;
    }
    if (covered?.holds(start, end)) continue;
    if (!lines) {
      const kind = kindOf(shape, end - start);
      if (kind !== undefined) decodeRun(out, input, start, end, kind === 'hex');
      if (kind === 'base64') decodePathShifts(out, input, start, end);
    } else if (!escapedBreak && end - start <= MAX_ENCODED_RUN && kindIn(input, start, end) === 'base64') {
      // Node's base64 decoder skips line breaks: the body is decoded in place, with no copy.
      decodeRun(out, input, start, end, false, true);
    } else decodeText(out, joinLines(input, start, first, lines));
    out.close(start, end);
    // A stream's chunk may start inside a run whose head it emitted (a plain word, see
    // encodedHold): its alignment is unknown, so try each.
    if (continued && start === 0) {
      const text = lines ? joinLines(input, start, first, lines) : input.slice(start, end);
      for (let shift = 1; shift < 4; shift++) {
        decodeText(out, text.slice(shift));
        out.close(start, end);
      }
    }
  }
}

/**
 * A payload glued to a path (`/srv/a-b/c_d/QUJD…`, `files/QUJD…`) is one base64-alphabet run from
 * the path's start, decoded whole in the path's alignment, not the payload's. Base64 decodes each
 * 4-character quantum on its own (node reads both alphabets at once), so the run decoded from its
 * second, third and fourth character as well reads the payload in its own alignment wherever it
 * starts, `/` of its own included. Short runs with a `/` only: a long run is a base64 body.
 */
function decodePathShifts(out: DecodedWriter, input: string, start: number, end: number): void {
  if (end - start > SHORT_RUN || !slashIn(input, start, end)) return;
  for (let shift = 1; shift < 4; shift++) {
    if (out.written) out.separator();
    decodeRun(out, input, start + shift, end, false);
  }
}

/**
 * Whether `input[start, end)` holds a `/`. Read within the run only: `indexOf` from the run's
 * start reads on to the text's end when the run has none, once per run, which made a text of
 * many short runs and no `/` (a page of keys) quadratic: 4 MiB of them took seconds.
 */
function slashIn(input: string, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (input.charCodeAt(k) === SLASH) return true;
  return false;
}

/** A wrapped body without its breaks: its first line `[start, first)`, then `lines` (pairs). */
function joinLines(input: string, start: number, first: number, lines: readonly number[]): string {
  const pieces = [input.slice(start, first)];
  for (let k = 0; k < lines.length; k += 2) pieces.push(input.slice(lines[k]!, lines[k + 1]!));
  return pieces.join('');
}

/**
 * How the run in `input[from, to)` is worth decoding, as kindOf: its shape, read up to the point
 * it is known to be base64. Characters outside runs (a wrapped body's line breaks) are skipped;
 * `=` padding counts as not hex.
 */
function kindIn(input: string, from: number, to: number): 'hex' | 'base64' | undefined {
  let shape = 0;
  let length = 0;
  for (let k = from; k < to; k++) {
    const code = input.charCodeAt(k);
    const bits = SHAPE[code]!;
    if (bits === 0) {
      if (code === EQ) shape |= NOT_HEX;
      continue;
    }
    length++;
    shape |= bits;
    if ((shape & BOTH_CASES) === BOTH_CASES && (shape & NOT_HEX) !== 0) return 'base64';
  }
  return kindOf(shape, length);
}

/**
 * `text` decoded as hex (when it is all hex digits) or base64/base64url, as latin1 (a token is
 * ASCII, so it stays intact whatever the encoding of the text around it): its printable
 * stretches written to `out` (nothing when it has none). Decoded into one scratch buffer: `Buffer.from` per run
 * allocates, and JSON tool output has thousands of short runs.
 */
function decodeText(out: DecodedWriter, text: string): void {
  const kind = kindIn(text, 0, text.length);
  if (kind !== undefined) decodeRun(out, text, 0, text.length, kind === 'hex');
}

/**
 * How a run of `length` characters with these SHAPE bits is worth decoding: as hex (all hex
 * digits), as base64 (both cases: a word or a path in one case is not base64 worth decoding), or
 * not at all.
 */
function kindOf(shape: number, length: number): 'hex' | 'base64' | undefined {
  if ((shape & NOT_HEX) === 0 && length >= MIN_HEX_RUN && length % 2 === 0) return 'hex';
  return (shape & BOTH_CASES) === BOTH_CASES ? 'base64' : undefined;
}

/** End of the base64 characters from `i`, with up to two `=` of padding. */
function lineEnd(input: string, i: number): number {
  // A sticky regex: a wrapped body's lines are long, and irregexp reads a run faster than a loop.
  BASE64_RUN.lastIndex = i;
  BASE64_RUN.test(input);
  let e = BASE64_RUN.lastIndex;
  if (input.charCodeAt(e) === EQ) e++;
  if (input.charCodeAt(e) === EQ) e++;
  return e;
}

const BASE64_RUN = /[A-Za-z0-9+/_-]*/y;

/**
 * End of a line break at `i` (LF, CRLF, or either JSON-escaped), or -1. Read by code unit: it is
 * asked after every run of 20 or more characters (hashes, paths: thousands in a JSON tool
 * result), and four `startsWith` calls each time were a tenth of the base64 search there.
 */
function lineBreakEnd(input: string, i: number): number {
  const c = input.charCodeAt(i);
  if (c === LF) return i + 1;
  if (c === CR) return input.charCodeAt(i + 1) === LF ? i + 2 : -1;
  if (c !== BACKSLASH) return -1;
  const d = input.charCodeAt(i + 1);
  if (d === LOWER_N) return i + 2;
  if (d === LOWER_R && input.charCodeAt(i + 2) === BACKSLASH && input.charCodeAt(i + 3) === LOWER_N)
    return i + 4;
  return -1;
}

const LF = 10;
const CR = 13;
const LOWER_N = 110;
const LOWER_R = 114;

const EQ = 61;
const BACKSLASH = 92;
const SLASH = 47;
/**
 * Bits of a base64 or base64url character (0 for any other): in a run (all of them), a lower- or
 * upper-case letter, not a hex digit.
 */
const IN_RUN = 1;
const LOWER = 2;
const UPPER = 4;
const NOT_HEX = 8;
const BOTH_CASES = LOWER | UPPER;
const SHAPE = new Uint8Array(65536);
/** 1 for a code unit after which no run goes on: not a run character, not `=` padding, no line break (LF, CR, `\\n`). */
const ENDS_RUN = new Uint8Array(65536);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-') {
  const code = ch.charCodeAt(0);
  const lower = code >= 97 && code <= 122;
  const upper = code >= 65 && code <= 90;
  SHAPE[code] = IN_RUN | (lower ? LOWER : 0) | (upper ? UPPER : 0) | (HEX_VALUE[code] === 255 ? NOT_HEX : 0);
}
for (let code = 0; code < 65536; code++) {
  ENDS_RUN[code] =
    SHAPE[code] === 0 && code !== EQ && code !== LF && code !== CR && code !== BACKSLASH ? 1 : 0;
}
