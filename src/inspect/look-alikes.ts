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

/** A word as people read one in an address, a name or an id. */
const WORD = /[\p{L}\p{N}._@+-]+/gu;
const ASCII_ALNUM = /[A-Za-z0-9]/;

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
      if (!ANY.test(value)) return;
      for (const word of value.match(WORD) ?? []) {
        const chars = [...word];
        const odd = [...new Set(chars.filter((ch) => ch.length === 1 && FOLD[ch.charCodeAt(0)]))];
        // A word of another script (with letters that look like no ASCII one) is that script's word.
        const foreign = chars.some(
          (ch) => ch.charCodeAt(0) > 0x7f && !(ch.length === 1 && FOLD[ch.charCodeAt(0)]),
        );
        if (odd.length === 0 || foreign || !ASCII_ALNUM.test(word)) continue;
        const named = odd.map(
          (ch) =>
            `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} for ${String.fromCharCode(FOLD[ch.charCodeAt(0)] as number)}`,
        );
        const marked = [...word].map((ch) =>
          odd.includes(ch) ? `\\u{${ch.charCodeAt(0).toString(16)}}` : ch,
        );
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
