/**
 * The PII pass of a scan: each detector's pattern (pii.ts) over the text, with the same work
 * budget as the rules (scan-phase.ts): past it, a candidate is redacted unchecked with the run of
 * characters it sits in.
 */
import { codeUnits } from './code-units.js';
import { PII_DETECTORS, type PiiActions, type PiiDetector } from './pii.js';
import type { Span } from './spans.js';

export const PII_RANK = 1_000_000;
/** Work charged for a refinement (a checksum) of a candidate that overlaps an earlier one. */
export const ACCEPT_COST = 64;
const SEPARATOR = /[ .-]/;

/** Opaque: the PII detectors one scrubber applies. */
export interface CompiledPiiSet {
  /** Each searched on its own (matchIn). */
  readonly searched: readonly CompiledPii[];
  /** The detectors with a start gate, all run over one set of runs (matchGroup). */
  readonly gated?: GatedGroup;
}

/**
 * Detectors whose matches all lie in runs of `alphabet` (the union of theirs) at least `min` (the
 * least of their `minRun`s) long: the text is probed for such runs once for all of them (card,
 * IBAN and national id: each probe was about a millisecond per MiB of JSON).
 */
interface GatedGroup {
  members: readonly CompiledPii[];
  alphabet: Uint8Array;
  min: number;
  /**
   * The members' start gates as bit masks, so one walk over a run tests them all (one walk per
   * member read a hostile run of upper-case words, PEM headers repeated, three times over):
   * bit k of `startBits[j][code]` is set when member k's gate lets `code` stand j-th in a match
   * (every code past a gate's width), of `notAfterBits[code]` when it may not stand just before.
   */
  startBits: readonly [Uint8Array, Uint8Array, Uint8Array];
  notAfterBits: Uint8Array;
}

/** How many first characters a start gate may name: the width of GatedGroup's tables. */
const GATE_WIDTH = 3;

export const NO_PII: CompiledPiiSet = { searched: [] };

interface CompiledPii {
  detector: PiiDetector;
  regex: RegExp;
  /** Sticky: a run of the characters a match can contain (failed-closed redactions cover it). */
  run: RegExp;
  /** 1 for each UTF-16 code unit in the detector's alphabet. */
  alphabetTable: Uint8Array;
  /** The detector's `starts`, as tables, with its pattern sticky (run at the positions they pass). */
  gate?: StartGate;
  redact: boolean;
  marker: string;
}

export interface PiiCounters {
  piiExecutions: number;
  windowChars: number;
  failedClosed: number;
}

/** A sticky regex for a run of `charClass` (a one-character class source). */
export function runOf(charClass: string): RegExp {
  return new RegExp(`(?:${charClass})*`, 'y');
}

interface StartGate {
  sticky: RegExp;
  /** 1 for a code unit that may be a match's k-th character. */
  chars: readonly Uint8Array[];
  /** 1 for a code unit that may not stand just before a match. */
  notAfter: Uint8Array;
}

const alphabetTables = new Map<RegExp, Uint8Array>();

/** Built once per class: a set is compiled per profile. */
function alphabetTableOf(alphabet: RegExp): Uint8Array {
  let table = alphabetTables.get(alphabet);
  if (!table) {
    table = new Uint8Array(65536);
    for (let code = 0; code < 65536; code++) table[code] = alphabet.test(String.fromCharCode(code)) ? 1 : 0;
    alphabetTables.set(alphabet, table);
  }
  return table;
}

/** Each set has its own regex objects: a global regex carries `lastIndex` between calls. */
export function compilePii(actions: PiiActions): CompiledPiiSet {
  const all = PII_DETECTORS.filter((d) => actions[d.kind] !== 'allow').map((detector) => ({
    detector,
    regex: new RegExp(detector.pattern, 'g'),
    run: runOf(detector.alphabet.source),
    alphabetTable: alphabetTableOf(detector.alphabet),
    gate: detector.starts && {
      sticky: new RegExp(detector.pattern, 'y'),
      chars: detector.starts.chars.map(alphabetTableOf),
      notAfter: alphabetTableOf(detector.starts.notAfter),
    },
    redact: actions[detector.kind] === 'redact',
    marker: `[REDACTED:${detector.kind}]`,
  }));
  const members = all.filter((d) => d.gate && d.detector.minRun !== undefined);
  const searched = all.filter((d) => !members.includes(d));
  if (members.length === 0) return { searched };
  const alphabet = new Uint8Array(65536);
  for (const member of members) {
    for (let code = 0; code < 65536; code++) alphabet[code]! |= member.alphabetTable[code]!;
  }
  const min = Math.min(...members.map((d) => d.detector.minRun!));
  return { searched, gated: { members, alphabet, min, ...gateBits(members, min) } };
}

/** GatedGroup's bit-mask tables of `members`' start gates (built once per set of detectors, as alphabetTableOf). */
function gateBits(
  members: readonly CompiledPii[],
  min: number,
): Pick<GatedGroup, 'startBits' | 'notAfterBits'> {
  const key = members.map((member) => member.detector.kind).join(' ');
  let tables = gateTables.get(key);
  if (!tables) {
    tables = buildGateBits(members, min);
    gateTables.set(key, tables);
  }
  return tables;
}
const gateTables = new Map<string, Pick<GatedGroup, 'startBits' | 'notAfterBits'>>();

