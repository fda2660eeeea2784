/**
 * The detection engine behind the scrubber: one Aho–Corasick pass finds every
 * known-secret form and every rule anchor; each anchor hit runs its rule's
 * sticky pattern once at that position; PII detectors (which have no literal
 * anchor) run as flat global patterns. All three are linear in the input.
 *
 * Linear is not enough when an attacker picks the constant: text made of one
 * anchor repeated (`token=token=...`) makes every few characters start a
 * candidate that reads its whole window and then fails, about 40 reads per
 * character. So each rule and PII detector has a work budget per scan (1
 * character re-read per input character, plus a little): past it, the rule
 * fails closed for the rest of that scan — each further candidate is redacted,
 * without its checks, over all the rule could have matched from there (its
 * window, and the run of value characters that follows), and the hits inside
 * are skipped. Ordinary text never comes near the budget; a hostile one is
 * over-redacted instead of stalling the gateway, and leaks nothing.
 *
 * Known secrets live in three automata: a base one with the rule anchors and
 * the configured secrets (about 400 forms each with the wrapped ones), built
 * once; a runtime one for secrets added since (run tokens, grants: about 15
 * plain forms each); and a small delta. Adding rebuilds only the delta; the
 * delta is folded into the runtime automaton once it grows past ~√ of it, so
 * an addition never rebuilds the configured secrets (with 1,000 configured, a
 * fold into the base took about 2 s) and costs little on average. A scan makes
 * one pass per non-empty automaton: one with no runtime secrets, at most three.
 */
import {
  type AhoCorasick,
  type AhoCorasickOptions,
  buildAhoCorasick,
  foldAscii,
  type ScanSkip,
} from './aho-corasick.js';
import { findEncoded, locateEncoded, MAX_DECODE_DEPTH } from './decoded.js';
import { encodedHold } from './encoded-hold.js';
import { knownSecretForms } from './encodings.js';
import { type MissProof, missProof, provesMiss } from './miss-proof.js';
import type { PiiActions } from './pii.js';
import { ACCEPT_COST, type CompiledPiiSet, compilePii, NO_PII, runOf, scanPii } from './pii-scan.js';
import type { SecretRule } from './rules/types.js';
import { mergeFound, mergeSpans, type Span, type Union } from './spans.js';

export const REDACTED_SECRET = '[REDACTED:secret]';
/** An encoded run redacted unchecked, past the scan's work budget (see detectDecoded). */
export const REDACTED_ENCODED = '[REDACTED:encoded]';

/** Secrets shorter than this are not matched: they would redact ordinary words. */
export const MIN_SECRET_LENGTH = 6;

const DEFAULT_RULE_MAX_LENGTH = 512;
const WHITESPACE = /\s/;

export interface ScrubStats {
  /**
   * Rule anchors found in scanned text: one per rule that owns the anchor. Inside a fail-closed
   * redaction past the total budget, where no rule runs, an anchor of rules that take one exact
   * case counts for those rules in any case (the scan leaves the report out unchecked).
   */
  anchorHits: number;
  /** Rule pattern executions: at most one per anchor hit. */
  ruleExecutions: number;
  /** PII pattern executions: one per candidate found plus one final miss per detector. */
  piiExecutions: number;
  /** Known-secret forms compiled into automata so far (rebuild work of `addSecrets`). */
  formsCompiled: number;
  /** Characters read by rule and PII pattern executions (estimated for failed ones). */
  windowChars: number;
  /** Candidates redacted without their checks because their rule ran out of work budget. */
  failedClosed: number;
  /** Which loop scans the base automaton (anchors and configured secrets; AhoCorasick.loop). */
  baseLoop: AhoCorasick['loop'];
}

export interface Detection {
  spans: Span[];
  /** For a stream: the text from here on could still be part of a match that continues in the next chunk. */
  hold: number;
}

