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

/** Disjoint runs in order of start, `[start[k], end[k])` for k < count (engine.ts `coalesce`). */
export interface Union {
  start: Int32Array;
  end: Int32Array;
  count: number;
}

/**
 * `mergeSpans` of the spans a scan found, without an object for each: first `count` triples
 * (start, end, rank) of `found`, then `objects`, then the runs of `union` (rank `unionRank`), in
 * that order. A span given as numbers is replaced by its rank's marker (`markerOf`), as the
 * engine's are. Same result as `mergeSpans` of those spans as objects in that order: the same
 * sort, stable (spans equal in start, end and rank keep their order: two PII detectors' spans
 * share a rank and differ in marker), and the same joins. A hostile text finds tens of
 * thousands of spans (anchors of many rules: 36,000 per MiB, 12,000 after the merge); an object
 * each, their sort by a comparator and their garbage cost more than the merge itself.
 */
export function mergeFound(
  found: Int32Array,
  count: number,
  objects: readonly Span[],
  union: Union | null,
  unionRank: number,
  markerOf: (rank: number) => string,
): Span[] {
  const merged = mergeKeys(found, count, objects, union, unionRank);
  const firstUnion = count + objects.length;
  const starts = KEY_START;
  const ranks = KEY_RANK;
  const out: Span[] = [];
  out.length = merged;
  for (let m = 0; m < merged; m++) {
    const k = OUT_FIRST[m]!;
    const object = k >= count && k < firstUnion ? objects[k - count]! : undefined;
    if (object && OUT_JOINED[m] === 0) {
      out[m] = object;
      continue;
    }
    const marker = object ? object.marker : markerOf(ranks[k]!);
    out[m] = { start: starts[k]!, end: OUT_END[m]!, replacement: marker, marker, rank: ranks[k]! };
  }
  return out;
}

/**
 * `renderSpans(input, mergeFound(found, count, objects, union, unionRank, markerOf))`, without
 * a span object for each merged span: a page of real keys merges to one span per key (150,000
 * in 4 MiB), and those objects, made only to be read once here, were a third of the scrub's
 * garbage and, kept alive until rendered, were copied by every collection during the scan.
 */
export function renderFound(
  input: string,
  found: Int32Array,
  count: number,
  objects: readonly Span[],
  union: Union | null,
  unionRank: number,
  markerOf: (rank: number) => string,
): string {
  const merged = mergeKeys(found, count, objects, union, unionRank);
  if (merged === 0) return input;
  const firstUnion = count + objects.length;
  const starts = KEY_START;
  const ranks = KEY_RANK;
  let out = '';
  let at = 0;
  for (let m = 0; m < merged; m++) {
    const k = OUT_FIRST[m]!;
    const object = k >= count && k < firstUnion ? objects[k - count]! : undefined;
    const replacement = object
      ? OUT_JOINED[m] === 0
        ? object.replacement
        : object.marker
      : markerOf(ranks[k]!);
    out += input.slice(at, starts[k]!);
    out += replacement;
    at = OUT_END[m]!;
  }
  return out + input.slice(at);
}

/**
 * The merge of `mergeFound`: the merged spans' first keys, ends and whether others joined them in
 * OUT_FIRST, OUT_END and OUT_JOINED (keys in KEY_START, KEY_END, KEY_RANK); returns their number.
 */
