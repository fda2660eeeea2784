/**
 * The detection engine behind the scrubber: `detect` runs the scan phase (scan-phase.ts: one
 * Aho–Corasick pass per automaton finds known secrets and rule anchors, each anchor runs its
 * rule once, within a work budget), then the PII detectors (pii-scan.ts: no literal anchor, flat
 * global patterns), then the same over the text's encoded runs decoded (decoded.ts), one level
 * down at a time; and gives the spans as objects, merged, or the text rendered. All linear in the
 * input. The engine also keeps the known secrets (automata.ts `KnownSecrets`) and the counters.
 */
import { KnownSecrets } from './automata.js';
import { anchorOwners, compileRules, prefixesHeld, streamPrefixes } from './compiled-rules.js';
import { Covering } from './covered-runs.js';
import { findEncoded, locateEncoded, MAX_DECODE_DEPTH } from './decoded.js';
import {
  type CarrySpan,
  coalesce,
  type InnerSpans,
  pushCarried,
  pushUnion,
  sortedSpans,
} from './decoded-spans.js';
import { encodedHold } from './encoded-hold.js';
import {
  type Detection,
  type Engine,
  type EngineOptions,
  REDACTED_ENCODED,
  REDACTED_SECRET,
  type ScrubStats,
} from './engine-types.js';
import { type CompiledPiiSet, compilePii, NO_PII, scanPii } from './pii-scan.js';
import { createScanner, type SharedWork, startWork } from './scan-phase.js';
import { appendSpan, SPAN_BUFFERS, spanObjects } from './span-buffers.js';
import { mergeFound, mergeSpans, renderFound, renderSpans, type Span, type Union } from './spans.js';

