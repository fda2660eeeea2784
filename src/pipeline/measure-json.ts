/**
 * The UTF-8 size of a value's JSON and its first characters (the audit
 * preview), without serialising it whole. A tool result of a few
 * megabytes is serialised once anyway, on its way to the agent; the audit
 * record needs only its size and a preview. Strings longer than the preview
 * are measured (their bytes, plus escapes when there are any) and only their
 * head is serialised, which leaves the preview identical: the cut string still
 * holds more characters than the preview takes.
 */

import { charCensus, JSON_LONG_ESCAPE, JSON_SHORT_ESCAPE } from '../util/char-census.js';

/** `String.prototype.isWellFormed` (Node 20; TypeScript's ES2022 library does not declare it). */
const wellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The characters JSON writes as two bytes for one: `\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`. */
const SHORT_ESCAPED = ['"', '\\', '\b', '\t', '\n', '\f', '\r'];

export function jsonStringBytes(text: string): number {
  // Lone surrogates become \udXXX escapes, other control characters \u00XX: measured the slow,
  // exact way (rare in a tool's text).
  if (!wellFormed(text)) return Buffer.byteLength(JSON.stringify(text));
  // Which escapes it needs, in one pass (char-census.ts): two regex passes cost the inspection
  // worker 1–2 ms per megabyte measured.
  const census = charCensus(text);
  if ((census & (JSON_SHORT_ESCAPE | JSON_LONG_ESCAPE)) === 0) return Buffer.byteLength(text) + 2;
  if ((census & JSON_LONG_ESCAPE) !== 0) return Buffer.byteLength(JSON.stringify(text));
  // Quotes, backslashes and line ends (JSON, logs, code) are counted with native searches: serialising
  // a megabyte of log lines only to measure it cost the inspection worker 3-5 ms, counting about 1.
  let bytes = Buffer.byteLength(text) + 2;
  for (const char of SHORT_ESCAPED)
    for (let i = text.indexOf(char); i >= 0; i = text.indexOf(char, i + 1)) bytes++;
  return bytes;
}

/** `bytes`: of the whole JSON; `head`: its first `previewChars` characters; `whole`: the head is all of it. */
export interface JsonMeasure {
  bytes: number;
  head: string;
  whole: boolean;
}

/**
 * Measures taken elsewhere, by value: an inspection worker measures the large result it inspected
 * (src/inspect/output.ts), so the main thread does not walk its megabytes again. Only values
 * frozen all the way down are kept, so the measure stays true for as long as the value lives.
 */
const taken = new WeakMap<object, { previewChars: number; measure: JsonMeasure }>();

export function rememberMeasure(value: object, previewChars: number, measure: JsonMeasure): void {
  if (!Object.isFrozen(value)) throw new TypeError('only a frozen value keeps its measure');
  taken.set(value, { previewChars, measure });
}

export function measureJson(value: unknown, previewChars: number): JsonMeasure {
  if (typeof value === 'object' && value !== null) {
    const known = taken.get(value);
    if (known && known.previewChars === previewChars) return known.measure;
  }
  let correction = 0;
  const text =
    JSON.stringify(value, (_key, item: unknown) => {
      if (typeof item !== 'string' || item.length <= previewChars + 1) return item;
      const cut = item.slice(0, previewChars + 1);
      correction += jsonStringBytes(item) - jsonStringBytes(cut);
      return cut;
    }) ?? '';
  return {
    bytes: Buffer.byteLength(text) + correction,
    head: text.slice(0, previewChars),
    whole: text.length <= previewChars,
  };
}
