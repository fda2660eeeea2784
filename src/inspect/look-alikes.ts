/**
 * Letters that look like ASCII ones, read as what they look like, for the
 * injection heuristics (injection.ts). "іgnore previous instructions" with a
 * Cyrillic `і`, or "Denied by bulkheаd (" with a Cyrillic `а`, reads the same
 * to a model as the ASCII text, and passed every heuristic. Folding is one
 * UTF-16 unit for one, so a hit's offset is an offset in the text as given.
 *
 * The set: fullwidth ASCII (U+FF01–FF5E), and the Cyrillic and Greek letters
 * Unicode's confusables list maps to a single ASCII letter. Text in those
 * scripts folds to Latin gibberish, which the heuristics' multi-word English
 * phrases do not match; a run is only ever flagged, never changed, by this.
 */

import { charCensus, NON_ASCII } from '../util/char-census.js';

/** Pairs of look-alike and the ASCII letter it reads as (confusables.txt, single-letter rows). */
const PAIRS =
  // Cyrillic small
  'аaвbсcԁdеeһhіiјjкkӏlмmпnоoрpԛqгrѕsтtսuѵvԝwхxуyᴢz' +
  // Cyrillic capital
  'АAВBСCЕEНHІIЈJКKМMОOРPЅSТTХXҮYԜWԌG' +
  // Greek small and capital
  'αaβbεeιiκkνvοoρpτtυuχxγyΑAΒBΕEΖZΗHΙIΚKΜMΝNΟOΡPΤTΥYΧX';

const FOLD = new Uint16Array(0x10000);
for (let i = 0; i + 1 < PAIRS.length; i += 2) FOLD[PAIRS.charCodeAt(i)] = PAIRS.charCodeAt(i + 1);
for (let c = 0xff01; c <= 0xff5e; c++) FOLD[c] = c - 0xfee0;

const ANY = new RegExp(
  `[${[...new Set(PAIRS.match(/../g)?.map((pair) => pair[0]))].join('')}\\uFF01-\\uFF5E]`,
);

/** `text` with look-alikes read as ASCII; the same string when it has none (the common case). */
export function foldLookAlikes(text: string): string {
  if (!ANY.test(text)) return text;
  const codes = new Uint16Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    codes[i] = FOLD[c] || c;
  }
  let out = '';
  for (let i = 0; i < codes.length; i += 8192)
    out += String.fromCharCode(...(codes.subarray(i, i + 8192) as unknown as number[]));
  return out;
}

/** A word as people read one in an address, a name or an id (`ⓞ` is a symbol, not a letter). */
const WORD = /[\p{L}\p{N}\p{So}._@+-]+/gu;
const ASCII_ALNUM = /[A-Za-z0-9]/;
// A leading U+FEFF is text here, not a byte-order mark: kept, so offsets hold.
const UTF16 = new TextDecoder('utf-16le', { ignoreBOM: true });
/**
 * What a character reads as when its compatibility form (NFKC) is one printable ASCII character:
 * mathematical alphanumerics (`𝖼`, `𝟎`, astral), letterlike and Roman-numeral forms (`ⅼ`, `ℯ`),
 * enclosed ones (`ⓞ`), super- and subscripts, fullwidth forms; as a class, built from NFKC on first
 * use. The astral ones sit in these blocks (checked against every code point when written).
 */
const ASTRAL_BLOCKS: readonly (readonly [number, number])[] = [
  [0x107a5, 0x107a5],
  [0x1ccd6, 0x1ccf9],
  [0x1d400, 0x1d7ff],
  [0x1f100, 0x1f1ff],
  [0x1fbf0, 0x1fbf9],
];
let compat: { bmp: Uint8Array; astral: Map<number, number> } | undefined;
function compatTable(): NonNullable<typeof compat> {
  if (compat) return compat;
  const bmp = new Uint8Array(0x10000);
  const astral = new Map<number, number>();
  const ascii = (code: number): number => {
    const form = String.fromCodePoint(code).normalize('NFKC');
    const c = form.charCodeAt(0);
    return form.length === 1 && c > 0x20 && c < 0x7f ? c : 0;
  };
  for (let c = 0x80; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) bmp[c] = FOLD[c] || ascii(c);
  for (const [from, to] of ASTRAL_BLOCKS)
    for (let c = from; c <= to; c++) {
      const a = ascii(c);
      if (a) astral.set(c, a);
    }
  compat = { bmp, astral };
  return compat;
}