export interface Engine {
  addSecrets(values: Iterable<string>): void;
  /** Finds spans; `pii` (from `compilePii`) overrides the engine's own PII actions. */
  detect(input: string, streaming: boolean, pii?: CompiledPiiSet): Detection;
  /**
   * `detect` with its spans merged: what `mergeSpans(detect(…).spans)` gives (same spans, same
   * order, same replacements), merged from the scan's number buffers without a span object for
   * each one found (spans.ts `mergeSpans` is the reference: `fastRules` off calls it).
   */
  detectMerged(input: string, streaming: boolean, pii?: CompiledPiiSet): Detection;
  /** PII detectors for other actions, sharing this engine's secrets and rules. */
  compilePii(actions: PiiActions): CompiledPiiSet;
  readonly stats: ScrubStats;
}

export interface EngineOptions {
  secrets: Iterable<string>;
  rules: readonly SecretRule[];
  pii: PiiActions;
  /**
   * Off: every rule execution calls its regex (`exec`), with no miss proof (miss-proof.ts) and
   * no `test` for whole-match rules, and the scan reports every anchor past the work budget too
   * (no ScanSkip). The reference the differential tests compare with.
   */
  fastRules?: boolean;
}

interface CompiledRule {
  regex: RegExp;
  marker: string;
  before: number;
  maxLength: number;
  spacesWithin: number;
  extend: RegExp | undefined;
  group: number;
  accept: ((secret: string, before: string) => boolean) | undefined;
  /** Sticky: the run of characters a failed-closed redaction covers (`extend`, or VALUE_CHAR). */
  closed: RegExp;
  /** The class of the `before` characters, as ASCII flags (`beforeChar`; others tested by it). */
  beforeAscii: Uint8Array | undefined;
  beforeChar: RegExp | undefined;
  /** A check that settles most failing calls without the regex (miss-proof.ts). */
  proof: MissProof | undefined;
}

/** Characters a credential value is made of, when a rule names no `extend` class. */
const VALUE_CHAR = '[^\\s"\'`<>]';
/** Work budget per rule and scan: characters read per input character, plus a floor. */
const WORK_PER_CHAR = 1;
const WORK_FLOOR = 8192;
/**
 * All rules' work per input character, an execution costing EXEC_COST plus what it re-read:
 * ordinary text spends about 0.4, dense JSON assignments (an anchor every 17 characters) 3.8;
 * anchors of many rules every few characters, 16 or more. (A regex call costs what the
 * automaton pass spends on a hundred characters or so.)
 */
const TOTAL_WORK_PER_CHAR = 6;
const EXEC_COST = 64;

/**
 * What one automaton pattern stands for. Automata match ASCII letters in either case (one path
 * for `token`, `TOKEN`, `Token`), so a pattern is the folded text of: known-secret forms (exact:
 * checked at the hit), anchors of rules that take any case, and anchors of rules that take one
 * exact case (checked at the hit).
 */
interface Automaton {
  ac: AhoCorasick;
  length: Int32Array;
  secrets: (readonly string[] | undefined)[];
  anyCase: (readonly number[] | undefined)[];
  exact: (readonly ExactAnchor[] | undefined)[];
  /** Per pattern: its hits when reported inside a fail-closed redaction (ScanSkip), or -1. */
  quiet: Int32Array;
}

interface ExactAnchor {
  anchor: string;
  rules: number[];
}

/** Flags of the ASCII characters in `charClass` (a one-character class). */
function asciiFlags(charClass: RegExp): Uint8Array {
  const flags = new Uint8Array(128);
  for (let code = 0; code < 128; code++) flags[code] = charClass.test(String.fromCharCode(code)) ? 1 : 0;
  return flags;
}

/** Whether `input[start, anchorStart)` is all of the rule's `beforeChar` class (read backwards). */
function prefixFits(input: string, start: number, anchorStart: number, rule: CompiledRule): boolean {
  const ascii = rule.beforeAscii!;
  for (let k = anchorStart - 1; k >= start; k--) {
    const code = input.charCodeAt(k);
    if (code < 128 ? ascii[code] === 0 : !rule.beforeChar!.test(input[k]!)) return false;
  }
  return true;
}

