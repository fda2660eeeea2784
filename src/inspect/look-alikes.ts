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
/**
 * Letters an approver reads as an ASCII one that `foldLookAlikes` leaves alone: its compatibility
 * form (NFKC) is one ASCII letter or digit — mathematical alphanumerics (`𝖼`, `𝟎`, astral),
 * letterlike and Roman-numeral forms (`ⅼ`, `ℯ`), enclosed ones (`ⓞ`), super- and subscripts — as a
 * class, and a few confusables NFKC keeps apart (dotless `ı`, Armenian `օ` and `ո`, Latin `ɑ`, `ɡ`).
 */
const MORE_PAIRS = 'ıiօoոnɑaɡgꓲIꓳOꓴU';
const MORE = new Map<string, string>();
for (let i = 0; i + 1 < MORE_PAIRS.length; i += 2)
  MORE.set(MORE_PAIRS[i] as string, MORE_PAIRS[i + 1] as string);

/** The ASCII letter or digit `ch` (one code point, not ASCII) reads as, if any. */
function readsAs(ch: string): string | undefined {
  const code = ch.codePointAt(0) as number;
  if (code < 0x80) return undefined;
  if (ch.length === 1 && FOLD[code]) return String.fromCharCode(FOLD[code] as number);
  const more = MORE.get(ch);
  if (more) return more;
  const compat = ch.normalize('NFKC');
  return compat.length === 1 && ASCII_ALNUM.test(compat) ? compat : undefined;
}
/** A quick test before the walk: anything outside ASCII may hold a look-alike. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * For an approver: the argument values where look-alike letters sit in one word with ASCII letters
 * or digits and no other foreign letter (`ceo@cоmpany.com` with a Cyrillic `о`, `37О4` with a
 * Cyrillic `О`), which a person reads as the ASCII word and approves. A word of another script
 * (`Заказ42`) is not named. Undefined when there is none.
 */
export function lookAlikeNote(args: unknown): string | undefined {
  const found: string[] = [];
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (found.length >= 5 || depth > 64) return;
    if (typeof value === 'string') {
      if (!NON_ASCII.test(value)) return;
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
        if (found.length >= 5) return;
      }
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, item] of Object.entries(value)) walk(item, `${pointer}/${key}`, depth + 1);
  };
  walk(args, '', 0);
  return found.length ? `look-alike letters mixed into words: ${found.join('; ')}` : undefined;
}
