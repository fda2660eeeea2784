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