export function createEngine(options: EngineOptions): Engine {
  const fastRules = options.fastRules !== false;
  const rules = compileRules(options.rules, fastRules);
  const prefixed = streamPrefixes(options.rules);
  const defaultPii = compilePii(options.pii);

  const secrets = new KnownSecrets(anchorOwners(options.rules));
  const stats: ScrubStats = {
    anchorHits: 0,
    ruleExecutions: 0,
    piiExecutions: 0,
    formsCompiled: 0,
    windowChars: 0,
    failedClosed: 0,
    baseLoop: secrets.base.ac.loop,
  };
  const scan = createScanner(rules, secrets, stats, fastRules);

  const addSecrets = (values: Iterable<string>, fold = false) => {
    stats.formsCompiled += secrets.add(values, fold);
    stats.baseLoop = secrets.base.ac.loop;
  };
  const forgetSecrets = (values: Iterable<string>) => {
    stats.formsCompiled += secrets.forget(values);
  };

  /** The work budget of a scan of the text itself, shared by its scans of decoded text. */
  const rootWork: SharedWork = { spent: 0, total: 0 };

  const detect = (
    text: string,
    streams: boolean,
    pii: CompiledPiiSet = defaultPii,
    depth = 0,
    given?: SharedWork,
    merge = MERGE_NONE,
  ): Detection => {
    // A scan of the text itself (not of decoded text) starts the budget its decoded levels share:
    // the engine's one object, as no other such scan can start before this one returns.
    const shared = given ?? rootWork;
    if (!given) startWork(shared, text.length);
    const phase = scan(text, streams, depth, shared);
    // The scan phase is over: what follows reads its results from locals, as a scan of decoded
    // text below reuses the scanner and its result.
    let scanned = phase.buffer;
    let count = phase.count;
    const length = text.length;
    const partial = phase.partial;
    const budget = phase.budget;
    const spent = phase.spent;
    let kept = phase.hold;
    // A rule whose match starts before its anchor (`before`) needs those characters kept until
    // the anchor can arrive: otherwise a token's head would leave in one chunk and its tail,
    // no longer matchable, in the next.
    if (streams) {
      kept = Math.min(kept, length - partial, prefixesHeld(prefixed, text));
    }

    // In the order they were found, as pushed before: ties in the merge's sort keep that order.
    // Merged: the scan's spans stay numbers; PII spans and the runs that carried a match are
    // objects after them, the runs redacted past the budget numbers after those (the same order).
    const spans = merge !== MERGE_NONE ? emptySpans() : spanObjects(scanned, count, markerOf);
    kept = Math.min(kept, scanPii(text, pii, spans, stats, budget, streams));
    shared.spent = spent;
    // Last, so the scan state above is no longer needed when the decoded text reuses it.
    let union: Union | null = null;
    if (depth < MAX_DECODE_DEPTH) {
      const decoded = detectDecoded(
        text,
        spans,
        depth,
        streams,
        shared,
        merge !== MERGE_NONE,
        scanned,
        count,
      );
      union = decoded.union;
      // As numbers, the runs that carried a match follow the scan's own spans in its buffer.
      scanned = SPAN_BUFFERS[depth]!;
      count = decoded.count;
    }
    if (streams) kept = Math.min(kept, encodedHold(text));
    if (merge === MERGE_NONE) return { spans, hold: kept };
    if (merge === MERGE_NUMBERS) {
      inner.buffer = scanned;
      inner.count = count;
      inner.union = union;
      return { spans: NO_SPANS, hold: kept };
    }
    if (merge === MERGE_RENDER) {
      rendered = renderFound(text, scanned, count, spans, union, rules.length, markerOf);
      return { spans: NO_SPANS, hold: kept };
    }
    return { spans: mergeFound(scanned, count, spans, union, rules.length, markerOf), hold: kept };
  };

  const markerOf = (rank: number): string =>
    rank < 0 ? REDACTED_SECRET : rank < rules.length ? rules[rank]!.marker : REDACTED_ENCODED;

  const detectMerged = (input: string, streaming: boolean, pii: CompiledPiiSet = defaultPii): Detection => {
    if (!fastRules) {
      const { spans, hold } = detect(input, streaming, pii);
      return { spans: mergeSpans(spans), hold };
    }
    return detect(input, streaming, pii, 0, undefined, MERGE_SPANS);
  };

  // The text `detect` rendered (MERGE_RENDER), taken by `scrubText` at once.
  let rendered = '';
  // The matches a scan of decoded text found (MERGE_NUMBERS), taken by `detectDecoded` at once.
  const inner: InnerSpans = { buffer: SPAN_BUFFERS[0]!, count: 0, union: null, unionRank: rules.length };
  // What `detectDecoded` answers: one object, read by its caller at once.
  const decoded: { union: Union | null; count: number } = { union: null, count: 0 };
  const scrubText = (input: string, pii: CompiledPiiSet = defaultPii): string => {
    if (!fastRules) return renderSpans(input, detectMerged(input, false, pii).spans);
    detect(input, false, pii, 0, undefined, MERGE_RENDER);
    const out = rendered;
    rendered = '';
    return out;
  };

  /**
   * Rules and known secrets inside encoded runs (decoded.ts): all decoded runs are scanned as one
   * text, separated by line breaks; a run that carried a match is redacted whole, with the
   * marker of what it carried. A match whose text stands in the run as it is was found above.
   * Answers the runs redacted past the budget (as numbers, with `numbers`) and how many spans
   * the level's buffer now holds: with `numbers`, the runs that carried a match are added to it
   * after the scan's own `count` (else pushed onto `spans` as objects).
   */
  const detectDecoded = (
    input: string,
    spans: Span[],
    level: number,
    streaming: boolean,
    shared: SharedWork,
    numbers: boolean,
    scanned: Int32Array,
    count: number,
  ): { union: Union | null; count: number } => {
    if (shared.spent > shared.total) {
      // Past the total budget (a hostile text: the rules' candidates here already fail closed),
      // encoded runs are not decoded: each is redacted whole, unchecked, as a candidate past its
      // budget is. Decoding and scanning them could only fail closed at each anchor they hold,
      // and cost as much as the text's own scan again (anchors of many rules with a `%41` in
      // each value: half of the scrub).
      const located = fastRules
        ? locateEncoded(input, streaming, level > 0)
        : findEncoded(input, streaming, level > 0, true);
      // The spans array grows once, to its size: a hostile text has tens of thousands of runs, and
      // growing by push reallocated the whole array (by then holding the rules' spans) again and
      // again (8% of the scrub of anchors of many rules).
      const union = coalesce(located.start, located.end, located.count);
      stats.failedClosed += located.count;
      // Merged as numbers (rank rules.length: REDACTED_ENCODED), after the spans found so far.
      if (!numbers) pushUnion(spans, union, REDACTED_ENCODED, rules.length);
      return answer(numbers ? union : null, count);
    }
    // A whole text's runs inside a span found above are redacted with it: not decoded.
    const covered = !streaming && count > 0 ? new Covering(scanned, count, secrets.none) : undefined;
    const runs = findEncoded(input, streaming, level > 0, false, covered);
    if (runs.count === 0) return answer(null, count);
    // Its answer is taken from `inner` before anything else can write it.
    detect(runs.text, false, NO_PII, level + 1, shared, MERGE_NUMBERS);
    if (inner.count === 0 && inner.union === null) return answer(null, count);
    const above = sortedSpans(scanned, numbers ? count : 0, spans);
    let added = count;
    const carry: CarrySpan = numbers
      ? (start, end, rank) => {
          added = appendSpan(level, added, start, end, rank);
        }
      : (start, end, rank) => {
          const marker = markerOf(rank);
          spans.push({ start, end, replacement: marker, marker, rank });
        };
    pushCarried(input, runs, inner, above, carry);
    return answer(null, added);
  };
  // Filled as the call returns: the scan of decoded text inside it answers through it too.
  const answer = (union: Union | null, count: number) => {
    decoded.union = union;
    decoded.count = count;
    return decoded;
  };

  // Secrets known at start go straight into the base automaton: one pass over the text.
  addSecrets(options.secrets, true);
  return {
    addSecrets: (values) => addSecrets(values),
    forgetSecrets,
    heldForms: () => secrets.held,
    detect: (input, streaming, pii) => detect(input, streaming, pii),
    detectMerged,
    scrubText,
    compilePii,
    stats,
  };
}

/**
 * What `detect` makes of the spans it found: objects, merged objects, the rendered text, or
 * numbers (a scan of decoded text, for `pushCarried`).
 */
const MERGE_NONE = 0;
const MERGE_SPANS = 1;
const MERGE_RENDER = 2;
const MERGE_NUMBERS = 3;
const NO_SPANS: Span[] = [];

/**
 * An empty array already of objects' elements kind, as `spanObjects` makes: a literal `[]` starts
 * as small integers' and changes kind at its first span, so the PII probe's optimised code (which
 * pushes onto it) met arrays of two kinds and was thrown away mid-text on ordinary text, at its
 * first PII span after warm-up (a 4 ms scrub of 1 MiB took 30 ms). In four `--trace-deopt` runs
 * on ordinary text: two such deoptimisations after warm-up in each before, one or none with this.
 */
function emptySpans(): Span[] {
  const spans: Span[] = [PLACEHOLDER_SPAN];
  spans.length = 0;
  return spans;
}
const PLACEHOLDER_SPAN: Span = { start: 0, end: 0, replacement: '', marker: '', rank: 0 };
