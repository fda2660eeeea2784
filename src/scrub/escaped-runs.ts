/**
 * Escaped runs of encoded text (see decoded.ts): values holding `%XX`, `\uXXXX` or `\xNN`
 * escapes, Markdown's escapes inside a word (`ghp\_…`), or quoted-printable soft breaks, found
 * and unescaped in one pass each.
 */
import { HEX_DIGIT_VALUES } from './char-tables.js';
import { codeUnits } from './code-units.js';
import type { DecodedWriter } from './decoded-text.js';

const HEX_VALUE = HEX_DIGIT_VALUES;

/**
 * A search for the next escape that makes text worth decoding (%XX, \uXXXX, \xXX; soft breaks
 * are found apart, see findEscaped). `%` by indexOf (memchr speed: ordinary text has few), the
 * backslash escapes by pairSearch; each next position is kept, so the text is read once
 * however many runs there are. Calls must not go backwards.
 * (A quoted-printable `=XX` alone does not count: `id=4f…` is everywhere, and QP leaves a
 * token's ASCII characters as they are; inside a run it is decoded. `=3D`, QP's own `=`, does
 * count: rare outside QP, and in `key=3Dsk-…` the token stands after it as written, where the
 * `D` before it keeps a rule's left boundary from taking it in the text itself.)
 */
function escapeSearch(input: string): (from: number) => number {
  let pct = -1;
  let slash = -1;
  let qp = input.includes(QP_EQUALS) ? -1 : Number.POSITIVE_INFINITY;
  // Not `includes` of each escape: in JSON-escaped text (a backslash every few characters) four
  // of them cost 9 ms per MiB, the search itself 0.5.
  let markdown = input.includes('\\') ? -1 : Number.POSITIVE_INFINITY;
  const none = (at: number) => (at < 0 ? Number.POSITIVE_INFINITY : at);
  const nextSlash = pairSearch(input, BACKSLASH, ['\\u', '\\x'], /\\[ux]/g);
  return (from) => {
    for (;;) {
      if (pct < from) pct = none(input.indexOf('%', from));
      if (slash < from) slash = none(nextSlash(from));
      if (qp < from) qp = none(input.indexOf(QP_EQUALS, from));
      if (markdown < from) markdown = none(nextMarkdownEscape(input, from));
      const at = Math.min(pct, slash, qp, markdown);
      if (at === Number.POSITIVE_INFINITY) return at;
      if (at === qp || at === markdown) return at;
      if (at === pct) {
        if (hexDigits(input, pct + 1, 2)) return pct;
        pct = none(input.indexOf('%', pct + 1));
      } else {
        if (hexDigits(input, slash + 2, input.charCodeAt(slash + 1) === LOWER_U ? 4 : 2)) return slash;
        slash = none(nextSlash(slash + 1));
      }
    }
  };
}

/**
 * The next position from `from` where one of `needles` starts (-1 when none); all start with the
 * character `lead`, and `regex` (global) matches exactly them. Calls must not go backwards.
 * Where `lead` is rare, indexOf per needle runs at memchr speed; where it is everywhere (a
 * backslash before every quote of JSON-escaped text, `=` in `token=token=…`) indexOf stops at
 * each one and is three times slower than one regex over the text. Which is chosen by how often
 * `lead` occurs in the text's first few KiB.
 */
function pairSearch(
  input: string,
  lead: number,
  needles: readonly string[],
  regex: RegExp,
): (from: number) => number {
  let leads = 0;
  for (let k = 0, end = Math.min(input.length, DENSITY_SAMPLE); k < end; k++) {
    if (input.charCodeAt(k) === lead) leads++;
  }
  if (leads >= DENSE_LEADS) {
    return (from) => {
      regex.lastIndex = from;
      return regex.exec(input)?.index ?? -1;
    };
  }
  // Each needle's next position is kept, so the text is read once however many runs there are.
  const next = needles.map(() => -2);
  return (from) => {
    let found = -1;
    for (let k = 0; k < needles.length; k++) {
      if (next[k] !== -1 && next[k]! < from) next[k] = input.indexOf(needles[k]!, from);
      if (next[k]! >= 0 && (found < 0 || next[k]! < found)) found = next[k]!;
    }
    return found;
  };
}

/**
 * Characters sampled, and occurrences of a needle's first character that make it dense there
 * (measured: ordinary logs have ~32 `=` per 4 KiB, where indexOf is four times faster; JSON-escaped
 * text ~250 backslashes, `k=v` lists ~430 `=`, where the regex is 1.8–3× faster).
 */
const DENSITY_SAMPLE = 4_096;
const DENSE_LEADS = 128;

/** Quoted-printable's `=`, the one `=XX` that starts an escaped run alone (see escapeSearch). */
const QP_EQUALS = '=3D';

function hexDigits(input: string, at: number, count: number): boolean {
  if (at + count > input.length) return false;
  for (let k = at; k < at + count; k++) if (HEX_VALUE[input.charCodeAt(k)] === 255) return false;
  return true;
}
/**
 * Characters an escaped value is made of: not whitespace, quotes or the separators of a query
 * string, so one encoded parameter is redacted, not the whole URL around it.
 */
