/**
 * `_meta` keys in bulkhead's namespace belong to the gateway: `bulkhead/flags`
 * tells the agent what inspection found, `bulkhead/denial` why a call was
 * refused. An upstream that writes them itself could forge a refusal, hide a
 * flag or fake an approval, so every such key an upstream sends is dropped
 * before the gateway adds its own. A key is in the namespace when any label of
 * its prefix is `bulkhead` in any case (`bulkhead/x`, `Bulkhead/x`,
 * `dev.bulkhead/x`) or its name starts with `bulkhead` (`bulkhead-flags`),
 * judged after hidden characters are removed and compatibility forms folded
 * (NFKC: fullwidth letters read as the ASCII ones).
 */
import { stripHidden } from './hidden.js';

export function isBulkheadMetaKey(key: string): boolean {
  // NFKC folds fullwidth and other compatibility forms (`ｂｕｌｋｈｅａｄ/flags`) to what they read as.
  const visible = stripHidden(key).text.normalize('NFKC').toLowerCase().trim();
  if (visible.startsWith('bulkhead')) return true;
  const slash = visible.lastIndexOf('/');
  if (slash < 0) return false;
  return visible
    .slice(0, slash)
    .split(/[./]/)
    .some((label) => label === 'bulkhead');
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
