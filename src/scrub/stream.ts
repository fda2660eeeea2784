/**
 * Scrubbing text that arrives in chunks (an LLM response stream, a tool's
 * streamed output). A secret split across two chunks must still be caught, so
 * a chunk's tail that could still be the start of a match is held back and
 * re-examined with the next chunk. Only as much is held as a match in progress
 * can need: the automaton's partial-match depth, the window of a rule whose
 * anchor is near the end, the trailing run of characters a PII number can
 * contain. Nothing is emitted before it has been examined in full context.
 *
 * What is held is scanned again with each chunk, so a hold that keeps growing (a finding that
 * does not end: `token=` and a long run of key characters, a long digit or base64 run) would
 * make every push scan all of it: quadratic, 16 s of one core for 80 KB in 7-character chunks.
 * Past `RESCAN_FROM` characters held, chunks are gathered unscanned until they are as long as
 * what is held, then scanned together: the same scan on larger chunks (any chunking gives the
 * same text), linear in the text, only later.
 *
 * Some rules read back before their anchor (a line's start, a table cell's `|` or tag, the object
 * a value is in): the emitted text of the current line, up to CONTEXT characters, is kept and
 * scanned again before what is held, as context only: nothing in it is emitted twice. Only the
 * line: all of CONTEXT made a stream of 7-character chunks scan 40 times what arrived (0.37× its
 * throughput); a JWK whose `kty` is lines above its `d` is missed when a chunk ends between them.
 */
import type { Detection } from './engine-types.js';
import { mergeSpans, renderSpans, type Span } from './spans.js';

export interface StreamScrubber {
  /** Scrubs a chunk; may hold back a tail that could be the start of a secret. */
  push(chunk: string): string;
  /** Returns whatever was held back, scrubbed. */
  flush(): string;
}

/** Held characters past which chunks are gathered before the next scan (see above). */
export const RESCAN_FROM = 512;

/** Emitted characters kept as context for the rules that read back (see above). */
export const CONTEXT = 256;

export function createStreamScrubber(
  detect: (input: string, streaming: boolean) => Detection,
): StreamScrubber {
  let held = '';
  // Emitted text kept as context for the next scan (not emitted again).
  let context = '';
  // Chunks gathered, unscanned, while much is held.
  let gathered: string[] = [];
  let gatheredLength = 0;
  return {
    push(chunk) {
      if (held.length >= RESCAN_FROM) {
        gathered.push(chunk);
        gatheredLength += chunk.length;
        if (gatheredLength < held.length) return '';
        chunk = gathered.join('');
        gathered = [];
        gatheredLength = 0;
      }
      const base = context.length;
      const buffer = context + held + chunk;
      const { spans, hold } = detect(buffer, true);
      const merged = mergeSpans(spans);
      // Clamped: never into the context (emitted before), and a negative cut would slice from the
      // end and emit what it meant to hold.
      let cut = Math.max(base, Math.min(hold, buffer.length));
      const emitted = [];
      for (const inside of unemitted(merged, base)) {
        if (inside.end <= cut) emitted.push(inside);
        else {
          // A finding that crosses the cut is re-examined whole with the next chunk.
          if (inside.start < cut) cut = inside.start;
          break;
        }
      }
      held = buffer.slice(cut);
      context = contextBefore(buffer, cut);
      return renderSpans(buffer, emitted, base, cut);
    },
    flush() {
      const rest = held + gathered.join('');
      const base = context.length;
      const buffer = context + rest;
      held = '';
      context = '';
      gathered = [];
      gatheredLength = 0;
      // Scanned as a chunk (not as a whole text): what is held may begin inside an encoded run
      // whose head was emitted, so that run is decoded at every alignment.
      return renderSpans(buffer, unemitted(mergeSpans(detect(buffer, true).spans), base), base);
    },
  };
}

/** The emitted text before `cut` that a rule may read back: its line, up to CONTEXT characters. */
function contextBefore(buffer: string, cut: number): string {
  const from = Math.max(0, cut - CONTEXT);
  const lineStart = buffer.lastIndexOf('\n', cut - 1);
  return buffer.slice(Math.max(lineStart, from), cut);
}

/**
 * The spans past the context (`base` characters emitted before): one that began in it has only
 * its unemitted part redacted.
 */
function unemitted(spans: readonly Span[], base: number): Span[] {
  const out: Span[] = [];
  for (const span of spans) {
    if (span.end <= base) continue;
    out.push(span.start < base ? { ...span, start: base } : span);
  }
  return out;
}
