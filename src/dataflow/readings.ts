/**
 * The other ways an outgoing argument reads, for recognising a private value
 * a steered agent dressed up to slip past recognition (values.ts scans each
 * reading as it scans the argument): hidden characters inside it (a
 * zero-width space or soft hyphen in an address), compatibility forms
 * (fullwidth `ｄａｎａ＠ｘ．ｉｏ`, digits too), text smuggled in Unicode tags or
 * variation selectors, escapes an encoder leaves (`\u0064`, `\x64`,
 * `&#100;`, `&#x64;`), hex pairs with separators (`64:61:6e`), and the marks
 * spelled out (`dana at x dot io`, `dana[at]x[dot]io`). Every step is one
 * regular pass with bounded repetitions, so it stays linear.
 */
import { stripHidden } from '../inspect/hidden.js';

/** Hidden characters removed and compatibility forms folded (NFKC); ASCII text is returned as is. */
export function folded(text: string): { text: string; smuggled: string } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII is the fast path.
  if (/^[\x00-\x7f]*$/.test(text)) return { text, smuggled: '' };
  const cleaned = stripHidden(text);
  return { text: cleaned.text.normalize('NFKC'), smuggled: cleaned.smuggled.normalize('NFKC') };
}

const ESCAPED = /\\u\{?([0-9a-fA-F]{2,6})\}?|\\x([0-9a-fA-F]{2})|&#x([0-9a-fA-F]{1,6});?|&#([0-9]{1,7});?/g;
const SEPARATED_HEX = /\b[0-9a-fA-F]{2}(?:[:\- ,][0-9a-fA-F]{2}){5,}\b/g;
const SPELLED_AT = /[ \t]{0,3}[[({<]?[ \t]{0,2}\bat\b[ \t]{0,2}[\])}>]?[ \t]{0,3}/gi;
const SPELLED_DOT = /[ \t]{0,3}[[({<]?[ \t]{0,2}\bdot\b[ \t]{0,2}[\])}>]?[ \t]{0,3}/gi;

/** Every reading of `text` that differs from it. */
export function readings(text: string): string[] {
  const out: string[] = [];
  const add = (reading: string) => {
    if (reading !== text && reading.length > 0 && !out.includes(reading)) out.push(reading);
  };
  const fold = folded(text);
  add(fold.text);
  add(fold.smuggled);
  const base = fold.text;
  if (/\\[ux]|&#/.test(base)) add(base.replace(ESCAPED, unescapeOne));
  if (/[0-9a-fA-F]{2}[:\- ,][0-9a-fA-F]{2}/.test(base))
    add(
      base.replace(SEPARATED_HEX, (run) => Buffer.from(run.replace(/[:\- ,]/g, ''), 'hex').toString('utf8')),
    );
  if (/\b(?:at|dot)\b/i.test(base)) add(base.replace(SPELLED_AT, '@').replace(SPELLED_DOT, '.'));
  return out;
}

function unescapeOne(whole: string, u?: string, x?: string, hexEntity?: string, decEntity?: string): string {
  const code = Number.parseInt(u ?? x ?? hexEntity ?? decEntity ?? '', decEntity ? 10 : 16);
  return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
}
