/**
 * Replacing found spans. Overlapping findings (a GitHub token inside a
 * `GITHUB_TOKEN=...` assignment inside a known secret) merge into one
 * replacement, so no fragment of a secret survives between two markers.
 */

export interface Span {
  start: number;
  end: number;
  /** Text that replaces the span when it stands alone (a marker, or a mask for PII). */
  replacement: string;
  /** Marker used when the span merges with others: a mask would keep characters of its neighbour. */
  marker: string;
  /** Lower wins when two spans start together and are as long: known secrets, then rules in order, then PII. */
  rank: number;
}

/** Sorted, non-overlapping spans; overlapping or touching-inside spans are merged. */
export function mergeSpans(spans: Span[]): Span[] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a.start - b.start || b.end - a.end || a.rank - b.rank);
  const merged: Span[] = [];
  let current = spans[0]!;
  // Whether `current` was made here: then it is changed in place as further spans join it (the
  // caller's spans never are). A hostile text merges tens of thousands of overlapping spans, and
  // a copy per join was most of the merge's time and garbage.
  let own = false;
  for (let i = 1; i < spans.length; i++) {
    const next = spans[i]!;
    if (next.start < current.end) {
      const grows = next.end > current.end;
      if (!grows && (current.replacement === current.marker || next.rank === current.rank)) continue;
      const end = grows ? next.end : current.end;
      if (own) {
        current.end = end;
        current.replacement = current.marker;
      } else {
        const { start, marker, rank } = current;
        current = { start, end, replacement: marker, marker, rank };
        own = true;
      }
    } else {
      merged.push(current);
      current = next;
      own = false;
    }
  }
  merged.push(current);
  return merged;
}

/** `input[from, to)` with merged `spans` (all inside that range) replaced. */
export function renderSpans(input: string, spans: readonly Span[], from = 0, to = input.length): string {
  if (spans.length === 0) return from === 0 && to === input.length ? input : input.slice(from, to);
  let out = '';
  let at = from;
  for (const span of spans) {
    out += input.slice(at, span.start) + span.replacement;
    at = span.end;
  }
  return out + input.slice(at, to);
}
