/**
 * The scan phase of a detection (engine.ts `detect`): one Aho–Corasick pass per automaton finds
 * every known-secret form and every rule anchor; each anchor hit runs its rule's sticky pattern
 * once at that position. Both are linear in the input. Kept apart from the engine's API because
 * it is the hot path: per anchor hit, `onHit`, `runOwners` and `runRule` run, sharing the scan's
 * state as variables of one closure (passing that state or an object around per hit would cost
 * more than the hit's own work), so this closure is kept whole here.
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
 * Known secrets and rule anchors are the patterns of up to three automata (automata.ts); the
 * rules are compiled in compiled-rules.ts, the spans kept as numbers in span-buffers.ts.
 */
import type { ScanSkip } from './aho-corasick.js';
import type { Automaton, KnownSecrets } from './automata.js';
import { type CompiledRule, prefixFits, VALUE_CHAR } from './compiled-rules.js';
import type { ScrubStats } from './engine-types.js';
import { provesMiss } from './miss-proof.js';
import { ACCEPT_COST, runOf } from './pii-scan.js';
import { growSpanBuffer, SPAN_BUFFERS } from './span-buffers.js';
import { spelled } from './wasm/dense-scan.js';

const WHITESPACE = /\s/;
const BACKSLASH = 0x5c;

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

/** The total work budget of one scan, shared by its scans of decoded text. */
export interface SharedWork {
  spent: number;
  total: number;
}

/**
 * Starts the budget a scan of the text itself (not of decoded text) shares with its decoded
 * levels: all rules together, each execution charged a fixed cost too, as text made of the
 * anchors of many rules (`token=sk-ghp_AKIA…`) stays within every rule's own budget while making
 * a regex call every few characters, 40× the work of ordinary text. Shared with the scans of
 * decoded text: text whose every value holds an escape (`token=…%41…`) decodes to itself, and a
 * budget of its own for each level let each level do the whole text's work again.
 */
export function startWork(shared: SharedWork, length: number): void {
  shared.spent = 0;
  shared.total = TOTAL_WORK_PER_CHAR * length + WORK_FLOOR;
}

/**
 * What a scan phase found, in one object kept by its scanner and overwritten by its next scan:
 * the caller takes it into locals before a scan of decoded text can start.
 */
export interface ScanPhase {
  /** The spans found, as (start, end, rank) triples: the first `count` of `buffer`. */
  buffer: Int32Array;
  count: number;
  /** For a stream: where the text that could still be part of a rule's match begins. */
  hold: number;
  /** The longest automaton match still open at the end of the text (AhoCorasick.scan). */
  partial: number;
  /** Each rule's (and PII detector's) work budget in this scan. */
  budget: number;
  /** The shared work spent by the end of this scan (for `SharedWork.spent`). */
  spent: number;
}

/**
 * A scanner for one engine: `scan(text, streams, depth, shared)` runs the scan phase over `text`
 * (`depth` levels of decoding down, within `shared`'s total budget) and answers its result.
 */
