/**
 * Characters a human reviewer cannot see but a model reads, or that act on the
 * operator's terminal when a transcript is printed:
 *  - terminal escape sequences (CSI/OSC/...), backspaces and lone carriage
 *    returns: recolour, hide or overwrite what an operator sees in a printed
 *    transcript, set the window title, or (OSC 52) write the clipboard;
 *  - Unicode tag characters U+E0000–E007F: "ASCII smuggling", an invisible copy
 *    of ASCII text that models still read as instructions;
 *  - zero-width and bidi-control characters: split trigger words past filters,
 *    or reorder text so reviewers read something else (Trojan Source).
 * All are removed; tag characters are also decoded so the hidden text can be
 * checked for injection.
 */

// ESC [ params intermediates final | ESC ] ... BEL/ST | ESC P/X/^/_ ... ST | two-byte ESC | 8-bit CSI.
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /\x1b\[[0-?]{0,64}[ -/]{0,16}[@-~]|\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]{0,4096}(?:\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]{0,64}[ -/]{0,16}[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]|\r(?!\n)/g;
const TAGS = /[\u{E0000}-\u{E007F}]/gu;
const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u180E\u00AD]/g;

export interface Cleaned {
  text: string;
  escapes: number;
  hidden: number;
  /** ASCII text that was smuggled in tag characters, if any. */
  smuggled: string;
}

export function stripHidden(input: string): Cleaned {
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
  text = text.replace(INVISIBLE, () => {
    hidden++;
    return '';
  });
  return { text, escapes, hidden, smuggled };
}
