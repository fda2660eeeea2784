/**
 * Cutting a large tool result down to its tool's budget before it reaches the
 * main thread, without changing what inspection makes of it. Inspection
 * (inspector.ts) keeps at most the first `budget + 1` characters of a text and
 * reads the rest only for its byte count, so a text longer than `maxBytes + 1`
 * characters (the budget never exceeds `maxBytes`) is cut there, and its
 * original byte count travels with the result, under a `_meta` key that
 * carries this process's random key: inspection takes the counts from it for
 * its truncation notes and removes it. An upstream cannot forge it (it does not
 * know the key); a forged one is dropped like any `bulkhead/` key.
 *
 * Only text (`text` and a resource's `text`) is cut; other fields (structured
 * content, media) pass whole.
 */
import { randomBytes } from 'node:crypto';
import { isMainThread, workerData } from 'node:worker_threads';

export const PRECUT_META = 'bulkhead/precut';

/** Shared with the inspection workers through their `workerData` (worker/pool.ts). */
const shared = isMainThread ? undefined : (workerData as { precutKey?: unknown } | null)?.precutKey;
const KEY: string = typeof shared === 'string' ? shared : randomBytes(16).toString('hex');

export function precutKey(): string {
  return KEY;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `result` with every text over `maxBytes + 1` characters cut there; the same object if none is.
 * `originalBytes` gives the byte count of a text (by where it is, `content[i]`) that the caller
 * already shortened itself (worker/long-strings.ts), instead of counting the text given.
 */
export function precutResult(
  result: unknown,
  maxBytes: number,
  originalBytes?: (where: string) => number | undefined,
): unknown {
  if (!isObject(result) || !Array.isArray(result.content)) return result;
  const keep = Math.max(0, Math.floor(maxBytes)) + 1;
  const sizes: Record<string, number> = {};
  const cut = (text: string, where: string): string => {
    sizes[where] = originalBytes?.(where) ?? Buffer.byteLength(text, 'utf8');
    return text.slice(0, keep);
  };
  const content = result.content.map((block: unknown, i) => {
    if (!isObject(block)) return block;
    if (typeof block.text === 'string' && block.text.length > keep)
      return { ...block, text: cut(block.text, `content[${i}]`) };
    const resource = block.resource;
    if (isObject(resource) && typeof resource.text === 'string' && resource.text.length > keep)
      return { ...block, resource: { ...resource, text: cut(resource.text, `content[${i}]`) } };
    return block;
  });
  if (Object.keys(sizes).length === 0) return result;
  const meta = isObject(result._meta) ? result._meta : {};
  return { ...result, content, _meta: { ...meta, [PRECUT_META]: { key: KEY, sizes } } };
}

/**
 * The original byte counts of texts cut by `precutResult`, and the result without their key;
 * none when the result carries no genuine one (a forged key stays, to be dropped as forged).
 */
export function takePrecut<T extends { _meta?: Json | undefined }>(
  result: T,
): { result: T; sizes: Readonly<Record<string, number>> | undefined } {
  const entry = result._meta?.[PRECUT_META];
  if (!isObject(entry) || entry.key !== KEY || !isObject(entry.sizes)) return { result, sizes: undefined };
  const { [PRECUT_META]: _, ...meta } = result._meta as Json;
  const sizes = Object.fromEntries(
    Object.entries(entry.sizes).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
  const out = { ...result };
  if (Object.keys(meta).length > 0) out._meta = meta;
  else delete out._meta;
  return { result: out, sizes };
}
