/**
 * The spans of encoded runs (decoded.ts) in a scan's result (engine.ts): the union of the runs
 * redacted unchecked past the work budget, and the runs whose decoded text carried a match.
 */
import type { DecodedRuns } from './decoded.js';
import type { Span, Union } from './spans.js';

/**
 * The union of runs `[starts[k], ends[k])`, overlapping ones as one: the runs are two lists each
 * in order of start (findEncoded: base64 runs, then escaped ones), merged here. Past the budget a
 * hostile text has an encoded run or two in every value, mostly overlapping; one span each cost
 * their sort and merge more than finding them. The result is valid until the next call.
 */
export function coalesce(starts: Int32Array, ends: Int32Array, count: number): Union {
  if (UNION_START.length < count) {
    UNION_START = new Int32Array(count);
    UNION_END = new Int32Array(count);
  }
  const outStart = UNION_START;
  const outEnd = UNION_END;
  let out = 0;
  let split = 1;
  while (split < count && starts[split]! >= starts[split - 1]!) split++;
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
 * redacted whole with that span's marker, after `spans`. A match whose text stands in the run as
 * it is, where the scan of the text itself redacted it (`foundAbove`), leaves the run alone.
 * Standing there is not enough: `%22ghp_…` decodes to `"ghp_…"`, but above, the `2` of `%22`
 * before the token is a word character and the rule's left boundary refused it, so every token
 * right after a percent-escape went out bare.
 */
export function pushCarried(
  input: string,
  runs: DecodedRuns,
  inner: Span[],
  spans: Span[],
  foundAbove: (from: number, to: number) => boolean,
): void {
  const { at, text: joined } = runs;
  inner.sort((a, b) => a.start - b.start);
  const carried = new Uint8Array(runs.count);
  let k = 0;
  for (const span of inner) {
    while (k < runs.count && at[k + 1]! <= span.start) k++;
    for (let r = k; r < runs.count && at[r]! < span.end; r++) {
      if (carried[r] === 1) continue;
      const start = runs.start[r]!;
      const end = runs.end[r]!;
      const matched = joined.slice(span.start, span.end);
      const standing = input.slice(start, end).indexOf(matched);
      if (standing >= 0 && foundAbove(start + standing, start + standing + matched.length)) continue;
      carried[r] = 1;
      spans.push({ start, end, replacement: span.marker, marker: span.marker, rank: span.rank });
    }
  }
}

/**
 * Whether `[from, to)` lies within one span the scan of the text itself found: its rules' spans
 * as (start, end, rank) triples (the first `count` of `buffer`) or `objects` (PII, and the rules'
 * when given as objects). Sorted by start on first use, with the greatest end so far: a lookup
 * is a binary search, as a hostile text can hold tens of thousands of each.
 */
export function foundAboveIn(
  buffer: Int32Array,
  count: number,
  objects: readonly Span[],
): (from: number, to: number) => boolean {
  let starts: Float64Array | undefined;
  let reach: Float64Array | undefined;
  const index = () => {
    const pairs: [number, number][] = [];
    for (let k = 0; k < count; k++) pairs.push([buffer[k * 3]!, buffer[k * 3 + 1]!]);
    for (const span of objects) pairs.push([span.start, span.end]);
    pairs.sort((a, b) => a[0] - b[0]);
    starts = Float64Array.from(pairs, (p) => p[0]);
    reach = new Float64Array(pairs.length);
    let most = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < pairs.length; k++) reach[k] = most = Math.max(most, pairs[k]![1]);
  };
  return (from, to) => {
    if (!starts) index();
    // The last span starting at or before `from`: some span up to it reaches `to` or none does.
    let lo = 0;
    let hi = starts!.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts![mid]! <= from) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && reach![lo - 1]! >= to;
  };
}
