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
  for (let i = 1; i < spans.length; i++) {
    const next = spans[i]!;
    if (next.start < current.end) {
      if (next.end > current.end) current = { ...current, end: next.end, replacement: current.marker };
      else if (current.replacement !== current.marker && next.rank !== current.rank) {
        current = { ...current, replacement: current.marker };
      }
    } else {
      merged.push(current);
      current = next;
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
