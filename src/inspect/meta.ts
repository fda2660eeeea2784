/**
 * `_meta` keys in bulkhead's namespace belong to the gateway: `bulkhead/flags`
 * tells the agent what inspection found, `bulkhead/denial` why a call was
 * refused. An upstream that writes them itself could forge a refusal, hide a
 * flag or fake an approval, so every key an upstream sends that could pass for
 * one is dropped before the gateway adds its own:
 *
 *  - every key that is not printable ASCII. The MCP spec names `_meta` keys in
 *    ASCII (prefix labels of letters, digits and hyphens; names of those plus
 *    `_` and `.`), so no honest upstream needs another; dropping them all
 *    closes look-alikes as a class (Cyrillic `а`, Greek `υ`, Cherokee `Ᏼ`,
 *    small capitals, combining marks, fullwidth forms, hidden characters)
 *    instead of chasing them through a confusables table that grows with
 *    every Unicode version;
 *  - an ASCII key in the namespace: any label of its prefix, or the start of
 *    its name, reads `bulkhead` once case is folded, the ASCII look-alikes
 *    Unicode's confusables list maps within ASCII are read as what they look
 *    like (`1`, `I`, `|` as `l`; `0` as `o`), and `-` and `_` inside a word
 *    are skipped (`bu1khead/x`, `BU|KHEAD/x`, `bulk-head/x`, `dev.bulkhead/x`,
 *    `bulkhead-flags`).
 */

/** Printable ASCII, no space: what a key the spec allows is made of. */
const PRINTABLE_ASCII = /^[!-~]*$/;

/** ASCII characters that read as a letter of `bulkhead` (confusables.txt's ASCII-to-ASCII rows). */
const LOOK_ALIKES: Record<string, string> = { '1': 'l', I: 'l', '|': 'l', '0': 'o' };

/** What a person or a model reads: look-alikes as the letter they show, case folded, `-`/`_` skipped. */
function reading(label: string): string {
  let out = '';
  for (const ch of label) {
    if (ch === '-' || ch === '_') continue;
    out += (LOOK_ALIKES[ch] ?? ch).toLowerCase();
  }
  return out;
}

export function isBulkheadMetaKey(key: string): boolean {
  if (!PRINTABLE_ASCII.test(key)) return true;
  const slash = key.lastIndexOf('/');
  if (reading(key).startsWith('bulkhead')) return true;
  if (slash < 0) return false;
  return key
    .slice(0, slash)
    .split(/[./]/)
    .some((label) => reading(label) === 'bulkhead');
}

/** `meta` without keys in bulkhead's namespace; `removed` lists those dropped. */
export function dropForgedMeta(meta: Record<string, unknown>): {
  meta: Record<string, unknown>;
  removed: string[];
} {
  const removed: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    if (isBulkheadMetaKey(key)) {
      removed.push(key);
      continue;
    }
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return { meta: out, removed };
}