export function createScanner(
  rules: readonly CompiledRule[],
  secrets: KnownSecrets,
  stats: ScrubStats,
  fastRules: boolean,
): (text: string, streams: boolean, depth: number, shared: SharedWork) => ScanPhase {
  const covered = new Int32Array(rules.length);
  const before = Int32Array.from(rules, (rule) => rule.before);
  const work = new Float64Array(rules.length);
  const readTo = new Int32Array(rules.length);

  // The state of the scan in progress, kept by the scanner (one per engine), not made per call:
  // a scan made seven closures, their context and two objects each time (~900 bytes), for every
  // string of every audit event and tool result. The scan phase (the automata passes and the
  // rule runs they call) never starts another scan, so one set serves all; a scan of decoded text
  // (one level down) starts only after its parent's scan phase, whose results `detect` has taken
  // into locals by then.
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
  // A stream's matches whose redacted group starts after the match (`"name": "DB_PASSWORD", …
  // "value": "…"`), as (match start, group end) pairs: see `holdWholeMatches`.
  const groupMatches: number[] = [];
  /** The automaton being scanned (`scanWith`), and whether its loop is the dense one. */
  let automaton: Automaton = secrets.base;
  let denseLoop = false;
  /** The scan's result, one object for all scans (see ScanPhase). */
  const result: ScanPhase = { buffer, count: 0, hold: 0, partial: 0, budget: 0, spent: 0 };

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
    const from = Math.min(n, Math.max(anchorEnd, start + rule.maxLength));
    // A run of VALUE_CHAR is the one `runEnd` keeps: in a hostile run of one anchor, the failed
    // executions before read it to its end already, and every rule failing closed read it again.
    const closed = rule.closed;
    let e: number;
    if (closed) {
      closed.lastIndex = from;
      closed.test(input);
      e = closed.lastIndex;
    } else e = runEnd(from);
    // Held only within the rule's window, as a normal candidate: holding a whole hostile run
    // would make a stream re-scan it with every chunk.
    if (streaming && e === n && n - start < rule.maxLength) hold = Math.min(hold, start - rule.contextBefore);
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
        hold = Math.min(hold, start - rule.contextBefore);
      }
      return;
    }
    const end = matchEnd;
    if (streaming && end === n) hold = Math.min(hold, start - rule.contextBefore);
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
    if (rule.acceptIn) {
      if (!rule.acceptIn(input, s, e)) return;
    } else if (rule.accept && !rule.accept(input.slice(s, e), s > 0 ? input[s - 1]! : '')) return;
    // A value longer than the pattern's bounded window is still one value: redact all of it,
    // or its tail would leak past the marker. Linear: the extended span is covered below.
    if (rule.extend && e === end) {
      while (e < n && rule.extend.test(input[e]!)) e++;
      if (streaming && e === n) hold = Math.min(hold, start - rule.contextBefore);
    }
    if (rule.keepsEscape) {
      while (e > s && input.charCodeAt(e - 1) === BACKSLASH) e--;
      if (e === s) return;
    }
    covered[index] = e;
    if (streaming && s > start) groupMatches.push(start - rule.contextBefore, e);
    addSpan(s, e, index);
  };

  /**
   * A stream emits text up to `hold` and scans the rest again with the next chunk. A match that
   * starts before that point and redacts past it would be scanned again without its start (the
   * name field, read by another rule's hold as the place to cut) and found no more: such a
   * match is held whole.
   */
  const holdWholeMatches = () => {
    // By start, latest first: once `hold` is below a match's start that match cannot move it
    // again, so one pass reaches the fixed point (linear after the sort, however many matches).
    const order = Array.from({ length: groupMatches.length / 2 }, (_, k) => k * 2);
    order.sort((a, b) => groupMatches[b]! - groupMatches[a]!);
    for (const k of order) {
      if (groupMatches[k]! < hold && groupMatches[k + 1]! > hold) hold = groupMatches[k]!;
    }
    groupMatches.length = 0;
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
    // A case-sensitive anchor in another case runs nothing and counts nothing: dropped before
    // anything else, as the dense loop drops it (so the counts agree whichever loop scans).
    // (The dense loop dropped them already: checked again only after the other loops.)
    const cased = automaton.cased[pattern];
    if (cased !== undefined && !denseLoop && !spelled(input, end, cased)) return;
    const start = end - automaton.length[pattern]!;
    const quiet = automaton.quiet[pattern]!;
    if (quiet >= 0 && (end <= skip.to || end <= automaton.until[pattern]!)) {
      stats.anchorHits += quiet;
      return;
    }
    // Rules this hit ran or failed closed: where none, its owners all covered it, and so will
    // they the next hits up to `coverAnchor`'s bound (worked out only then: per hit, it cost the
    // anchors of many rules more than it saved).
    const ran = stats.ruleExecutions + stats.failedClosed;
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
      for (let k = 0; k < exact.length; k++) {
        const entry = exact[k]!;
        if (sameCase(input, start, entry.anchor)) runOwners(entry.rules, start, end);
      }
    }
    if (quiet >= 0 && ran === stats.ruleExecutions + stats.failedClosed) coverAnchor(pattern, end - start);
  };
  /**
   * Up to where this anchor's later reports are inside a match (or fail-closed redaction) of
   * every rule that owns it, so each owner would skip them (`runOwners`): skipped alike by
   * `onHit` and, before crossing into JavaScript, by the dense loop (ScanSkip.until).
   */
  const coverAnchor = (pattern: number, length: number) => {
    const owners = automaton.owners[pattern]!;
    let to = 0x7fffffff;
    for (let k = 0; k < owners.length; k++) {
      const index = owners[k]!;
      to = Math.min(to, covered[index]! + before[index]!);
    }
    // A hit ending at `end` starts at `end - length`: skipped where that is below `to`.
    const until = automaton.until;
    if (to + length - 1 <= until[pattern]!) return;
    if (until[pattern] === 0) {
      movedIn.push(automaton);
      moved.push(pattern);
    }
    until[pattern] = to + length - 1;
  };
  // The patterns whose `until` the last scan moved (and their automata), put back to 0 when the
  // next one starts: a scan cut short by an exception leaves none to skip another text's hits.
  const movedIn: Automaton[] = [];
  const moved: number[] = [];
  const scanWith = (scanned: Automaton): number => {
    automaton = scanned;
    denseLoop = scanned.ac.loop === 'dense';
    skip.until = scanned.until;
    return scanned.ac.scan(input, 0, n, onHit, fastRules ? skip : undefined);
  };

  return (text: string, streams: boolean, depth: number, shared: SharedWork): ScanPhase => {
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
    // All rules together, shared with the scans of decoded text (see startWork).
    totalBudget = shared.total;
    spent = shared.spent;
    skip.to = 0;
    skip.hits = 0;
    runFrom = -1;
    runTo = -1;
    for (let k = 0; k < moved.length; k++) movedIn[k]!.until[moved[k]!] = 0;
    movedIn.length = 0;
    moved.length = 0;
    const { base, runtime, delta } = secrets;
    result.partial = Math.max(scanWith(base), runtime ? scanWith(runtime) : 0, delta ? scanWith(delta) : 0);
    if (groupMatches.length > 0) holdWholeMatches();
    stats.anchorHits += skip.hits;
    result.buffer = buffer;
    result.count = found;
    result.hold = Math.max(0, hold);
    result.budget = budget;
    result.spent = spent;
    // Not kept alive by the engine until its next scan (a tool result can be 256 KiB).
    input = '';
    return result;
  };
}

/**
 * `input.startsWith(anchor, start)` for an anchor the automaton found at `start` in some case:
 * compared code unit by code unit, as a call to `startsWith` per hit cost more than the rest of
 * the hit's dispatch on text of many rules' anchors.
 */
function sameCase(input: string, start: number, anchor: string): boolean {
  const length = anchor.length;
  if (start + length > input.length) return false;
  for (let k = 0; k < length; k++) if (input.charCodeAt(start + k) !== anchor.charCodeAt(k)) return false;
  return true;
}

/** The value run after an anchor (what a failed execution is taken to have read). */
const VALUE_RUN = runOf(VALUE_CHAR);