const VALUE_CHAR = /[^\s"'`<>&?,;]/;
export const VALUE_TABLE = new Uint8Array(65536);
/** A run of VALUE_CHAR (sticky: its end is `lastIndex`). */
const VALUE_RUN = new RegExp(`${VALUE_CHAR.source}*`, 'y');
for (let code = 0; code < 65536; code++)
  VALUE_TABLE[code] = VALUE_CHAR.test(String.fromCharCode(code)) ? 1 : 0;

/** Escaped runs in `input`, unescaped into `out` (`locate`: found only, see findEncoded). */
export function findEscaped(input: string, out: DecodedWriter, locate = false): void {
  let done = 0;
  // Soft breaks are searched apart from the escapes: `=` is in every log line (pairSearch).
  // A search only where its lead character occurs (memchr): text without `%`, `\\` or `=` (most
  // of an audit event's values) makes none of the closures and arrays the searches keep.
  const escapeAt =
    input.includes('%') || input.includes('\\') || input.includes(QP_EQUALS)
      ? escapeSearch(input)
      : NO_ESCAPE;
  const softBreakAt = input.includes('=')
    ? pairSearch(input, EQ, ['=\n', '=\r\n'], /=\r?\n/g)
    : NO_SOFT_BREAK;
  let nextEscape = -1;
  let soft = -1;
  // Read from a typed array (the base64 search made it for this text): a hostile text has an
  // escaped run every few dozen characters.
  const codes = codeUnits(input);
  for (;;) {
    if (nextEscape < done) {
      nextEscape = escapeAt(done);
    }
    if (soft < done) soft = softBreakAt(done);
    if (soft < 0) soft = Number.POSITIVE_INFINITY;
    const at = Math.min(nextEscape, soft);
    if (at === Number.POSITIVE_INFINITY) return;
    // Back to the start of the value this escape sits in (not past the previous run).
    let start = at;
    while (start > done && VALUE_TABLE[codes[start - 1]!] === 1) start--;
    const end = locate ? runEnd(input, codes, at) : unescapeRun(out, input, start);
    done = Math.max(end, at + 1);
    // Kept even if empty (a lone soft break), as a run of its own.
    out.close(start, end, true);
  }
}

/** escapeSearch of a text with no `%` or backslash: no escape anywhere. */
const NO_ESCAPE = (_from: number): number => Number.POSITIVE_INFINITY;
/** pairSearch for soft breaks in a text with no `=`: none anywhere. */
const NO_SOFT_BREAK = (_from: number): number => -1;

/** The end of the escaped run that holds `at`: over the value, across quoted-printable soft breaks. */
function runEnd(input: string, codes: Uint16Array, at: number): number {
  let end = at;
  for (;;) {
    // The regex engine reads a run about three times as fast as a loop over the code units.
    VALUE_RUN.lastIndex = end;
    VALUE_RUN.test(input);
    end = VALUE_RUN.lastIndex;
    if (codes[end - 1] !== EQ) return end;
    const next = softBreakEnd(input, end - 1);
    // A MIME boundary after a base64 body's padding is not a continued line.
    if (next < 0 || input.startsWith('--', next)) return end;
    end = next;
  }
}

/** After the soft break whose `=` is at `i` (`=` then LF or CRLF), or -1. */
function softBreakEnd(input: string, i: number): number {
  const c = input.charCodeAt(i + 1);
  if (c === LF) return i + 2;
  return c === CR && input.charCodeAt(i + 2) === LF ? i + 3 : -1;
}

/**
 * The escaped run from `from` (its first character) unescaped into `writer`, found as it is read:
 * its end, as runEnd finds it. Decoded: `%XX`, `\\uXXXX`, `\\xXX`, quoted-printable `=XX`
 * (upper-case hex) and soft breaks (`=` before LF or CRLF, dropped, the run going on past them),
 * and a backslash before punctuation (ESCAPED_PUNCTUATION). Leftmost first, as one global
 * replace would, in the one pass that finds the run's end (a `%41` repeated is one run as long as the text: reading it twice cost a fifth of
 * its scrub).
 */
function unescapeRun(writer: DecodedWriter, input: string, from: number): number {
  const mark = writer.length;
  // Room for the run as written is taken as the run grows: its length is not known yet.
  let end = unescapeInto(writer, input, from, !writer.isWide);
  if (end < 0) {
    // A code unit above Latin-1 (a `\u` escape, or such a character): the run again, two bytes each.
    writer.length = mark;
    writer.widen();
    end = unescapeInto(writer, input, from, false);
  }
  return end;
}

/** Characters unescaped between two checks of the writer's room. */
const STRETCH = 4_096;

/**
 * unescapeRun's loop: the run's end, or -1 when `narrow` (the writer holds Latin-1) and a code
 * unit above 0xff comes. Every character of an escape (`%`, `\\`, `=`, hex digits, `u`, `x`,
 * `/`) is a value character, so an escape read whole lies inside the run.
 */
function unescapeInto(writer: DecodedWriter, input: string, from: number, narrow: boolean): number {
  const length = input.length;
  let n = writer.length;
  let out = writer.target(STRETCH);
  let limit = n + STRETCH - 6;
  let i = from;
  while (i < length) {
    if (n >= limit) {
      writer.length = n;
      out = writer.target(STRETCH);
      limit = n + STRETCH - 6;
    }
    const c = input.charCodeAt(i);
    if (VALUE_TABLE[c] !== 1) break;
    if (c === PERCENT) {
      // The common escape, inline: both digits' values are below 16 only if both are hex.
      const high = i + 2 < length ? HEX_VALUE[input.charCodeAt(i + 1)]! : 255;
      const low = i + 2 < length ? HEX_VALUE[input.charCodeAt(i + 2)]! : 255;
      if ((high | low) < 16) {
        out[n++] = (high << 4) | low;
        i += 3;
      } else {
        out[n++] = c;
        i++;
      }
    } else if (c === BACKSLASH && i + 1 < length && VALUE_TABLE[input.charCodeAt(i + 1)] === 1) {
      const kind = input.charCodeAt(i + 1);
      if (kind === LOWER_U && hexDigits(input, i + 2, 4)) {
        const code = hexValue(input, i + 2, 4);
        if (narrow && code > 0xff) return -1;
        out[n++] = code;
        i += 6;
      } else if (kind === LOWER_X && hexDigits(input, i + 2, 2)) {
        out[n++] = hexValue(input, i + 2, 2);
        i += 4;
      } else if (ESCAPED_PUNCTUATION[kind] === 1) {
        out[n++] = kind;
        i += 2;
      } else {
        out[n++] = c;
        i++;
      }
    } else if (c === EQ) {
      if (upperHexAt(input, i + 1)) {
        out[n++] = hexValue(input, i + 1, 2);
        i += 3;
        continue;
      }
      const next = softBreakEnd(input, i);
      if (next >= 0 && !input.startsWith('--', next)) {
        i = next;
        continue;
      }
      out[n++] = c;
      i++;
      // A MIME boundary after a base64 body's padding is not a continued line: the run ends here.
      if (next >= 0) break;
    } else {
      if (narrow && c > 0xff) return -1;
      out[n++] = c;
      i++;
    }
  }
  writer.length = n;
  return i;
}

/**
 * Punctuation a backslash escapes: JSON's `\\/` and `\\\\`, and what Markdown writers escape inside
 * a word (markdownify, behind the MCP fetch server, writes every `_` and `*` as `\\_`, `\\*`, and
 * with `escape_misc` `+`, `=`, `~`, `|` too; turndown `_`, `*`, `[`, `]`): `ghp\\_…` and
 * `sk\\_live\\_…` in a fetched page went out bare. Those inside tokens and base64 start a run
 * (nextMarkdownEscape); `\\.`, `\\-` or `\\[` alone do not (regexes in code are full of them).
 */
const ESCAPED_PUNCTUATION = new Uint8Array(128);
for (const ch of '/\\_*+=~|[]-.#!(){}') ESCAPED_PUNCTUATION[ch.charCodeAt(0)] = 1;

/**
 * The next Markdown escape from `from` (its backslash) that stands inside a word, as one in a
 * token does (`ghp\\_a…`, `MDENG\\+bPx`, `…Lp9\\=\\=`): a letter or digit before it, and one or
 * another escape after it; -1 when none. `\\_private\\_`, `a \\* b` and a regex's `[a-z]\\+` do
 * not start a run (code and Markdown prose are full of them, and each run is scanned again). One
 * regex over the text, so a flood of escapes that start none is passed over natively.
 */
function nextMarkdownEscape(input: string, from: number): number {
  MARKDOWN_ESCAPE.lastIndex = Math.max(0, from - 1);
  const found = MARKDOWN_ESCAPE.exec(input);
  return found ? found.index + 1 : -1;
}
const MARKDOWN_ESCAPE = /[A-Za-z0-9]\\[_*+=](?=[A-Za-z0-9\\])/g;

const PERCENT = 37;
const BACKSLASH = 92;
const EQ = 61;
const LOWER_U = 117;
const LOWER_X = 120;
const LF = 10;
const CR = 13;

/** Two upper-case hex digits at `at` (quoted-printable). */
function upperHexAt(input: string, at: number): boolean {
  if (at + 2 > input.length) return false;
  for (let k = at; k < at + 2; k++) {
    const code = input.charCodeAt(k);
    if (!((code >= 48 && code <= 57) || (code >= 65 && code <= 70))) return false;
  }
  return true;
}

function hexValue(input: string, at: number, count: number): number {
  let value = 0;
  for (let k = at; k < at + count; k++) value = (value << 4) | HEX_VALUE[input.charCodeAt(k)]!;
  return value;
}
