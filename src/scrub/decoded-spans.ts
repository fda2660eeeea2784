/**
 * The spans of encoded runs (decoded.ts) in a scan's result (engine.ts): the union of the runs
 * redacted unchecked past the work budget, and the runs whose decoded text carried a match.
 */
import type { DecodedRuns } from './decoded.js';
import type { Span, Union } from './spans.js';

/**
 * The union of runs `[starts[k], ends[k])`, overlapping ones as one: the runs are lists each in
 * order of start (findEncoded: base64 runs, then escaped ones, then others), two merged here,
 * more sorted. Past the budget a
 * hostile text has an encoded run or two in every value, mostly overlapping; one span each cost
 * their sort and merge more than finding them. The result is valid until the next call.
 */
export function coalesce(starts: Int32Array, ends: Int32Array, count: number): Union {
  let split = 1;
  while (split < count && starts[split]! >= starts[split - 1]!) split++;
  // More kinds than two (hex dumps, character references): sorted once, then one list.
  let rest = split + 1;
  while (rest < count && starts[rest]! >= starts[rest - 1]!) rest++;
  if (rest < count) {
    const order = Array.from({ length: count }, (_, k) => k).sort((x, y) => starts[x]! - starts[y]!);
    const sortedStarts = Int32Array.from(order, (k) => starts[k]!);
    const sortedEnds = Int32Array.from(order, (k) => ends[k]!);
    return coalesceLists(sortedStarts, sortedEnds, count, count);
  }
  return coalesceLists(starts, ends, count, split);
}

/** coalesce of two lists each in order of start: `[0, split)` and `[split, count)`. */
function coalesceLists(starts: Int32Array, ends: Int32Array, count: number, split: number): Union {
  if (UNION_START.length < count) {
    UNION_START = new Int32Array(count);
    UNION_END = new Int32Array(count);
  }
  const outStart = UNION_START;
  const outEnd = UNION_END;
  let out = 0;
  let a = 0;
  let b = split;
  let from = -1;
  let to = -1;
  while (a < split || b < count) {
    const k = b >= count || (a < split && starts[a]! <= starts[b]!) ? a++ : b++;
    if (starts[k]! < to) {
      to = Math.max(to, ends[k]!);
      continue;
    }
    if (from >= 0) {
      outStart[out] = from;
      outEnd[out++] = to;
    }
    from = starts[k]!;
    to = ends[k]!;
  }
  if (from >= 0) {
    outStart[out] = from;
    outEnd[out++] = to;
  }
  return { start: outStart, end: outEnd, count: out };
}
let UNION_START = new Int32Array(0);
let UNION_END = new Int32Array(0);

/** The runs of `union` as span objects after `spans`, each replaced by `marker`. */
export function pushUnion(spans: Span[], union: Union, marker: string, rank: number): void {
  let at = spans.length;
  spans.length = at + union.count;
  for (let k = 0; k < union.count; k++) {
    spans[at++] = {
      start: union.start[k]!,
      end: union.end[k]!,
      replacement: marker,
      marker,
      rank,
    };
  }
}

/**
 * The runs whose decoded text (`runs.text`, scanned one level down) holds a span of `inner`, each
 * redacted whole with that span's marker, after `spans`. A run is left alone only where each match
 * in its decoded text was found by the scan of the text itself, as the same text within the run
 * (`above`: that scan's spans, sorted), as many times. Standing in the run as written is not
 * enough: `%22ghp_…` decodes to `"ghp_…"`, but above, the `2` of `%22` is a word character and the
 * rule's left boundary refused the token, so every token right after an escape went out bare; and
 * in `ghp_X%20ghp_X` the first is found above and the second is not. Counted, not searched for:
 * a search per match made a run of one token repeated quadratic.
 */
export function pushCarried(
  input: string,
  runs: DecodedRuns,
  inner: Span[],
  spans: Span[],
  above: SortedSpans,
): void {
  const { at, text: joined } = runs;
  // In order of start nearly always (one level's scan finds them so): sorted only where not.
  if (!inOrder(inner)) inner.sort((a, b) => a.start - b.start);
  /**
   * Run k, redacted if it carried a match: its matches are `list`, or `inner[from, to)` without
   * one (the first one's marker names it).
   */
  const judge = (k: number, from: number, to: number, list?: readonly number[]): void => {
    const start = runs.start[k]!;
    const end = runs.end[k]!;
    const first = inner[list ? list[0]! : from]!;
    // Nothing found inside the run above (a table's cell, most runs of a hostile text): carried,
    // with no texts counted.
    let carried = !above.anyWithin(start, end);
    if (!carried) {
      const texts = new Map<string, number>();
      for (const m of list ?? range(from, to)) {
        const text = joined.slice(inner[m]!.start, inner[m]!.end);
        texts.set(text, (texts.get(text) ?? 0) + 1);
      }
      const found = above.textsWithin(input, start, end);
      for (const [text, count] of texts) if ((found.get(text) ?? 0) < count) carried = true;
    }
    if (carried)
      spans.push({ start, end, replacement: first.marker, marker: first.marker, rank: first.rank });
  };
  if (!eachWithinItsRun(runs, inner)) {
    // A match that spans runs: each run's matches gathered first, the runs in the order first met.
    const { matchesOf, order } = matchesByRun(runs, inner);
    for (const k of order) judge(k, 0, 0, matchesOf[k]!);
    return;
  }
  // Nearly always: the matches of each run stand together, `inner[i, j)`, runs in order.
  let k = 0;
  for (let i = 0; i < inner.length; ) {
    while (at[k + 1]! <= inner[i]!.start) k++;
    let j = i + 1;
    while (j < inner.length && inner[j]!.start < at[k + 1]!) j++;
    judge(k, i, j);
    i = j;
  }
}