/** Rule anchors by folded text. */
interface AnchorOwners {
  anyCase: number[];
  exact: ExactAnchor[];
}

export function createEngine(options: EngineOptions): Engine {
  const rules: CompiledRule[] = options.rules.map((rule) => ({
    regex: new RegExp(rule.pattern, `y${rule.anyCase ? 'i' : ''}`),
    marker: `[REDACTED:${rule.id}]`,
    before: rule.before ?? 0,
    maxLength: rule.maxLength ?? DEFAULT_RULE_MAX_LENGTH,
    spacesWithin: rule.spaces ? (rule.spacesWithin ?? Number.POSITIVE_INFINITY) : 0,
    extend: rule.extend ? new RegExp(rule.extend) : undefined,
    group: rule.group ?? 0,
    accept: rule.accept,
    closed: runOf(rule.extend ?? VALUE_CHAR),
    beforeAscii: rule.beforeChar ? asciiFlags(rule.beforeChar) : undefined,
    beforeChar: rule.beforeChar,
    proof: options.fastRules === false ? undefined : missProof(rule.pattern, `y${rule.anyCase ? 'i' : ''}`),
  }));
  const anchors = new Map<string, AnchorOwners>();
  options.rules.forEach((rule, index) => {
    for (const anchor of rule.anchors) {
      const key = foldAscii(anchor);
      let owners = anchors.get(key);
      if (!owners) {
        owners = { anyCase: [], exact: [] };
        anchors.set(key, owners);
      }
      if (rule.anyCase) {
        if (!owners.anyCase.includes(index)) owners.anyCase.push(index);
        continue;
      }
      let exact = owners.exact.find((entry) => entry.anchor === anchor);
      if (!exact) {
        exact = { anchor, rules: [] };
        owners.exact.push(exact);
      }
      if (!exact.rules.includes(index)) exact.rules.push(index);
    }
  });
  const prefixed = options.rules
    .filter((rule) => (rule.before ?? 0) > 0)
    .map((rule) => ({ length: rule.before ?? 0, char: rule.beforeChar ?? /[\s\S]/ }));
  const defaultPii = compilePii(options.pii);
  const fastRules = options.fastRules !== false;

  const known = new Set<string>();
  let base = buildAutomaton(anchors, []);
  let runtimeForms: string[] = [];
  let runtime: Automaton | null = null;
  let deltaForms: string[] = [];
  let delta: Automaton | null = null;
  const stats: ScrubStats = {
    anchorHits: 0,
    ruleExecutions: 0,
    piiExecutions: 0,
    formsCompiled: 0,
    windowChars: 0,
    failedClosed: 0,
    baseLoop: base.ac.loop,
  };
  const covered = new Int32Array(rules.length);
  const before = Int32Array.from(rules, (rule) => rule.before);
  const work = new Float64Array(rules.length);
  const readTo = new Int32Array(rules.length);

  const addSecrets = (values: Iterable<string>, fold = false) => {
    let added = false;
    for (const value of values) {
      if (value.length < MIN_SECRET_LENGTH) continue;
      // Wrapped forms (about 400 per secret) only for the configured secrets: secrets added at run
      // time (run tokens, grants) would make each addition rebuild hundreds of patterns, stalling
      // the event loop; bulkhead's own tokens are caught in their plain forms by a rule as well.
      for (const form of knownSecretForms(value, { wrapped: fold })) {
        if (form.length < MIN_SECRET_LENGTH || known.has(form)) continue;
        known.add(form);
        deltaForms.push(form);
        added = true;
      }
    }
    if (!added) return;
    if (fold) {
      // Only at start: the configured secrets join the anchors in the base automaton.
      base = buildAutomaton(anchors, deltaForms, { wasmEntries: BASE_WASM_ENTRIES });
      stats.baseLoop = base.ac.loop;
      stats.formsCompiled += deltaForms.length;
      deltaForms = [];
      return;
    }
    // Folding when the delta passes ~√(runtime) balances rebuilding the delta on every addition
    // against rebuilding the runtime automaton now and then: both stay small per addition.
    if (deltaForms.length > Math.max(256, 8 * Math.sqrt(runtimeForms.length))) {
      runtimeForms = runtimeForms.concat(deltaForms);
      deltaForms = [];
      runtime = buildAutomaton(NO_ANCHORS, runtimeForms);
      delta = null;
      stats.formsCompiled += runtimeForms.length;
    } else {
      delta = buildAutomaton(NO_ANCHORS, deltaForms, { denseEntries: DELTA_DENSE_ENTRIES });
      stats.formsCompiled += deltaForms.length;
    }
  };

  // The state of the scan in progress, kept by the engine, not made per call: a scan made seven
  // closures, their context and two objects each time (~900 bytes), for every string of every
  // audit event and tool result. The scan phase (the automata passes and the rule runs they
  // call) never starts another scan, so one set serves all; a scan of decoded text (one level
  // down) starts only after its parent's scan phase, whose results `detect` has taken into
  // locals by then.
  let input = '';
  let n = 0;
  let streaming = false;
  let hold = 0;
  let found = 0;
  let buffer: Int32Array = SPAN_BUFFERS[0]!;
  let level = 0;
  let budget = 0;
  let totalBudget = 0;
  let spent = 0;
  // Past the total budget, candidates are redacted to the end of their value run unchecked;
  // hits inside such a redaction are skipped for every rule. Up to `skip.to`, the dense scan
  // leaves out the reports of rule anchors that are no known secret's form (`quiet`),
  // counting them in `skip.hits`: past the budget of a hostile text, most reports (anchors of
  // many rules: ~140,000 per MiB) crossed into JavaScript only for this. Any other loop, or
  // the reference (fastRules off), counts them alike below.
  const skip: ScanSkip = { to: 0, hits: 0 };
  // End of the run of value characters from `i`, cached: anchors arrive in order, and every
  // position inside one run shares its end, so this costs O(1) amortised per call.
  let runFrom = -1;
  let runTo = -1;
  /** The work budget of a scan of the text itself, shared by its scans of decoded text. */
  const rootWork: SharedWork = { spent: 0, total: 0 };
  /** The automaton being scanned (`scanWith`). */
  let automaton: Automaton = base;

  // The scan's own spans (rules, known secrets) as (start, end, rank) in a kept buffer, one per
  // level of decoding (a scan of decoded text runs while its parent's are still kept), made
  // objects in one go before the PII pass (`spanObjects`), or merged as numbers (`merge`): a
  // hostile text makes tens of thousands, and pushing each onto a growing array reallocated it
  // again and again.
  const addSpan = (start: number, end: number, rank: number) => {
    if (found * 3 + 3 > buffer.length) buffer = growSpanBuffer(level);
    const at = found * 3;
    buffer[at] = start;
    buffer[at + 1] = end;
    buffer[at + 2] = rank;
    found++;
  };
  const runEnd = (i: number): number => {
    if (i >= runFrom && i <= runTo) return runTo;
    VALUE_RUN.lastIndex = i;
    VALUE_RUN.test(input);
    runFrom = i;
    runTo = VALUE_RUN.lastIndex;
    return runTo;
  };

  const failClosed = (index: number, rule: CompiledRule, start: number, anchorEnd: number) => {
    // Everything the rule could have redacted from this anchor: any match lies within its
    // window (`maxLength`, checked against the pattern by the rule tests), and a value that
    // runs on is extended past it. The run after the anchor alone is not enough: in
    // `"password": "…"` it ends at the quote, before the value.
    rule.closed.lastIndex = Math.min(n, Math.max(anchorEnd, start + rule.maxLength));
    rule.closed.test(input);
    const e = rule.closed.lastIndex;
    // Held only within the rule's window, as a normal candidate: holding a whole hostile run
    // would make a stream re-scan it with every chunk.
    if (streaming && e === n && n - start < rule.maxLength) hold = Math.min(hold, start);
    stats.failedClosed++;
    covered[index] = e;
    addSpan(start, e, index);
  };

  const runRule = (index: number, anchorStart: number, anchorEnd: number) => {
    const rule = rules[index]!;
    const start = anchorStart - rule.before;
    stats.anchorHits++;
    // A hit inside this rule's previous match is part of it: re-running would only repeat work.
    if (start < 0 || start < covered[index]!) return;
    // A match starts with exactly `before` characters of its class: where they are not there,
    // the rule cannot match, and neither running it nor failing closed is called for. (A
    // Facebook token's `|` is in every row of a Markdown table: each run re-read the 15
    // characters before it, until the rule ran out of budget and redacted the rest.)
    if (rule.beforeAscii && !prefixFits(input, start, anchorStart, rule)) return;
    if (work[index]! > budget || spent > totalBudget) {
      failClosed(index, rule, start, anchorEnd);
      if (spent > totalBudget) skip.to = Math.max(skip.to, covered[index]!);
      return;
    }
    stats.ruleExecutions++;
    // A call the proof settles is booked as the failed call it would have been.
    // A rule that redacts its whole match is run with `test` (its end is `lastIndex`): no match
    // array and no string of the match are made.
    let match: RegExpExecArray | null = null;
    let matchEnd = -1;
    if (!rule.proof || !provesMiss(rule.proof, input, start)) {
      rule.regex.lastIndex = start;
      if (rule.group || !fastRules) {
        match = rule.regex.exec(input);
        if (match) matchEnd = start + match[0].length;
      } else if (rule.regex.test(input)) matchEnd = rule.regex.lastIndex;
    }
    const matched = matchEnd >= 0;
    // What the execution read: the match, or (failed) at most the window over the value run.
    const readEnd = matched ? matchEnd : anchorEnd + Math.min(rule.maxLength, runEnd(anchorEnd) - anchorEnd);
    stats.windowChars += readEnd - start;
    // Only re-reading counts against the budget: ordinary text, however dense its assignments,
    // reads each value once; a hostile run of anchors reads the same window again and again.
    const reread = Math.max(0, Math.min(readEnd, readTo[index]!) - start);
    spent += EXEC_COST + reread;
    // The acceptance check (entropy, checksum) runs only on a match: a failed run that
    // re-read a little (two `token=` parameters on one access-log line) costs that little.
    if (reread > 0) work[index] = work[index]! + reread + (matched && rule.accept ? ACCEPT_COST : 0);
    readTo[index] = Math.max(readTo[index]!, readEnd);
    if (!matched) {
      // More input can only complete a match that could span to the end of this one: a rule
      // whose matches hold no whitespace (past their first `spacesWithin` characters) cannot,
      // once such whitespace follows the anchor.
      if (
        streaming &&
        n - start < rule.maxLength &&
        !WHITESPACE.test(input.slice(start + rule.spacesWithin, n))
      ) {
        hold = Math.min(hold, start);
      }
      return;
    }
    const end = matchEnd;
    if (streaming && end === n) hold = Math.min(hold, start);
    // The redacted group is the last thing a rule matches, followed at most by a literal or a
    // lookahead that cannot contain it, so its last occurrence in the match is the group itself.
    // (Match indices, the `d` flag, would cost an allocation per hit.)
    let s = start;
    let e = end;
    if (match) {
      const group = match[rule.group];
      if (group === undefined) return;
      s = rule.group ? start + match[0].lastIndexOf(group) : start;
      e = s + group.length;
    }
    if (rule.accept && !rule.accept(input.slice(s, e), s > 0 ? input[s - 1]! : '')) return;
    // A value longer than the pattern's bounded window is still one value: redact all of it,
    // or its tail would leak past the marker. Linear: the extended span is covered below.
    if (rule.extend && e === end) {
      while (e < n && rule.extend.test(input[e]!)) e++;
      if (streaming && e === n) hold = Math.min(hold, start);
    }
    covered[index] = e;
    addSpan(s, e, index);
  };

  const runOwners = (owners: readonly number[], anchorStart: number, end: number) => {
    if (anchorStart < skip.to) {
      stats.anchorHits += owners.length;
      return;
    }
    for (let k = 0; k < owners.length; k++) {
      const index = owners[k]!;
      // Checked here, before the call: inside a hostile run of anchors most hits end here.
      if (anchorStart - before[index]! < covered[index]!) stats.anchorHits++;
      else runRule(index, anchorStart, end);
    }
  };

  const onHit = (pattern: number, end: number) => {
    const start = end - automaton.length[pattern]!;
    const quiet = automaton.quiet[pattern]!;
    if (quiet >= 0 && end <= skip.to) {
      stats.anchorHits += quiet;
      return;
    }
    const forms = automaton.secrets[pattern];
    if (forms) {
      for (const form of forms) {
        if (!input.startsWith(form, start)) continue;
        addSpan(start, end, -1);
        break;
      }
    }
    const anyCase = automaton.anyCase[pattern];
    if (anyCase) runOwners(anyCase, start, end);
    const exact = automaton.exact[pattern];
    if (exact) {
      for (const entry of exact)
        if (input.startsWith(entry.anchor, start)) runOwners(entry.rules, start, end);
    }
  };
  const scanWith = (scanned: Automaton): number => {
    automaton = scanned;
    return scanned.ac.scan(input, 0, n, onHit, fastRules ? skip : undefined);
  };

  const detect = (
    text: string,
    streams: boolean,
    pii: CompiledPiiSet = defaultPii,
    depth = 0,
    given?: SharedWork,
    merge = false,
  ): Detection => {
    // A scan of the text itself (not of decoded text) starts the budget its decoded levels share:
    // the engine's one object, as no other such scan can start before this one returns.
    const shared = given ?? rootWork;
    if (!given) {
      shared.spent = 0;
      shared.total = TOTAL_WORK_PER_CHAR * text.length + WORK_FLOOR;
    }
    input = text;
    n = text.length;
    streaming = streams;
    level = depth;
    found = 0;
    buffer = SPAN_BUFFERS[depth]!;
    hold = n;
    covered.fill(0);
    work.fill(0);
    readTo.fill(0);
    budget = WORK_PER_CHAR * n + WORK_FLOOR;
    // All rules together, each execution charged a fixed cost too: text made of the anchors of
    // many rules (`token=sk-ghp_AKIA…`) stays within every rule's own budget while making a
    // regex call every few characters, 40× the work of ordinary text.
    // Shared with the scans of decoded text below (`shared`): text whose every value holds an
    // escape (`token=…%41…`) decodes to itself, and a budget of its own for each level let each
    // level do the whole text's work again.
    totalBudget = shared.total;
    spent = shared.spent;
    skip.to = 0;
    skip.hits = 0;
    runFrom = -1;
    runTo = -1;
    const partial = Math.max(scanWith(base), runtime ? scanWith(runtime) : 0, delta ? scanWith(delta) : 0);
    stats.anchorHits += skip.hits;
    // The scan phase is over: what follows reads its results from locals, as a scan of decoded
    // text below reuses the engine's scan state.
    const scanned = buffer;
    const count = found;
    const length = n;
    let kept = hold;
    // Not kept alive by the engine until its next scan (a tool result can be 256 KiB).
    input = '';
    // A rule whose match starts before its anchor (`before`) needs those characters kept until
    // the anchor can arrive: otherwise a token's head would leave in one chunk and its tail,
    // no longer matchable, in the next.
    if (streams) {
      kept = Math.min(kept, length - partial);
      for (const prefix of prefixed) {
        let k = 0;
        while (k < prefix.length && k < length && prefix.char.test(text[length - 1 - k]!)) k++;
        kept = Math.min(kept, length - k);
      }
    }

    // In the order they were found, as pushed before: ties in the merge's sort keep that order.
    // Merged: the scan's spans stay numbers; PII spans and the runs that carried a match are
    // objects after them, the runs redacted past the budget numbers after those (the same order).
    const spans = merge ? [] : spanObjects(scanned, count);
    kept = Math.min(kept, scanPii(text, pii, spans, stats, budget, streams));
    shared.spent = spent;
    // Last, so the scan state above is no longer needed when the decoded text reuses it.
    const union = depth < MAX_DECODE_DEPTH ? detectDecoded(text, spans, depth, streams, shared, merge) : null;
    if (streams) kept = Math.min(kept, encodedHold(text));
    if (!merge) return { spans, hold: kept };
    return { spans: mergeFound(scanned, count, spans, union, rules.length, markerOf), hold: kept };
  };

  const markerOf = (rank: number): string =>
    rank < 0 ? REDACTED_SECRET : rank < rules.length ? rules[rank]!.marker : REDACTED_ENCODED;

  const detectMerged = (input: string, streaming: boolean, pii: CompiledPiiSet = defaultPii): Detection => {
    if (!fastRules) {
      const { spans, hold } = detect(input, streaming, pii);
      return { spans: mergeSpans(spans), hold };
    }
    return detect(input, streaming, pii, 0, undefined, true);
  };

  /**
   * Rules and known secrets inside encoded runs (decoded.ts): all decoded runs are scanned as one
   * text, separated by line breaks; a run that carried a match is redacted whole, with the
   * marker of what it carried. A match whose text stands in the run as it is was found above.
   */
  const detectDecoded = (
    input: string,
    spans: Span[],
    level: number,
    streaming: boolean,
    shared: SharedWork,
    numbers = false,
  ): Union | null => {
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
      if (numbers) return union;
      let at = spans.length;
      spans.length = at + union.count;
      for (let k = 0; k < union.count; k++) {
        spans[at++] = {
          start: union.start[k]!,
          end: union.end[k]!,
          replacement: REDACTED_ENCODED,
          marker: REDACTED_ENCODED,
          rank: rules.length,
        };
      }
      return null;
    }
    const runs = findEncoded(input, streaming, level > 0);
    if (runs.count === 0) return null;
    const { at, text: joined } = runs;
    const inner = detect(joined, false, NO_PII, level + 1, shared).spans;
    if (inner.length === 0) return null;
    inner.sort((a, b) => a.start - b.start);
    const carried = new Uint8Array(runs.count);
    let k = 0;
    for (const span of inner) {
      while (k < runs.count && at[k + 1]! <= span.start) k++;
      for (let r = k; r < runs.count && at[r]! < span.end; r++) {
        if (carried[r] === 1) continue;
        const start = runs.start[r]!;
        const end = runs.end[r]!;
        if (input.slice(start, end).includes(joined.slice(span.start, span.end))) continue;
        carried[r] = 1;
        spans.push({ start, end, replacement: span.marker, marker: span.marker, rank: span.rank });
      }
    }
    return null;
  };

  /** The first `count` spans of `buffer` as objects, in an array allocated at its size. */
  const spanObjects = (buffer: Int32Array, count: number): Span[] => {
    const out: Span[] = [];
    out.length = count;
    for (let k = 0; k < count; k++) {
      const rank = buffer[3 * k + 2]!;
      const marker = rank < 0 ? REDACTED_SECRET : rules[rank]!.marker;
      out[k] = {
        start: buffer[3 * k]!,
        end: buffer[3 * k + 1]!,
        replacement: marker,
        marker,
        rank,
      };
    }
    return out;
  };

  // Secrets known at start go straight into the base automaton: one pass over the text.
  addSecrets(options.secrets, true);
  return {
    addSecrets: (values) => addSecrets(values),
    detect: (input, streaming, pii) => detect(input, streaming, pii),
    detectMerged,
    compilePii,
    stats,
  };
}

