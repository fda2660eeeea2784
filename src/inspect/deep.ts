/**
 * One walk over JSON-like data that rewrites every string, object keys
 * included, and drops forged `_meta` keys (meta.ts) wherever a `_meta` object
 * sits. Used for tool definitions and for every tool-output block, so no field
 * a client may show the model is left out because nobody thought of it.
 */
import { dropForgedMeta } from './meta.js';

export const MAX_DEPTH = 64;

export interface DeepOptions {
  /** Rewrites one string; `path` names where it sits (`inputSchema/properties/id/description`). */
  text: (text: string, path: string) => string;
  /** Rewrites one object key; `text` when absent. */
  key?: (key: string, path: string) => string;
  /** Paths whose string values are not text (a block's `type`, base64 `data`), passed unchanged. */
  verbatim?: (path: string) => boolean;
  /** Called with each forged `_meta` key dropped. */
  onForgedMeta?: (key: string, path: string) => void;
}

/** `value` with every string rewritten; nesting past MAX_DEPTH becomes null. */
export function cleanDeep(value: unknown, options: DeepOptions, path = '', depth = 0): unknown {
  if (typeof value === 'string') return options.text(value, path);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return null;
  if (Array.isArray(value))
    return value.map((item, i) => cleanDeep(item, options, join(path, String(i)), depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const at = join(path, key);
    let next: unknown = item;
    if (key === '_meta' && item !== null && typeof item === 'object' && !Array.isArray(item)) {
      const dropped = dropForgedMeta(item as Record<string, unknown>);
      for (const forged of dropped.removed) options.onForgedMeta?.(forged, at);
      next = dropped.meta;
    }
    const cleanedKey = (options.key ?? options.text)(key, at);
    const cleaned =
      typeof next === 'string' && options.verbatim?.(at) ? next : cleanDeep(next, options, at, depth + 1);
    // Defined, not assigned: a `__proto__` key stays data instead of becoming the prototype.
    Object.defineProperty(out, cleanedKey, {
      value: cleaned,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function join(path: string, key: string): string {
  return path ? `${path}/${key}` : key;
}
