/**
 * Runs of text holding HTML/XML character references (`&#43;`, `&#x2F;`, `&amp;`), unescaped for
 * the scan of decoded text (decoded.ts).
 *
 * Why: an upstream's HTML error page or XML document that echoes a key writes some of its
 * characters as references (Go's html/template `+` as `&#43;`, OWASP's encoder `/` as `&#x2F;`,
 * every escaper `&`, `<`, `"`), in whichever style its escaper has. Spelling each style out as
 * forms of every known secret would multiply them by the styles and their mixtures; unescaping
 * the run catches them all, and a rule's token written in references too.
 *
 * A run is a value (the characters escaped-runs.ts takes as one: no whitespace, quotes or
 * separators) whose `&` belong to references, and which may hold `;` (left of a reference
 * escaped twice, `&amp;#43;`) and `'` (left as it is by escapers that write only `&<>"`); it
 * starts where the value holding its first reference starts. Linear: each character is read
 * once forward and at most once back.
 */

import { MIN_SECRET_LENGTH } from './automata.js';
import { codeUnits } from './code-units.js';
import type { DecodedWriter } from './decoded-text.js';
import { VALUE_TABLE } from './escaped-runs.js';

/** Runs holding character references in `input`, unescaped into `out` (`locate`: found only). */
export function findReferenced(input: string, out: DecodedWriter, locate = false): void {
  // Most text holds no `&` at all: one native search, nothing made.
  let amp = input.indexOf('&');
  if (amp < 0) return;
  const codes = codeUnits(input);
  let done = 0;
  while (amp >= 0) {
    const size = referenceAt(input, amp);
    if (size === 0) {
      amp = input.indexOf('&', amp + 1);
      continue;
    }
    let start = amp;
    while (start > done && RUN_TABLE[codes[start - 1]!] === 1) start--;
    const end = referenceRunEnd(input, codes, start, amp, size);
    // A run shorter than any secret (`&amp;` alone, `don&#39;t`: most of a page's references)
    // cannot carry one: neither written nor scanned again.
    if (end - start - removedUnits >= MIN_SECRET_LENGTH) {
      if (!locate) written(out, input, start, end);
      out.close(start, end, true);
    }
    done = end;
    amp = input.indexOf('&', end);
  }
  // A run of hundreds of thousands of references (a hostile 4 MiB body: ~10 MB of records) is
  // not kept for the life of the process.
  if (referenceStarts.length > KEPT_RECORDS) {
    referenceStarts = new Int32Array(256);
    referenceSizes = new Int32Array(256);
    referenceCodes = new Int32Array(256);
  }
}

/** Records kept between texts; longer arrays are dropped once the text is done. */
const KEPT_RECORDS = 4096;

/**
 * The references of the run referenceRunEnd last read: where each stands, its length and its code
 * point (read once; written() takes them from here). Grown by doubling, kept for the next run.
 */
let referenceStarts = new Int32Array(256);
let referenceSizes = new Int32Array(256);
let referenceCodes = new Int32Array(256);
let references = 0;
/** Soft hyphen, zero-width space, non-joiner and joiner, word joiner, BOM. */
const INVISIBLE = new Set([0xad, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]);
/** Code units the last run's references take beyond what they decode to. */
let removedUnits = 0;
/** Whether the last run decodes to a code unit above 0xff. */
let wideRun = false;

function recordReference(at: number, size: number, code: number): void {
  // A break opportunity a page puts inside a long word (`&shy;`, `&#8203;`) decodes to nothing:
  // a token hyphenated so is the token.
  const units = INVISIBLE.has(code) ? 0 : code > 0xffff ? 2 : 1;
  if (references === referenceStarts.length) {
    const grow = (from: Int32Array) => {
      const grown = new Int32Array(from.length * 2);
      grown.set(from);
      return grown;
    };
    referenceStarts = grow(referenceStarts);
    referenceSizes = grow(referenceSizes);
    referenceCodes = grow(referenceCodes);
  }
  referenceStarts[references] = at;
  referenceSizes[references] = size;
  referenceCodes[references] = code;
  references++;
  removedUnits += size - units;
  if (units > 0 && code > 0xff) wideRun = true;
}

/**
 * The end of the run from `from` whose first reference, `size` long, is at `first` (already read
 * by the caller: its code point is in referenceCode); its references recorded.
 */
function referenceRunEnd(
  input: string,
  codes: Uint16Array,
  from: number,
  first: number,
  size: number,
): number {
  references = 0;
  removedUnits = 0;
  wideRun = false;
  for (let k = from; k < first; k++) if (codes[k]! > 0xff) wideRun = true;
  recordReference(first, size, referenceCode);
  let i = first + size;
  while (i < codes.length) {
    const code = codes[i]!;
    if (code === AMP) {
      const length = referenceAt(input, i);
      if (length === 0) break;
      recordReference(i, length, referenceCode);
      i += length;
    } else if (RUN_TABLE[code] === 1) {
      if (code > 0xff) wideRun = true;
      i++;
    } else break;
  }
  return i;
}

