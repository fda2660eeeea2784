/**
 * Scrubbing a large value without stalling everyone else. The scrubber is
 * synchronous and linear, but a multi-megabyte tool result still holds the
 * event loop for tens of milliseconds (more for hostile text), during which no
 * other agent's call moves. Here a value is scrubbed in slices of about
 * `slice` characters with a yield to the event loop between them; a long
 * string goes through the stream scrubber, which holds back a tail that could
 * be the start of a secret, so a secret cut by a slice is still caught.
 * Small values (the common case) take the synchronous path with no yield.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { type Scrubber, TOO_DEEP } from './index.js';
import { uniqueKey } from './unique-key.js';

/**
 * 16 K characters: text made of many rules' anchors (`token=sk-ghp_AKIA…`, the scrubber's worst
 * case, ~8 MB/s) held the loop up to 16.7 ms per 64 K slice and 4.4 ms per 16 K one (a 250 KB
 * value, load 5–9); ordinary text pays about 0.9 ms more per 250 KB in yields.
 */
export const DEFAULT_SLICE = 16 * 1024;

export async function scrubValueYielding<T>(
  scrubber: Scrubber,
  input: T,
  options: { slice?: number; maxDepth?: number } = {},
): Promise<T> {
  const slice = options.slice ?? DEFAULT_SLICE;
  const maxDepth = options.maxDepth ?? 200;
  if (charCount(input, slice + 1, 0) <= slice) return scrubber.value(input);
  let sinceYield = 0;
  const text = async (value: string): Promise<string> => {
    if (value.length <= slice) {
      sinceYield += value.length;
      if (sinceYield >= slice) {
        sinceYield = 0;
        await yieldToLoop();
      }
      return scrubber.text(value);
    }
    const stream = scrubber.stream();
    let out = '';
    for (let i = 0; i < value.length; i += slice) {
      out += stream.push(value.slice(i, i + slice));
      await yieldToLoop();
    }
    return out + stream.flush();
  };
  const walk = async (value: unknown, depth: number): Promise<unknown> => {
    if (typeof value === 'string') return text(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= maxDepth) return TOO_DEEP;
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const item of value) out.push(await walk(item, depth + 1));
      return out;
    }
    const source =
      typeof (value as { toJSON?: unknown }).toJSON === 'function'
        ? (value as { toJSON(): unknown }).toJSON()
        : value;
    if (source !== value) return walk(source, depth);
    const out: Record<string, unknown> = {};
    let suffixes: Map<string, number> | undefined;
    for (const [key, item] of Object.entries(value)) {
      // Same rules as `Scrubber.value`: redacted keys never collide, `__proto__` stays data.
      const scrubbed = await text(key);
      let unique = scrubbed;
      if (Object.hasOwn(out, unique)) {
        suffixes ??= new Map();
        unique = uniqueKey(out, scrubbed, suffixes);
      }
      Object.defineProperty(out, unique, {
        value: await walk(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return (await walk(input, 0)) as T;
}

/** Characters of strings (and keys) in `value`, counting stops once past `limit`. */
export function charCount(value: unknown, limit: number, depth: number): number {
  if (typeof value === 'string') return value.length;
  if (value === null || typeof value !== 'object' || depth > 64) return 0;
  let total = 0;
  for (const [key, item] of Object.entries(value)) {
    total += key.length + charCount(item, limit - total, depth + 1);
    if (total >= limit) return total;
  }
  return total;
}
