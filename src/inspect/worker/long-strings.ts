/**
 * The O(budget) way through a large answer whose bulk is one or a few long
 * JSON strings (the usual 9 MB result: one text). Instead of decoding and
 * parsing every byte (about 25 ms of a worker's CPU for 9 MB), the long
 * strings are found with native byte searches, replaced by placeholders, and
 * the small rest is parsed; a long string that is a tool result's text is
 * decoded only as far as the cut needs (at most 3 bytes per character kept),
 * and its byte count, for the truncation note, is its length in the message.
 *
 * It gives exactly what parse.ts's full parse gives (precut.ts decides the
 * cut either way), or declines (`undefined`) and the full parse runs: a long
 * string with an escape, one anywhere but a result's `text` or resource
 * `text`, more than `MAX_SEARCHES` strings and escaped quotes, a message
 * the placeholder could be confused with. Past the cut it only finds the string's end: control
 * characters or malformed UTF-8 there, which a full parse would refuse or
 * replace, are dropped with the rest. What is kept is decoded as usual, and
 * all of it is inspected and scrubbed on its way to the agent like any result.
 */
import { randomBytes } from 'node:crypto';
import { precutResult } from '../precut.js';

/** Strings at least this many bytes long are placeheld; shorter ones are parsed as usual. */
export const LONG_STRING = 64 * 1024;
/**
 * More byte searches than this (one per string, one more per escaped quote) and the full parse is
 * cheaper than searching: a text of a million `\"` would otherwise cost a million searches.
 */
const MAX_SEARCHES = 20_000;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The JSON-RPC message in `bytes` (`start` to `end`) with its result's long texts cut to
 * `maxBytes`, serialised as parse.ts would; `null` when nothing was cut; `undefined` to decline.
 */
export function cutLongStrings(
  bytes: Buffer,
  start: number,
  end: number,
  maxBytes: number,
): string | null | undefined {
  const long: { from: number; to: number }[] = [];
  let searches = 0;
  let at = start;
  for (;;) {
    const open = bytes.indexOf(QUOTE, at);
    if (open < 0 || open >= end) break;
    let close = open + 1;
    for (;;) {
      if (++searches > MAX_SEARCHES) return undefined;
      close = bytes.indexOf(QUOTE, close);
      if (close < 0 || close >= end) return undefined;
      let slashes = 0;
      while (bytes[close - 1 - slashes] === BACKSLASH) slashes++;
      if (slashes % 2 === 0) break;
      close++;
    }
    if (close - open - 1 >= LONG_STRING) {
      // Escapes would need decoding to count and cut: left to the full parse.
      if (bytes.subarray(open + 1, close).indexOf(BACKSLASH) >= 0) return undefined;
      long.push({ from: open + 1, to: close });
    }
    at = close + 1;
  }
  if (long.length === 0) return undefined;
  const marker = `bulkhead-long-${randomBytes(12).toString('hex')}-`;
  if (bytes.subarray(start, end).indexOf(marker) >= 0) return undefined;
  const pieces: string[] = [];
  let from = start;
  long.forEach((s, i) => {
    pieces.push(bytes.toString('utf8', from, s.from), `${marker}${i}`);
    from = s.to;
  });
  pieces.push(bytes.toString('utf8', from, end));
  let message: unknown;
  try {
    message = JSON.parse(pieces.join(''));
  } catch {
    return undefined;
  }
  if (!isObject(message) || !isObject(message.result) || !Array.isArray(message.result.content))
    return undefined;
  const result = message.result;
  const blocks = message.result.content as unknown[];
  const keep = Math.max(0, Math.floor(maxBytes)) + 1;
  const placeheld = (v: unknown): number | undefined => {
    if (typeof v !== 'string' || !v.startsWith(marker)) return undefined;
    const i = Number(v.slice(marker.length));
    return Number.isInteger(i) && i >= 0 && i < long.length ? i : undefined;
  };
  const original: Record<string, number> = {};
  let used = 0;
  /** The text of long string `i` as far as the cut needs: one character more than kept when longer. */
  const text = (i: number, where: string): string => {
    const { from: a, to: b } = long[i] as { from: number; to: number };
    used++;
    original[where] = b - a;
    // Every character takes at most 3 bytes (4 for two, a surrogate pair): keep + 1 characters lie
    // within the first 3 × (keep + 1) bytes, the rest being a partial character at most.
    const enough = a + 3 * (keep + 1) + 4;
    if (enough >= b) return bytes.toString('utf8', a, b);
    return bytes.toString('utf8', a, enough).slice(0, keep + 1);
  };
  const content = blocks.map((block, i) => {
    if (!isObject(block)) return block;
    const where = `content[${i}]`;
    const inText = placeheld(block.text);
    if (inText !== undefined) return { ...block, text: text(inText, where) };
    const resource = block.resource;
    // precut.ts looks at a resource's text only when the block's own text is not over the budget.
    if (isObject(resource) && !(typeof block.text === 'string' && block.text.length > keep)) {
      const inResource = placeheld(resource.text);
      if (inResource !== undefined)
        return { ...block, resource: { ...resource, text: text(inResource, where) } };
    }
    return block;
  });
  // A long string anywhere else (structured content, media, a key) is left to the full parse.
  if (used !== long.length) return undefined;
  const shortened = { ...result, content };
  const cut = precutResult(shortened, maxBytes, (where) => original[where]);
  // Nothing over the budget: the same answer as the full parse (the caller keeps the bytes).
  if (cut === shortened) return null;
  return JSON.stringify({ ...message, result: cut });
}
