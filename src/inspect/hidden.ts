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
 *    filters, or reorder text so reviewers read something else (Trojan Source);
 *    as a class, not a list: every Default_Ignorable_Code_Point (what Unicode
 *    says renders as nothing: Mongolian free variation selectors, musical
 *    beam controls, shorthand format controls, reserved ones to come) and
 *    every format control (Cf: interlinear annotation marks, whose text shows
 *    nowhere, Arabic number signs);
 *  - C1 control characters (U+0080–U+009F): 8-bit CSI and OSC act on a
 *    terminal as ESC [ and ESC ] do;
 *  - lone surrogates, which are no characters at all (see LONE_SURROGATE).
 * All are removed; tag characters and variation selectors are also decoded so
 * the hidden text can be checked for injection.
 */

import { charCensus, HIDDEN_ASCII, NON_ASCII } from '../util/char-census.js';

// ESC [ params intermediates final | ESC ] ... BEL/ST | ESC P/X/^/_ ... ST | two-byte ESC | 8-bit CSI.
const ESCAPES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /\x1b\[[0-?]{0,64}[ -/]{0,16}[@-~]|\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]{0,4096}(?:\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]{0,64}[ -/]{0,16}[@-~]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]|\r(?!\n)|\x1b/g;
const TAGS = /[\u{E0000}-\u{E007F}]/gu;
/** VS1–VS16 and VS17–VS256, except one presentation selector right after a pictograph. */
const VARIATION = /(?<!\p{Extended_Pictographic})[\uFE0E\uFE0F]|[\uFE00-\uFE0D]|[\u{E0100}-\u{E01EF}]/gu;
// Zero-width and bidi controls, soft hyphen, Mongolian vowel separator, Arabic letter mark,
// combining grapheme joiner, Hangul and Khmer fillers, invisible math operators: every Default_Ignorable_Code_Point or format (Cf) character and every C1 control, spelled out
// (hidden-attacks.test.ts checks it against \p{Default_Ignorable_Code_Point} and \p{Cf} for every
// code point): the property classes need the `u` flag, which scans 4x slower. Astral ones as surrogate pairs: 110BD/110CD, 13430–1343F, 1BCA0–1BCA3,
// 1D173–1D17A, E0000–E0FFF. Tags and variation selectors are decoded first (above), an emoji's
// presentation selector kept, so INVISIBLE leaves U+FE0E/U+FE0F alone.
const IGNORABLE_BMP = String.raw`\u0080-\u009F\u00AD\u034F\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0\uFFF0-\uFFFB`;
const IGNORABLE_ASTRAL = String.raw`\uD804[\uDCBD\uDCCD]|\uD80D[\uDC30-\uDC3F]|\uD82F[\uDCA0-\uDCA3]|\uD834[\uDD73-\uDD7A]|[\uDB40-\uDB43][\uDC00-\uDFFF]`;
const INVISIBLE = new RegExp(String.raw`[${IGNORABLE_BMP}\uFE00-\uFE0D]|${IGNORABLE_ASTRAL}`, 'g');
/**
 * A quick test before the replacements: most text holds none of these. Two character classes, not
 * one class or an alternation: past a number of ranges V8 scans non-ASCII text several times slower
 * (measured 4x), and these run on every string of every result. The astral ones are found by their
 * high surrogate, so text with other characters of those blocks takes the slow path unchanged.
 */
const ANY =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  /[\x00-\x08\x0b-\x1f\x7f-\x9f\u00AD\u061C\u115F\u1160\u17B4\u17B5\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0]/;
const ANY_MORE =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: lone high surrogates on purpose (astral blocks, see above).
  /[\u034F\u0600-\u0605\u06DD\u070F\u0890\u0891\u08E2\u180B-\u180F\uFE00-\uFE0F\uFFF0-\uFFFB\uD804\uD80D\uD82F\uD834\uDB40-\uDB43]/;

/**
 * Lone surrogates (a high one without its low, a low one without its high) are not characters:
 * JSON carries them (`"\udc00"`) and a client that drops them joins the text around them, so a
 * credential split by one passed the scrubber's rules and reached the model whole. Removed as
 * hidden; `isWellFormed` (native, Node 20) keeps the common case on the fast path.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean })
  .isWellFormed;

/**
 * Whether `text` holds none of what `stripHidden` removes (well-formed text; ANY and ANY_MORE).
 * ASCII text holds only the controls and DEL of them: the census answers that without a regex
 * pass (a megabyte of a tool's output took 0.9 ms of the inspection worker's time for ANY alone).
 */
function nothingHidden(text: string): boolean {
  const census = charCensus(text);
  if ((census & HIDDEN_ASCII) !== 0) return false;
  return (census & NON_ASCII) === 0 || (!ANY.test(text) && !ANY_MORE.test(text));
}

export interface Cleaned {
  text: string;
  escapes: number;
  hidden: number;
  /** Text that was smuggled in tag characters or variation selectors, if any. */
  smuggled: string;
}

export function stripHidden(input: string): Cleaned {
  const wellFormed = isWellFormed.call(input);
  if (wellFormed && nothingHidden(input)) return { text: input, escapes: 0, hidden: 0, smuggled: '' };
  let escapes = 0;
  let hidden = 0;
  let smuggled = '';
  let text = wellFormed
    ? input
    : input.replace(LONE_SURROGATE, () => {
        hidden++;
        return '';
      });
  text = text.replace(ESCAPES, () => {
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

/**
 * For an approver: the argument keys and values that hold characters a person cannot see (escapes,
 * bidi controls, zero-width and filler characters, tag characters, variation selectors), and how
 * much text is smuggled in tags or selectors. "Thanks! 👋" can carry a whole secret in variation
 * selectors that no page or terminal shows, and an approved call sends it out; the approver is
 * told instead. The smuggled text itself is not spelled out: the reason travels to notification
 * channels and the audit trail, where a private value the run read must not (the data-flow
 * stage names its kind and source); the dashboard's argument view shows it escaped. Undefined
 * when there is none.
 */
export function hiddenNote(args: unknown): string | undefined {
  // Every place is counted; those hiding text are named first, so decoys cannot push them out.
  const hiding: string[] = [];
  const plain: string[] = [];
  const note = (text: string, pointer: string, what: string): void => {
    const cleaned = stripHidden(text);
    const count = cleaned.escapes + cleaned.hidden;
    if (count === 0) return;
    const where = `${pointer || '/'}${what} has ${count} invisible`;
    if (!cleaned.smuggled) return void plain.push(where);
    const smuggled = [...stripHidden(cleaned.smuggled).text].length;
    hiding.push(`${where} hiding ${smuggled} characters of text`);
  };
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (depth > 64) return;
    if (typeof value === 'string') {
      note(value, pointer, '');
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, item] of Object.entries(value)) {
      const at = `${pointer}/${stripHidden(key).text}`;
      note(key, at, ' (its key)');
      walk(item, at, depth + 1);
    }
  };
  walk(args, '', 0);
  const all = [...hiding, ...plain];
  if (all.length === 0) return undefined;
  const rest = all.length > NOTED ? `; and ${all.length - NOTED} more places` : '';
  return `hidden characters in the arguments: ${all.slice(0, NOTED).join('; ')}${rest}`;
}

/** How many places a note names. */
const NOTED = 5;
