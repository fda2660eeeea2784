import { visible } from '../../cli/approval-arguments.js';
import { keysToWriteOut, writtenOut } from '../../inspect/key-reading.js';

/**
 * A string as JSON with what a page would not show written as `\u{…}`: JSON escapes controls
 * below U+0020 only, and a bidi override, a zero-width character, a tag character or a variation
 * selector in an argument showed as nothing, or reordered what the approver read
 * (`invoice\u{202e}fdp.exe` read as `invoiceexe.pdf`).
 */
export function shownJson(value: string): string {
  return visible(JSON.stringify(value));
}

/** An object's keys as JSON strings, those a reader could take for a sibling written out (`"P\\u{410}TH"`). */
export function shownKeys(keys: readonly string[]): string[] {
  const confusable = keysToWriteOut(keys);
  return keys.map((key) => (confusable.has(key) ? writtenOut(JSON.stringify(key)) : shownJson(key)));
}