/** Whether each match (sorted) ends within the run it starts in. */
function eachWithinItsRun(runs: DecodedRuns, inner: readonly Span[]): boolean {
  let k = 0;
  for (const span of inner) {
    while (runs.at[k + 1]! <= span.start) k++;
    if (span.end > runs.at[k + 1]!) return false;
  }
  return true;
}

/** Each run's matches, the runs in the order first met (for matches that span runs). */
function matchesByRun(
  runs: DecodedRuns,
  inner: readonly Span[],
): { matchesOf: (number[] | undefined)[]; order: number[] } {
  const matchesOf: (number[] | undefined)[] = [];
  const order: number[] = [];
  let k = 0;
  for (let i = 0; i < inner.length; i++) {
    const span = inner[i]!;
    while (k < runs.count && runs.at[k + 1]! <= span.start) k++;
    for (let r = k; r < runs.count && runs.at[r]! < span.end; r++) {
      const list = matchesOf[r];
      if (list) list.push(i);
      else {
        matchesOf[r] = [i];
        order.push(r);
      }
    }
  }
  return { matchesOf, order };
}

function inOrder(spans: readonly Span[]): boolean {
  for (let k = 1; k < spans.length; k++) if (spans[k - 1]!.start > spans[k]!.start) return false;
  return true;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, k) => from + k);
}

/** The spans the scan of the text itself found, sorted by start, asked what lies within a run. */
export interface SortedSpans {
  /** The texts of the spans inside `input[start, end)`, counted. */
  textsWithin(input: string, start: number, end: number): Map<string, number>;
  /** Whether any span lies wholly inside `[start, end)`. */
  anyWithin(start: number, end: number): boolean;
}

/**
 * The scan's spans: its rules' as (start, end, rank) triples (the first `count` of `buffer`) and
 * `objects` (PII, and the rules' when given as objects). Sorted on first use: a run's spans are
 * then found by a binary search, as a hostile text can hold tens of thousands of each.
 */
export function sortedSpans(buffer: Int32Array, count: number, objects: readonly Span[]): SortedSpans {
  // Starts and ends in two typed arrays, not a [start, end] pair each: a table's every cell is a
  // span one level down (a CSV of secret cells: 40,000 pairs per MiB, and their garbage).
  let starts: Int32Array | undefined;
  let ends: Int32Array | undefined;
  const index = (): void => {
    const total = count + objects.length;
    const s = new Int32Array(total);
    const e = new Int32Array(total);
    for (let k = 0; k < count; k++) {
      s[k] = buffer[k * 3]!;
      e[k] = buffer[k * 3 + 1]!;
    }
    for (let k = 0; k < objects.length; k++) {
      s[count + k] = objects[k]!.start;
      e[count + k] = objects[k]!.end;
    }
    let sorted = true;
    for (let k = 1; k < total && sorted; k++) sorted = s[k - 1]! <= s[k]!;
    if (sorted) {
      starts = s;
      ends = e;
      return;
    }
    const order = Array.from({ length: total }, (_, k) => k).sort((x, y) => s[x]! - s[y]!);
    starts = Int32Array.from(order, (k) => s[k]!);
    ends = Int32Array.from(order, (k) => e[k]!);
  };
  /** The first span that starts at or after `start` (sorted on first use). */
  const from = (start: number): number => {
    if (starts === undefined) index();
    const all = starts!;
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[mid]! < start) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    textsWithin(input, start, end) {
      const texts = new Map<string, number>();
      const first = from(start);
      const s = starts!;
      const e = ends!;
      for (let k = first; k < s.length && s[k]! < end; k++) {
        if (e[k]! > end) continue;
        const text = input.slice(s[k], e[k]);
        texts.set(text, (texts.get(text) ?? 0) + 1);
      }
      return texts;
    },
    anyWithin(start, end) {
      const first = from(start);
      const s = starts!;
      const e = ends!;
      for (let k = first; k < s.length && s[k]! < end; k++) if (e[k]! <= end) return true;
      return false;
    },
  };
}