/** Confusables NFKC keeps apart, for the approver's note (dotless `ı`, Armenian `օ` and `ո`, ...). */
const MORE_PAIRS = 'ıiօoոnɑaɡgꓲIꓳOꓴU';
const MORE = new Map<string, string>();
for (let i = 0; i + 1 < MORE_PAIRS.length; i += 2)
  MORE.set(MORE_PAIRS[i] as string, MORE_PAIRS[i + 1] as string);

/** The ASCII letter or digit `ch` (one code point, not ASCII) reads as, if any. */
function readsAs(ch: string): string | undefined {
  const code = ch.codePointAt(0) as number;
  if (code < 0x80) return undefined;
  const more = MORE.get(ch);
  if (more) return more;
  const table = compatTable();
  const a = code < 0x10000 ? table.bmp[code] : table.astral.get(code);
  return a && ASCII_ALNUM.test(String.fromCharCode(a)) ? String.fromCharCode(a) : undefined;
}

/**
 * `text` as a reader reads it in ASCII: every look-alike (the table above) and every character whose
 * NFKC form is one printable ASCII character, astral ones included, replaced by that character;
 * `origin[i]` is where the reading's unit `i` starts in `text` (one more entry for the end).
 * Undefined when nothing reads otherwise. Unlike `foldLookAlikes`, lengths may differ: `𝚜` is two
 * units and reads as one.
 */
export function asciiReading(text: string): { text: string; origin: ArrayLike<number> } | undefined {
  // A quick test: only a character past ASCII reads otherwise.
  if ((charCensus(text) & NON_ASCII) === 0) return undefined;
  const { bmp, astral } = compatTable();
  const n = text.length;
  // Most non-ASCII text (any script) reads as itself: find that without allocating.
  let first = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c >= 0xd800 && c <= 0xdbff ? astral.has(text.codePointAt(i) as number) : bmp[c] !== 0) {
      first = i;
      break;
    }
  }
  if (first < 0) return undefined;
  const codes = new Uint16Array(n);
  const origin = new Uint32Array(n + 1);
  let j = 0;
  for (let i = 0; i < n; i++, j++) {
    origin[j] = i;
    const c = text.charCodeAt(i);
    if (c < 0x80 || i < first) codes[j] = c;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const a = astral.get(text.codePointAt(i) as number);
      codes[j] = a ?? c;
      if (a) i++;
    } else codes[j] = (bmp[c] as number) || c;
  }
  origin[j] = n;
  // Decoded, not joined from char codes: that built a two-byte string at a tenth of the speed.
  const out = UTF16.decode(codes.subarray(0, j));
  return { text: out, origin: origin.subarray(0, j + 1) };
}

/**
 * For an approver: the argument values where look-alike letters sit in one word with ASCII letters
 * or digits and no other foreign letter (`ceo@cоmpany.com` with a Cyrillic `о`, `37О4` with a
 * Cyrillic `О`), which a person reads as the ASCII word and approves. A word of another script
 * (`Заказ42`) is not named. Undefined when there is none.
 */
export function lookAlikeNote(args: unknown): string | undefined {
  const found: string[] = [];
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (depth > 64) return;
    if (typeof value === 'string') {
      if ((charCensus(value) & NON_ASCII) === 0) return;
      for (const word of value.match(WORD) ?? []) {
        const chars = [...word];
        const odd = [...new Set(chars.filter((ch) => readsAs(ch) !== undefined))];
        // A word of another script (with letters that look like no ASCII one) is that script's word.
        const foreign = chars.some((ch) => (ch.codePointAt(0) as number) > 0x7f && readsAs(ch) === undefined);
        if (odd.length === 0 || foreign || !ASCII_ALNUM.test(word)) continue;
        const hex = (ch: string) => (ch.codePointAt(0) as number).toString(16);
        const named = odd.map((ch) => `U+${hex(ch).toUpperCase().padStart(4, '0')} for ${readsAs(ch)}`);
        const marked = chars.map((ch) => (odd.includes(ch) ? `\\u{${hex(ch)}}` : ch));
        found.push(`${pointer || '/'} "${marked.join('')}" has ${named.join(', ')}`);
      }
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, item] of Object.entries(value)) walk(item, `${pointer}/${key}`, depth + 1);
  };
  walk(args, '', 0);
  if (found.length === 0) return undefined;
  // Every word is counted: five decoys first cannot hide the sixth.
  const rest = found.length > 5 ? `; and ${found.length - 5} more words` : '';
  return `look-alike letters mixed into words: ${found.slice(0, 5).join('; ')}${rest}`;
}
