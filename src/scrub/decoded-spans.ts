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
 * The matches a scan of decoded text found, as numbers: the first `count` (start, end, rank)
 * triples of `buffer` (its rules', known secrets' and the runs it carried one level further
 * down), then the runs of `union` (redacted past the budget, rank `unionRank`). No object per
 * match: a table of secrets has a match in every cell.
 */
export interface InnerSpans {
  buffer: Int32Array;
  count: number;
  union: Union | null;
  unionRank: number;
}

/** Where a run that carried a match goes: redacted over `[start, end)` with rank `rank`'s marker. */
export type CarrySpan = (start: number, end: number, rank: number) => void;

/**
 * The runs whose decoded text (`runs.text`, scanned one level down) holds a match of `inner`, each
 * handed to `carry` whole with the rank of its first match. A run is left alone only where each
 * match in its decoded text was found by the scan of the text itself, as the same text within the
 * run (`above`: that scan's spans, sorted), as many times. Standing in the run as written is not
 * enough: `%22ghp_…` decodes to `"ghp_…"`, but above, the `2` of `%22` is a word character and the
 * rule's left boundary refused the token, so every token right after an escape went out bare; and
 * in `ghp_X%20ghp_X` the first is found above and the second is not. Counted, not searched for:
 * a search per match made a run of one token repeated quadratic.
 */
export function pushCarried(
  input: string,
  runs: DecodedRuns,
  inner: InnerSpans,
  above: SortedSpans,
  carry: CarrySpan,
): void {
  const n = innerInOrder(inner);
  if (n === 0) return;
  const starts = MATCH_START;
  const ends = MATCH_END;
  const ranks = MATCH_RANK;
  const { at, text: joined } = runs;
  /** Run k, redacted if it carried a match: its matches are `list`, or `[from, to)` without one. */
  const judge = (k: number, from: number, to: number, list?: readonly number[]): void => {
    const start = runs.start[k]!;
    const end = runs.end[k]!;
    // Nothing found inside the run above (a table's cell, most runs of a hostile text): carried,
    // with no texts counted.
    let carried = !above.anyWithin(start, end);
    if (!carried) {
      const texts = new Map<string, number>();
      for (const m of list ?? range(from, to)) {
        const text = joined.slice(starts[m], ends[m]);
        texts.set(text, (texts.get(text) ?? 0) + 1);
      }
      const found = above.textsWithin(input, start, end);
      for (const [text, count] of texts) if ((found.get(text) ?? 0) < count) carried = true;
    }
    if (carried) carry(start, end, ranks[list ? list[0]! : from]!);
  };
  if (!eachWithinItsRun(runs, n)) {
    // A match that spans runs: each run's matches gathered first, the runs in the order first met.
    const { matchesOf, order } = matchesByRun(runs, n);
    for (const k of order) judge(k, 0, 0, matchesOf[k]!);
    return;
  }
  // Nearly always: the matches of each run stand together, `[i, j)`, runs in order.
  let k = 0;
  for (let i = 0; i < n; ) {
    while (at[k + 1]! <= starts[i]!) k++;
    let j = i + 1;
    while (j < n && starts[j]! < at[k + 1]!) j++;
    judge(k, i, j);
    i = j;
  }
}

/**
 * `inner`'s matches in MATCH_START, MATCH_END and MATCH_RANK, in order of start (ties in the
 * order given: the buffer's, then the union's); returns their number.
 */
function innerInOrder(inner: InnerSpans): number {
  const { buffer, count, union } = inner;
  const n = count + (union ? union.count : 0);
  if (MATCH_START.length < n) {
    const size = Math.max(n, 2 * MATCH_START.length);
    MATCH_START = new Int32Array(size);
    MATCH_END = new Int32Array(size);
    MATCH_RANK = new Int32Array(size);
  }
  const starts = MATCH_START;
  const ends = MATCH_END;
  const ranks = MATCH_RANK;
  for (let k = 0; k < count; k++) {
    starts[k] = buffer[3 * k]!;
    ends[k] = buffer[3 * k + 1]!;
    ranks[k] = buffer[3 * k + 2]!;
  }
  for (let k = count; k < n; k++) {
    starts[k] = union!.start[k - count]!;
    ends[k] = union!.end[k - count]!;
    ranks[k] = inner.unionRank;
  }
  // In order nearly always, but for the few runs carried up from the level below, added after
  // the scan's own (a table's 40,000 cells and 5 such runs): the sorted head is merged with the
  // rest sorted, stably, not the whole list sorted again.
  let head = 1;
  while (head < n && starts[head - 1]! <= starts[head]!) head++;
  if (head >= n) return n;
  const tail = Array.from({ length: n - head }, (_, k) => head + k).sort(
    (x, y) => starts[x]! - starts[y]! || x - y,
  );
  if (SORTED_START.length < n) {
    SORTED_START = new Int32Array(MATCH_START.length);
    SORTED_END = new Int32Array(MATCH_START.length);
    SORTED_RANK = new Int32Array(MATCH_START.length);
  }
  let a = 0;
  let b = 0;
  for (let out = 0; out < n; out++) {
    // Ties take the head's first: it was given first.
    const k = b >= tail.length || (a < head && starts[a]! <= starts[tail[b]!]!) ? a++ : tail[b++]!;
    SORTED_START[out] = starts[k]!;
    SORTED_END[out] = ends[k]!;
    SORTED_RANK[out] = ranks[k]!;
  }
  starts.set(SORTED_START.subarray(0, n));
  ends.set(SORTED_END.subarray(0, n));
  ranks.set(SORTED_RANK.subarray(0, n));
  return n;
}
let SORTED_START = new Int32Array(0);
let SORTED_END = new Int32Array(0);
let SORTED_RANK = new Int32Array(0);

/** The matches `pushCarried` judges (valid until its next call: one level's judging ends before another's). */
let MATCH_START = new Int32Array(1024);
let MATCH_END = new Int32Array(1024);
let MATCH_RANK = new Int32Array(1024);

/** Whether each of the first `n` matches (sorted) ends within the run it starts in. */
function eachWithinItsRun(runs: DecodedRuns, n: number): boolean {
  let k = 0;
  for (let i = 0; i < n; i++) {
    while (runs.at[k + 1]! <= MATCH_START[i]!) k++;
    if (MATCH_END[i]! > runs.at[k + 1]!) return false;
  }
  return true;
}

/** Each run's matches, the runs in the order first met (for matches that span runs). */
function matchesByRun(
  runs: DecodedRuns,
  n: number,
): { matchesOf: (number[] | undefined)[]; order: number[] } {
  const matchesOf: (number[] | undefined)[] = [];
  const order: number[] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    while (k < runs.count && runs.at[k + 1]! <= MATCH_START[i]!) k++;
    for (let r = k; r < runs.count && runs.at[r]! < MATCH_END[i]!; r++) {
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