function buildGateBits(
  members: readonly CompiledPii[],
  min: number,
): Pick<GatedGroup, 'startBits' | 'notAfterBits'> {
  // Eight members fit a byte; a gate as wide as the shortest run would read past a run's end.
  if (members.length > 8 || min < GATE_WIDTH) throw new Error('PII start gates do not fit their tables');
  const startBits: [Uint8Array, Uint8Array, Uint8Array] = [
    new Uint8Array(65536),
    new Uint8Array(65536),
    new Uint8Array(65536),
  ];
  const notAfterBits = new Uint8Array(65536);
  members.forEach((member, k) => {
    const gate = member.gate!;
    if (gate.chars.length > GATE_WIDTH)
      throw new Error(`${member.detector.kind}: a start gate wider than ${GATE_WIDTH}`);
    for (let j = 0; j < GATE_WIDTH; j++) {
      const chars = gate.chars[j];
      for (let code = 0; code < 65536; code++)
        if (!chars || chars[code] === 1) startBits[j]![code]! |= 1 << k;
    }
    for (let code = 0; code < 65536; code++) if (gate.notAfter[code] === 1) notAfterBits[code]! |= 1 << k;
  });
  return { startBits, notAfterBits };
}

/**
 * Finds each detector's matches in `input`, pushing their spans. Returns how much of the end a
 * stream must hold back (`input.length` when nothing).
 */
export function scanPii(
  input: string,
  detectors: CompiledPiiSet,
  spans: Span[],
  counters: PiiCounters,
  budget: number,
  streaming: boolean,
): number {
  const n = input.length;
  let hold = n;
  for (const detector of detectors.searched) matchIn(input, detector, spans, counters, budget);
  if (detectors.gated) matchGroup(input, detectors.gated, spans, counters, budget);
  if (streaming) {
    for (const detector of detectors.searched)
      hold = Math.min(hold, n - tailLength(input, detector.detector));
    for (const detector of detectors.gated?.members ?? []) {
      hold = Math.min(hold, n - tailLength(input, detector.detector));
    }
  }
  return hold;
}

/**
 * The matches of a group's detectors: runs of the group's alphabet at least `min` long, found by
 * probing every `min`-th character as matchIn does, and in each run the members whose own
 * `minRun` fits, from their start gates (matchGated). Each member keeps its own budget state.
 */
function matchGroup(
  input: string,
  group: GatedGroup,
  spans: Span[],
  counters: PiiCounters,
  budget: number,
): void {
  const { members, alphabet: table, min } = group;
  // Made at the first run long enough: most small texts have none.
  let states: MatchState[] | undefined;
  let next: number[] | undefined;
  const n = input.length;
  const codes = codeUnits(input);
  let done = 0;
  for (let p = min - 1; p < n; p += min) {
    if (table[codes[p]!] === 0) continue;
    let start = p;
    while (start > done && table[codes[start - 1]!] === 1) start--;
    // A run from `start` shorter than `min` ends before `far`: dropped without reading on, and the
    // next run long enough starts after `far`, so holds a probe from `far + min` on (a page of
    // keys: most probes land in a run of two or three, and the next probe came `min` after it).
    const far = start + min - 1;
    if (far > p && (far >= n || table[codes[far]!] === 0)) {
      p = far;
      continue;
    }
    let end = p + 1;
    while (end < n && table[codes[end]!] === 1) end++;
    done = end;
    p = end - 1;
    if (end - start < min) continue;
    states ??= members.map(() => ({ spent: 0, readUpTo: 0 }));
    next ??= members.map(() => 0);
    matchGated(input, codes, start, end, group, spans, counters, budget, states, next);
  }
}

function matchIn(
  input: string,
  detector: CompiledPii,
  spans: Span[],
  counters: PiiCounters,
  budget: number,
): void {
  const state: MatchState = { spent: 0, readUpTo: 0 };
  const min = detector.detector.minRun;
  if (min === undefined) {
    matchRegion(input, input, 0, 0, detector, spans, counters, budget, state);
    return;
  }
  // Only runs of the alphabet at least `min` long can hold a match: found by probing every
  // `min`-th character (a run that long holds a probe), each searched on its own with the few
  // characters around it that the pattern's lookarounds read.
  const table = detector.alphabetTable;
  const n = input.length;
  let done = 0;
  let next = 0;
  for (let p = min - 1; p < n; p += min) {
    if (table[input.charCodeAt(p)] === 0) continue;
    let start = p;
    while (start > done && table[input.charCodeAt(start - 1)] === 1) start--;
    let end = p + 1;
    while (end < n && table[input.charCodeAt(end)] === 1) end++;
    done = end;
    p = end - 1;
    const from = Math.max(start, next);
    if (end - from < min) continue;
    const subStart = Math.max(0, from - LOOKBEHIND);
    // The character after the run too: the patterns end with a lookahead.
    const sub = input.slice(subStart, Math.min(n, end + 1));
    next = matchRegion(input, sub, subStart, from - subStart, detector, spans, counters, budget, state);
  }
}

