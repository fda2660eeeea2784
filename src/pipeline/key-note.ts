/**
 * Keys an approver cannot tell apart, for the reason a call is held. A
 * terminal or a page draws `PATH` and `PАTH` (Cyrillic А), or `café` written
 * with U+00E9 and with `e` + U+0301, the same, so two sibling keys of a map
 * argument read as one key given twice, and the approver cannot see which
 * value the upstream reads as which. The values' look-alikes and hidden
 * characters, keys' hidden ones too, are noted elsewhere (inspect/look-alikes.ts,
 * inspect/hidden.ts); this names keys whose letters are look-alikes and
 * sibling keys that read the same (after NFKC, look-alikes read as ASCII
 * and hidden characters removed), with every non-ASCII character written as
 * `\u{…}` so the note itself shows the difference.
 */
import { hasLookAlike, keyReading, writtenOut } from '../inspect/key-reading.js';
import { escapePointer, MAX_ARGUMENT_DEPTH } from './arguments-walk.js';

/** Places named in full; the rest are counted, so decoys cannot push the one that matters out. */
const NAMED = 5;

export function keyNote(args: unknown): string | undefined {
  const found: string[] = [];
  const walk = (value: unknown, pointer: string, depth: number): void => {
    if (depth > MAX_ARGUMENT_DEPTH || value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) walk(value[i], `${pointer}/${i}`, depth + 1);
      return;
    }
    const byReading = new Map<string, string[]>();
    for (const [key, item] of Object.entries(value)) {
      const at = `${pointer}/${shown(key)}`;
      const reading = keyReading(key);
      byReading.set(reading, [...(byReading.get(reading) ?? []), at]);
      if (hasLookAlike(key)) found.push(`key ${at} has look-alike letters`);
      walk(item, at, depth + 1);
    }
    for (const same of byReading.values())
      if (same.length > 1) found.push(`keys that read the same: ${same.join(' and ')}`);
  };
  walk(args, '', 0);
  if (found.length === 0) return undefined;
  const rest = found.length > NAMED ? `; and ${found.length - NAMED} more` : '';
  return `${found.slice(0, NAMED).join('; ')}${rest}`;
}

/** The key as a pointer segment with every character outside printable ASCII as `\u{…}`. */
function shown(key: string): string {
  return writtenOut(escapePointer(key));
}