/**
 * The union of runs `[starts[k], ends[k])`, overlapping ones as one: the runs are two lists each
 * in order of start (findEncoded: base64 runs, then escaped ones), merged here. Past the budget a
 * hostile text has an encoded run or two in every value, mostly overlapping; one span each cost
 * their sort and merge more than finding them. The result is valid until the next call.
 */
function coalesce(starts: Int32Array, ends: Int32Array, count: number): Union {
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
/**
 * A scan's spans as (start, end, rank) triples, one buffer per level of decoding, shared by all
 * engines: a scan of decoded text (one level down) is the only scan that can start inside
 * another, and its parent's spans are kept meanwhile when they are merged as numbers.
 */
const SPAN_BUFFERS = Array.from({ length: MAX_DECODE_DEPTH + 1 }, () => new Int32Array(3 * 1024));
function growSpanBuffer(level: number): Int32Array {
  const old = SPAN_BUFFERS[level]!;
  const grown = new Int32Array(old.length * 2);
  grown.set(old);
  SPAN_BUFFERS[level] = grown;
  return grown;
}
let UNION_END = new Int32Array(0);

/** The total work budget of one scan, shared by its scans of decoded text. */
interface SharedWork {
  spent: number;
  total: number;
}
const NO_ANCHORS: ReadonlyMap<string, AnchorOwners> = new Map();

/** The delta is rebuilt on every addition (a run token, a grant): a small dense table builds fast. */
const DELTA_DENSE_ENTRIES = 16_384;
/**
 * Table entries (8 MiB) the WebAssembly loop may take for the base automaton, built once: the
 * anchors with up to about 30 configured secrets (~400 forms each) fit whole or cut deep enough
 * (aho-corasick.ts, prefix-walk.ts). That loop spends its time in the shallow rows whatever the
 * table's size, and is several times faster than the JavaScript one.
 */
const BASE_WASM_ENTRIES = 2_000_000;

function buildAutomaton(
  anchors: ReadonlyMap<string, AnchorOwners>,
  forms: readonly string[],
  tables: Pick<AhoCorasickOptions, 'denseEntries' | 'wasmEntries'> = {},
): Automaton {
  const index = new Map<string, number>();
  const patterns: string[] = [];
  const secrets: (string[] | undefined)[] = [];
  const anyCase: (readonly number[] | undefined)[] = [];
  const exact: (readonly ExactAnchor[] | undefined)[] = [];
  const slot = (key: string): number => {
    let i = index.get(key);
    if (i === undefined) {
      i = patterns.length;
      index.set(key, i);
      patterns.push(key);
      secrets.push(undefined);
      anyCase.push(undefined);
      exact.push(undefined);
    }
    return i;
  };
  for (const [key, owners] of anchors) {
    const i = slot(key);
    if (owners.anyCase.length > 0) anyCase[i] = owners.anyCase;
    if (owners.exact.length > 0) exact[i] = owners.exact;
  }
  for (const form of forms) {
    const i = slot(foldAscii(form));
    const same = secrets[i];
    if (same) same.push(form);
    else secrets[i] = [form];
  }
  // A report the scan may leave out past the budget (ScanSkip): a rule anchor that is no known
  // secret's form; it counts one hit per rule that owns it, in any case (ScrubStats.anchorHits).
  const quiet = Int32Array.from(patterns, (_, i) => {
    if (secrets[i] !== undefined) return -1;
    let hits = anyCase[i]?.length ?? 0;
    for (const entry of exact[i] ?? []) hits += entry.rules.length;
    return hits;
  });
  return {
    ac: buildAhoCorasick(patterns, { foldCase: true, ...tables, quiet }),
    length: Int32Array.from(patterns, (pattern) => pattern.length),
    secrets,
    anyCase,
    exact,
    quiet,
  };
}

const VALUE_RUN = runOf(VALUE_CHAR);
