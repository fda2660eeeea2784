/**
 * Characters a human reviewer cannot see but a model reads, or that act on the
 * operator's terminal when a transcript is printed:
 *  - terminal escape sequences (CSI/OSC/...), backspaces and lone carriage
 *    returns: recolour, hide or overwrite what an operator sees in a printed
 *    transcript, set the window title, or (OSC 52) write the clipboard;
 *  - Unicode tag characters U+E0000–E007F: "ASCII smuggling", an invisible copy
 *    of ASCII text that models still read as instructions;
 *  - variation selectors (VS1–VS256): one byte each, appended invisibly to a
 *    visible character ("variation-selector smuggling"); only the one selector
 *    an emoji takes for its presentation (U+FE0E/U+FE0F after a pictograph) is
 *    kept, since it carries no more than that choice;
 *  - zero-width, filler and bidi-control characters: split trigger words past
 *    filters, or reorder text so reviewers read something else (Trojan Source).
 * All are removed; tag characters and variation selectors are also decoded so
 * the hidden text can be checked for injection.
 */

// ESC [ params intermediates final | ESC ] ... BEL/ST | ESC P/X/^/_ ... ST | two-byte ESC | 8-bit CSI.
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /\x1b\[[0-?]{0,64}[ -/]{0,16}[@-~]|\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]{0,4096}(?:\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]{0,64}[ -/]{0,16}[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]|\r(?!\n)|\x1b/g;
const TAGS = /[\u{E0000}-\u{E007F}]/gu;
/** VS1–VS16 and VS17–VS256, except one presentation selector right after a pictograph. */
const VARIATION = /(?<!\p{Extended_Pictographic})[\uFE0E\uFE0F]|[\uFE00-\uFE0D]|[\u{E0100}-\u{E01EF}]/gu;
// Zero-width and bidi controls, soft hyphen, Mongolian vowel separator, Arabic letter mark,
// combining grapheme joiner, Hangul and Khmer fillers, invisible math operators.
const INVISIBLE =
  /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\u180E\u00AD\u061C\u115F\u1160\u17B4\u17B5\u3164\uFFA0]|\u034F/g;
/** A quick test before the replacements: most text holds none of these. */
const ANY =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\x00-\x08\x0b-\x1f\x7f\x9b\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF\u180E\u00AD\u061C\u115F\u1160\u17B4\u17B5\u3164\uFFA0]|\u034F|\uFE00|\uFE01|\uFE02|\uFE03|\uFE04|\uFE05|\uFE06|\uFE07|\uFE08|\uFE09|\uFE0A|\uFE0B|\uFE0C|\uFE0D|\uFE0E|\uFE0F|\uDB40[\uDC00-\uDDEF]/;

export interface Cleaned {
  text: string;
  escapes: number;
  hidden: number;
  /** Text that was smuggled in tag characters or variation selectors, if any. */
  smuggled: string;
}

export function stripHidden(input: string): Cleaned {
  if (!ANY.test(input)) return { text: input, escapes: 0, hidden: 0, smuggled: '' };
  let escapes = 0;
  let hidden = 0;
  let smuggled = '';
  let text = input.replace(ESCAPES, () => {
    escapes++;
    return '';
  });
  text = text.replace(TAGS, (ch) => {
    hidden++;
    const code = ch.codePointAt(0)! - 0xe0000;
    if (code >= 0x20 && code < 0x7f) smuggled += String.fromCharCode(code);
    return '';
  });
  let bytes: number[] = [];
  text = text.replace(VARIATION, (ch) => {
    hidden++;
    const code = ch.codePointAt(0)!;
    bytes.push(code >= 0xe0100 ? code - 0xe0100 + 16 : code - 0xfe00);
    return '';
  });
  if (bytes.length > 0) {
    smuggled += Buffer.from(bytes).toString('utf8');
    bytes = [];
  }
  text = text.replace(INVISIBLE, () => {
    hidden++;
    return '';
  });
  return { text, escapes, hidden, smuggled };
}