function mergeKeys(
  found: Int32Array,
  count: number,
  objects: readonly Span[],
  union: Union | null,
  unionRank: number,
): number {
  const firstUnion = count + objects.length;
  const n = firstUnion + (union ? union.count : 0);
  if (n === 0) return 0;
  if (KEY_START.length < n) growKeys(n);
  const starts = KEY_START;
  const ends = KEY_END;
  const ranks = KEY_RANK;
  for (let k = 0; k < count; k++) {
    starts[k] = found[3 * k]!;
    ends[k] = found[3 * k + 1]!;
    ranks[k] = found[3 * k + 2]!;
  }
  for (let k = 0; k < objects.length; k++) {
    const span = objects[k]!;
    starts[count + k] = span.start;
    ends[count + k] = span.end;
    ranks[count + k] = span.rank;
  }
  for (let k = firstUnion; k < n; k++) {
    starts[k] = union!.start[k - firstUnion]!;
    ends[k] = union!.end[k - firstUnion]!;
    ranks[k] = unionRank;
  }
  const order = sortOrder(n);
  // The merged spans as (start, end, first span, joined) until their number is known.
  let merged = 0;
  let first = order[0]!;
  let end = ends[first]!;
  let rank = ranks[first]!;
  // Whether the current span's replacement is its marker: always, but for a PII mask not joined.
  let isMarker =
    first < count ||
    first >= firstUnion ||
    objects[first - count]!.replacement === objects[first - count]!.marker;
  let joined = 0;
  for (let i = 1; i < n; i++) {
    const next = order[i]!;
    if (starts[next]! < end) {
      const grows = ends[next]! > end;
      if (!grows && (isMarker || ranks[next] === rank)) continue;
      if (grows) end = ends[next]!;
      isMarker = true;
      joined = 1;
    } else {
      OUT_FIRST[merged] = first;
      OUT_END[merged] = end;
      OUT_JOINED[merged++] = joined;
      first = next;
      end = ends[next]!;
      rank = ranks[next]!;
      isMarker =
        next < count ||
        next >= firstUnion ||
        objects[next - count]!.replacement === objects[next - count]!.marker;
      joined = 0;
    }
  }
  OUT_FIRST[merged] = first;
  OUT_END[merged] = end;
  OUT_JOINED[merged++] = joined;
  return merged;
}

/**
 * The order of the first `n` keys by start, then longer first, then rank; stable (a natural
 * merge sort: the scan's spans come mostly in order of start, the union's are, so a few runs).
 */
function sortOrder(n: number): Int32Array {
  const starts = KEY_START;
  const ends = KEY_END;
  const ranks = KEY_RANK;
  // Whether key a sorts strictly before key b.
  const before = (a: number, b: number): boolean =>
    starts[a]! < starts[b]! ||
    (starts[a] === starts[b] && (ends[a]! > ends[b]! || (ends[a] === ends[b] && ranks[a]! < ranks[b]!)));
  let from = ORDER_A;
  let to = ORDER_B;
  for (let k = 0; k < n; k++) from[k] = k;
  // Run boundaries: runs[r] is where run r starts; the last entry is n.
  const runs = RUNS;
  let count = 0;
  runs[count++] = 0;
  for (let k = 1; k < n; k++) if (before(k, k - 1)) runs[count++] = k;
  runs[count++] = n;
  while (count > 2) {
    let out = 0;
    let r = 0;
    for (; r + 2 < count; r += 2) {
      let a = runs[r]!;
      const aEnd = runs[r + 1]!;
      let b = aEnd;
      const bEnd = runs[r + 2]!;
      let at = a;
      runs[out++] = a;
      // Ties take the left run's first: stable.
      while (a < aEnd && b < bEnd) to[at++] = before(from[b]!, from[a]!) ? from[b++]! : from[a++]!;
      while (a < aEnd) to[at++] = from[a++]!;
      while (b < bEnd) to[at++] = from[b++]!;
    }
    if (r + 1 < count) {
      // An odd run left over: copied as it is.
      runs[out++] = runs[r]!;
      for (let k = runs[r]!; k < n; k++) to[k] = from[k]!;
    }
    runs[out++] = n;
    count = out;
    const swap = from;
    from = to;
    to = swap;
  }
  return from;
}

function growKeys(n: number): void {
  const size = Math.max(n, 2 * KEY_START.length);
  KEY_START = new Int32Array(size);
  KEY_END = new Int32Array(size);
  KEY_RANK = new Int32Array(size);
  ORDER_A = new Int32Array(size);
  ORDER_B = new Int32Array(size);
  RUNS = new Int32Array(size + 1);
  OUT_FIRST = new Int32Array(size);
  OUT_END = new Int32Array(size);
  OUT_JOINED = new Uint8Array(size);
}
/** The merge's working arrays, kept between calls (a merge finishes before the next starts). */
let KEY_START = new Int32Array(0);
let KEY_END = new Int32Array(0);
let KEY_RANK = new Int32Array(0);
let ORDER_A = new Int32Array(0);
let ORDER_B = new Int32Array(0);
let RUNS = new Int32Array(0);
let OUT_FIRST = new Int32Array(0);
let OUT_END = new Int32Array(0);
let OUT_JOINED = new Uint8Array(0);