/** The run `[from, to)` unescaped into `out` from its recorded references. */
function written(out: DecodedWriter, input: string, from: number, to: number): void {
  if (wideRun && !out.isWide) out.widen();
  const target = out.target(to - from - removedUnits);
  let n = out.length;
  let i = from;
  for (let k = 0; k < references; k++) {
    const at = referenceStarts[k]!;
    while (i < at) target[n++] = input.charCodeAt(i++);
    const code = referenceCodes[k]!;
    if (code > 0xffff) {
      target[n++] = 0xd800 + ((code - 0x10000) >> 10);
      target[n++] = 0xdc00 + ((code - 0x10000) & 0x3ff);
    } else if (!INVISIBLE.has(code)) target[n++] = code;
    i = at + referenceSizes[k]!;
  }
  while (i < to) target[n++] = input.charCodeAt(i++);
  out.length = n;
}

/** The code point of the reference referenceAt last read. */
let referenceCode = 0;

/**
 * The length of the character reference at `at` (its `&`), its code point left in referenceCode;
 * 0 where none stands. Numeric (`&#43;`, `&#x2F;`, `&#X2F;`, the `;` optional as browsers read
 * it) or one of the names escapers write for ASCII (HTML5's `&sol;`, `&plus;` among them).
 */
function referenceAt(input: string, at: number): number {
  if (input.charCodeAt(at + 1) === HASH) {
    const hex = (input.charCodeAt(at + 2) | 0x20) === LOWER_X;
    let i = at + (hex ? 3 : 2);
    let value = 0;
    const first = i;
    for (; i < input.length && i - first < 8; i++) {
      const digit = digitValue(input.charCodeAt(i), hex);
      if (digit < 0) break;
      value = value * (hex ? 16 : 10) + digit;
    }
    if (i === first) return 0;
    referenceCode = value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff) ? 0xfffd : value;
    return i - at + (input.charCodeAt(i) === SEMICOLON ? 1 : 0);
  }
  let i = at + 1;
  let hash = 0;
  while (i < input.length && i - at <= MAX_NAME && isLetter(input.charCodeAt(i))) {
    hash = nameHash(hash, input.charCodeAt(i));
    i++;
  }
  if (i === at + 1 || input.charCodeAt(i) !== SEMICOLON) return 0;
  // By the name's hash, then compared in place: a string sliced per reference (a page holds one
  // every few dozen characters, most of them `&amp;`, `&quot;`, `&mdash;`) was a third of the search.
  const entry = NAMED_BY_HASH.get(hash);
  if (entry === undefined || entry.name.length !== i - at - 1 || !input.startsWith(entry.name, at + 1))
    return 0;
  referenceCode = entry.code;
  return i - at + 1;
}

function nameHash(hash: number, code: number): number {
  return (Math.imul(hash, 31) + code) | 0;
}

function digitValue(code: number, hex: boolean): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (!hex) return -1;
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

function isLetter(code: number): boolean {
  const lower = code | 0x20;
  return lower >= 97 && lower <= 122;
}

/**
 * Named references escapers write: XML's five (and HTML's upper-case forms of four), HTML5's
 * names of ASCII punctuation, and the spaces and breaks a wrapped value can hold.
 */
const NAMED = new Map<string, number>(
  Object.entries({
    amp: '&',
    AMP: '&',
    lt: '<',
    LT: '<',
    gt: '>',
    GT: '>',
    quot: '"',
    QUOT: '"',
    apos: "'",
    sol: '/',
    bsol: '\\',
    plus: '+',
    equals: '=',
    num: '#',
    percnt: '%',
    dollar: '$',
    excl: '!',
    quest: '?',
    colon: ':',
    semi: ';',
    comma: ',',
    period: '.',
    lowbar: '_',
    UnderBar: '_',
    ast: '*',
    commat: '@',
    Hat: '^',
    grave: '`',
    verbar: '|',
    vert: '|',
    lpar: '(',
    rpar: ')',
    lsqb: '[',
    rsqb: ']',
    lcub: '{',
    rcub: '}',
    nbsp: '\u00a0',
    shy: '\u00ad',
    ZeroWidthSpace: '\u200b',
    zwnj: '\u200c',
    zwj: '\u200d',
    NoBreak: '\u2060',
    Tab: '\t',
    NewLine: '\n',
  }).map(([name, character]) => [name, character.charCodeAt(0)]),
);
const MAX_NAME = 14;
/** NAMED by the hash of each name (nameHash over its code units); the names hash apart. */
const NAMED_BY_HASH = new Map<number, { name: string; code: number }>();
for (const [name, code] of NAMED) {
  let hash = 0;
  for (let k = 0; k < name.length; k++) hash = nameHash(hash, name.charCodeAt(k));
  if (NAMED_BY_HASH.has(hash))
    throw new Error(`reference names ${name} and ${NAMED_BY_HASH.get(hash)?.name} hash alike`);
  NAMED_BY_HASH.set(hash, { name, code });
}

const AMP = 38;
const HASH = 35;
const SEMICOLON = 59;
const LOWER_X = 120;

/** The characters of a run besides its references: a value's, `;` and `'` (see above). */
export const REFERENCE_RUN_TABLE = Uint8Array.from(VALUE_TABLE);
REFERENCE_RUN_TABLE[SEMICOLON] = 1;
REFERENCE_RUN_TABLE[39] = 1;
const RUN_TABLE = REFERENCE_RUN_TABLE;