/** Characters before a match the detectors' lookbehinds read (card: `(?<![0-9][.,])`). */
const LOOKBEHIND = 4;

interface MatchState {
  spent: number;
  readUpTo: number;
}

/**
 * The detector's matches in `sub` (which is `input` from `offset`) from `from` on; returns where
 * in `input` the search stopped (a failed-closed redaction may end past `sub`).
 */
function matchRegion(
  input: string,
  sub: string,
  offset: number,
  from: number,
  detector: CompiledPii,
  spans: Span[],
  counters: PiiCounters,
  budget: number,
  state: MatchState,
): number {
  const { regex } = detector;
  regex.lastIndex = from;
  let resume = offset + from;
  for (;;) {
    if (regex.lastIndex > sub.length) return resume;
    counters.piiExecutions++;
    const match = regex.exec(sub);
    if (!match) return resume;
    resume = take(input, offset + match.index, match[0], detector, spans, counters, budget, state);
    regex.lastIndex = resume - offset;
  }
}

/**
 * The matches of the group's members that begin in the run `input[start, end)`: at each position
 * whose characters all the gates of some members let through, those members' sticky patterns
 * run, in order of member, so each member's first match is the one a search would find. `next[k]`
 * is where member k's search goes on (past its last match, which may end past the run).
 */
function matchGated(
  input: string,
  codes: Uint16Array,
  start: number,
  end: number,
  group: GatedGroup,
  spans: Span[],
  counters: PiiCounters,
  budget: number,
  states: MatchState[],
  next: number[],
): void {
  const { members, min, notAfterBits } = group;
  const [first, second, third] = group.startBits;
  const last = end - min;
  for (let p = start; p <= last; p++) {
    let bits = first[codes[p]!]! & second[codes[p + 1]!]! & third[codes[p + 2]!]!;
    if (bits === 0) continue;
    if (p > 0) bits &= ~notAfterBits[codes[p - 1]!]!;
    for (let k = 0; bits !== 0; k++, bits >>= 1) {
      if ((bits & 1) === 0 || p < next[k]!) continue;
      const member = members[k]!;
      if (p > end - member.detector.minRun!) continue;
      counters.piiExecutions++;
      const sticky = member.gate!.sticky;
      sticky.lastIndex = p;
      const match = sticky.exec(input);
      if (match) next[k] = take(input, p, match[0], member, spans, counters, budget, states[k]!);
    }
  }
}

/**
 * Accounts for the match `text` at `at` and pushes its span when valid (or, past the budget, the
 * failed-closed run it sits in); returns where in `input` the search goes on.
 */
function take(
  input: string,
  at: number,
  text: string,
  detector: CompiledPii,
  spans: Span[],
  counters: PiiCounters,
  budget: number,
  state: MatchState,
): number {
  // Re-reading counts, as for rules: candidates that overlap earlier ones, each with its
  // checksum refinement.
  const matchEnd = at + text.length;
  const reread = Math.max(0, Math.min(matchEnd, state.readUpTo) - at);
  if (reread > 0) state.spent += reread + ACCEPT_COST;
  state.readUpTo = Math.max(state.readUpTo, matchEnd);
  counters.windowChars += text.length;
  if (state.spent > budget) {
    // Past the budget a candidate is redacted unchecked with the run of characters it sits
    // in, and the scan moves past that run.
    counters.failedClosed++;
    detector.run.lastIndex = at;
    detector.run.test(input);
    const end = Math.max(detector.run.lastIndex, matchEnd);
    spans.push({
      start: prefixStart(input, at, detector.detector),
      end,
      replacement: detector.marker,
      marker: detector.marker,
      rank: PII_RANK,
    });
    return end;
  }
  const start = prefixStart(input, at, detector.detector);
  const length = detector.detector.prefix && start === at ? 0 : detector.detector.refine(text);
  if (length > 0) {
    spans.push({
      start,
      end: at + length,
      replacement: detector.redact
        ? detector.marker
        : detector.detector.mask(input.slice(start, at + length)),
      marker: detector.marker,
      rank: PII_RANK,
    });
  }
  return at + Math.max(1, length);
}

/** Where a match at `at` starts once its detector's prefix (an email's local part) is taken. */
function prefixStart(input: string, at: number, detector: PiiDetector): number {
  const prefix = detector.prefix;
  let start = at;
  if (prefix) {
    while (at - start < prefix.max && start > 0 && prefix.chars.test(input[start - 1]!)) start--;
  }
  return start;
}

/** How many trailing characters could belong to a PII match that the next chunk completes. */
function tailLength(input: string, detector: PiiDetector): number {
  let k = 0;
  while (k < detector.maxLength && k < input.length && detector.alphabet.test(input[input.length - 1 - k]!))
    k++;
  // No match starts with a separator: trailing spaces after a word need not wait.
  while (k > 0 && SEPARATOR.test(input[input.length - k]!)) k--;
  return k;
}
