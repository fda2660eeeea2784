/**
 * How a person reads an object's keys, for the views and the note an approver
 * reads. A terminal or a page draws `PATH` and `PАTH` (Cyrillic А), `café`
 * composed and decomposed, or `PATH` and `PATH ` the same, so two sibling
 * keys read as one key given twice. Such keys are written out, every
 * character outside printable ASCII (and a space at either end) as `\u{…}`;
 * a key wholly in another script (`名前`) is left as it is. No Node APIs:
 * the dashboard's bundle uses this too.
 */
import { asciiReading } from './look-alikes.js';

/**
 * Characters a terminal or a page hides, acts on or uses to reorder text, as classes rather than
 * a list: controls (C0, C1), format characters (bidi, zero-width, tags, interlinear annotations),
 * every default-ignorable one (Hangul fillers, combining grapheme joiner) and variation selectors,
 * which carry a byte each under a visible letter; lone surrogates; line and paragraph separators
 * and every space but U+0020, which read as a plain space or a line break.
 */
export const HIDDEN =
  /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Variation_Selector}\p{Cs}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/gu;

/** What `key` reads as: hidden characters gone, compatibility forms and look-alikes as ASCII, trimmed. */
export function keyReading(key: string): string {
  const text = key.replace(HIDDEN, '').normalize('NFKC');
  return (asciiReading(text)?.text ?? text).trim();
}

/** A key mixing ASCII with letters that read as ASCII ones; a word of another script is that script's. */
export function hasLookAlike(key: string): boolean {
  let lookAlike = false;
  for (const ch of key) {
    if ((ch.codePointAt(0) as number) < 0x80) continue;
    if (!/^[A-Za-z0-9]$/.test(keyReading(ch))) return false;
    lookAlike = true;
  }
  return lookAlike && /[A-Za-z0-9]/.test(key);
}

/** The sibling keys a reader could take for another: look-alikes, decomposed, or reading as a sibling. */
export function keysToWriteOut(keys: readonly string[]): Set<string> {
  const out = new Set<string>();
  const byReading = new Map<string, string[]>();
  for (const key of keys) {
    if (hasLookAlike(key) || key !== key.normalize('NFC')) out.add(key);
    const reading = keyReading(key);
    byReading.set(reading, [...(byReading.get(reading) ?? []), key]);
  }
  for (const same of byReading.values()) if (same.length > 1) for (const key of same) out.add(key);
  return out;
}

/** `text` with every character outside printable ASCII, and a space at either end, as `\u{…}`. */
export function writtenOut(text: string): string {
  return text
    .replace(/[^\x20-\x7e]/gu, (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16)}}`)
    .replace(/^ +| +$/g, (spaces) => '\\u{20}'.repeat(spaces.length));
}
