/**
 * Aho–Corasick multi-pattern matching over UTF-16 code units.
 *
 * Invariant: scanning is linear in the input — every code unit costs O(1)
 * amortised transitions, plus one callback per reported match. An attacker who
 * controls the scanned text cannot make it slower than that; only the
 * configured pattern set (not the input) bounds the number of matches that can
 * end at one position.
 *
 * Layout, chosen for speed on large pattern sets (1,000 secrets × ~12 encoded
 * forms): states are numbered breadth-first, so the shallow states where a scan
 * spends most of its time come first and get dense, fully resolved transition
 * rows; deeper states (mostly single-child chains) keep a sparse child list and
 * fall back along failure links, which always lead to a shallower state.
 * An automaton that fits the dense budget whole (the rule anchors, the
 * secrets added at run time) is scanned by a WebAssembly loop with no sparse
 * branch (wasm/dense-scan.ts); one whose states down to a depth fit it (the
 * anchors with a few configured secrets) by that loop over the patterns cut
 * at that depth, the rest followed where a cut pattern occurs (prefix-walk.ts).
 *
 * `foldCase` matches ASCII letters in either case: upper-case letters share
 * their lower-case letter's class, so `token`, `TOKEN` and `Token` are one
 * pattern and one path, not three (a third of the states). A caller that
 * needs one exact case checks the text at the reported position.
 */

import { cutDepth, MIN_CUT_DEPTH, prefixWalkScan, statesTo } from './prefix-walk.js';
import { denseScan, type SkippingScan } from './wasm/dense-scan.js';

export type { ScanSkip } from './wasm/dense-scan.js';

export interface AhoCorasick {
  readonly patternCount: number;
  /** Length of the longest pattern, 0 when there are none. */
  readonly longest: number;
  /**
   * Reports every occurrence of every pattern in `input[from, to)` as
   * `onMatch(patternIndex, end)` with `end` exclusive, in order of `end`.
   * Returns the length of the longest suffix of the scanned range that is a
   * proper prefix of some pattern: how much a streaming caller must hold back.
   * With `skip`, a loop may leave out the reports the caller let go (ScanSkip, `quiet`): only
   * the dense loop does; the others report everything.
   */
  readonly scan: SkippingScan;
  /**
   * Which loop scans: `dense` (WebAssembly, every state dense), `prefix` (WebAssembly over the
   * patterns cut at a depth, the rest followed in the trie), `sparse` (JavaScript, dense rows
   * for the shallow states and child lists below).
   */
  readonly loop: 'dense' | 'prefix' | 'sparse';
  /**
   * Gives the WebAssembly loop's memory back for the next automaton built (nothing for the
   * JavaScript loop): for an automaton replaced by another, never scanned again (a scan throws).
   */
  release(): void;
}

/**
 * Dense rows cost `classes × 4` bytes per state. A small automaton (the rule anchors) is all
 * dense; a large one (thousands of secret forms) gets dense rows for its shallowest states up to
 * this many table entries, about 1 MiB, beyond which cache misses cost more than they save.
 */
const MAX_DENSE_ENTRIES = 320_000;

export interface AhoCorasickOptions {
  /** ASCII letters match in either case (see above). */
  foldCase?: boolean;
  /**
   * Table entries the dense rows may take (default MAX_DENSE_ENTRIES). An automaton rebuilt
   * often (the secrets added since the last fold) takes fewer: filling the rows is most of a
   * build, and a scan of text that matches none of its patterns stays in the first few.
   */
  denseEntries?: number;
  /**
   * For an automaton built once and scanned for long (the rule anchors with the configured
   * secrets): the WebAssembly loop may take this many table entries, for the whole automaton
   * or for its patterns cut at a depth (the prefix loop). Filling tables that large takes tens
   * of milliseconds, too long for an automaton rebuilt on additions. Without it, the
   * WebAssembly loop runs only an automaton that fits `denseEntries` whole.
   */
  wasmEntries?: number;
  /**
   * With `wasmEntries`: the deepest the WebAssembly loop's table may reach (default: as deep as
   * `wasmEntries` allows, the whole automaton if it fits). An automaton rebuilt often (the
   * secrets added at run time) is cut at MIN_CUT_DEPTH whenever it is deeper: it then fills the
   * rows of those states only, about as fast as the JavaScript loop's tables (ten run tokens:
   * 0.5 ms, where their whole table took 1.7), and the head of a random token's form is as rare
   * in text at that depth as deeper.
   */
  maxCut?: number;
  /**
   * Per pattern: what a report of it left out counts (ScanSkip.hits), or -1 where it must
   * always be reported. Without it, nothing is left out.
   */
  quiet?: Int32Array;
  /**
   * Per pattern (with `foldCase`): where set, the pattern stands only for these exact spellings,
   * and the dense loop reports it only where the text spells one of them. Others may report it
   * in any case.
   */
  cased?: readonly (readonly string[] | undefined)[];
}

/** `text` with ASCII upper-case letters in lower case (and nothing else changed). */
export function foldAscii(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : text;
}

/**
 * Builds an automaton for `patterns`. Empty patterns are ignored; duplicates (after folding,
 * with `foldCase`) report the first index.
 */
export function buildAhoCorasick(original: readonly string[], options: AhoCorasickOptions = {}): AhoCorasick {
  const patterns = options.foldCase ? original.map(foldAscii) : original;
  // Alphabet compression: only code units that occur in some pattern get a class; all others are 0.
  const classOf = new Uint16Array(65536);
  // The code units that have a class, for tables written per code unit (the WebAssembly loop's).
  const coded: number[] = [];
  let classes = 1;
  for (const p of patterns) {
    for (let i = 0; i < p.length; i++) {
      const code = p.charCodeAt(i);
      if (classOf[code] !== 0) continue;
      classOf[code] = classes++;
      coded.push(code);
    }
  }
  if (options.foldCase)
    for (let code = 65; code <= 90; code++) {
      classOf[code] = classOf[code + 32]!;
      if (classOf[code] !== 0) coded.push(code);
    }

  // Trie from the patterns in sorted order: each pattern shares exactly its common prefix with
  // the one before it, so nodes are appended along a stack with no child lookups at all.
  // Typed arrays sized for the worst case (no shared prefixes): growing plain arrays node by
  // node made this loop the slowest part of a build.
  let capacity = 1;
  let longest = 0;
  for (const p of patterns) {
    capacity += p.length;
    longest = Math.max(longest, p.length);
  }
  const parentOf = new Int32Array(capacity);
  const classIn = new Uint16Array(capacity);
  const terminal = new Int32Array(capacity).fill(-1);
  let count = 1;
  const sorted = [...patterns.keys()]
    .filter((i) => patterns[i]!.length > 0)
    .sort((a, b) => {
      const pa = patterns[a]!;
      const pb = patterns[b]!;
      return pa < pb ? -1 : pa > pb ? 1 : a - b;
    });
  const path = new Int32Array(longest + 1);
  let previous = '';
  for (const index of sorted) {
    const p = patterns[index]!;
    let shared = 0;
    const limit = Math.min(p.length, previous.length);
    while (shared < limit && p.charCodeAt(shared) === previous.charCodeAt(shared)) shared++;
    let s = path[shared]!;
    for (let i = shared; i < p.length; i++) {
      parentOf[count] = s;
      classIn[count] = classOf[p.charCodeAt(i)]!;
      s = count++;
      path[i + 1] = s;
    }
    // Equal patterns sort by index, so the first one keeps the terminal.
    if (terminal[s] === -1) terminal[s] = index;
    previous = p;
  }

  // Children lists (CSR) in the original numbering, then a breadth-first renumbering.
  const childCount = new Int32Array(count + 1);
  for (let v = 1; v < count; v++) childCount[parentOf[v]!]!++;
  const firstChild = new Int32Array(count + 1);
  for (let v = 0; v < count; v++) firstChild[v + 1] = firstChild[v]! + childCount[v]!;
  const fill = firstChild.slice(0, count);
  const childList = new Int32Array(Math.max(0, count - 1));
  for (let v = 1; v < count; v++) childList[fill[parentOf[v]!]!++] = v;

  const order = new Int32Array(count); // new id -> old id
  const newId = new Int32Array(count); // old id -> new id
  const depth = new Int32Array(count); // by new id
  let head = 0;
  let tail = 1;
  while (head < tail) {
    const old = order[head]!;
    for (let e = firstChild[old]!; e < firstChild[old + 1]!; e++) {
      const child = childList[e]!;
      newId[child] = tail;
      depth[tail] = depth[head]! + 1;
      order[tail++] = child;
    }
    head++;
  }

  // Sparse children in the new numbering: childStart[s]..childStart[s+1] in childClass/childState.
  const childStart = new Int32Array(count + 1);
  const childClass = new Uint16Array(Math.max(0, count - 1));
  const childState = new Int32Array(Math.max(0, count - 1));
  let at = 0;
  for (let s = 0; s < count; s++) {
    childStart[s] = at;
    const old = order[s]!;
    for (let e = firstChild[old]!; e < firstChild[old + 1]!; e++) {
      const child = childList[e]!;
      childClass[at] = classIn[child]!;
      childState[at++] = newId[child]!;
    }
  }
  childStart[count] = at;

  // Which loop scans (see AhoCorasick.loop), and so how many states get dense rows.
  const jsEntries = options.denseEntries ?? MAX_DENSE_ENTRIES;
  const wasmRows = Math.floor((options.wasmEntries ?? jsEntries) / classes);
  const cut = Math.min(cutDepth(depth, count, wasmRows), options.maxCut ?? Number.POSITIVE_INFINITY);
  const loop =
    count <= wasmRows && depth[count - 1]! <= cut
      ? 'dense'
      : options.wasmEntries !== undefined && cut >= MIN_CUT_DEPTH
        ? 'prefix'
        : 'sparse';
  const budget = loop === 'sparse' ? jsEntries : wasmRows * classes;
  const dense =
    loop === 'prefix' ? statesTo(depth, cut) : Math.max(1, Math.min(count, Math.floor(budget / classes)));
  const rows = new Int32Array(dense * classes);
  const fail = new Int32Array(count);
  const pattern = new Int32Array(count);
  const dictLink = new Int32Array(count).fill(-1); // next terminal state along the failure chain
  const reports = new Uint8Array(count);
  for (let s = 0; s < count; s++) pattern[s] = terminal[order[s]!]!;

  const child = (s: number, c: number): number => {
    for (let e = childStart[s]!; e < childStart[s + 1]!; e++) if (childClass[e] === c) return childState[e]!;
    return -1;
  };
  const step = (from: number, c: number): number => {
    let s = from;
    for (;;) {
      if (s < dense) return rows[s * classes + c]!;
      const next = child(s, c);
      if (next >= 0) return next;
      s = fail[s]!;
    }
  };

  // Breadth-first order guarantees a state's failure target is finished before the state itself.
  for (let s = 0; s < count; s++) {
    if (s > 0) {
      const f = fail[s]!;
      dictLink[s] = pattern[f]! >= 0 ? f : dictLink[f]!;
      reports[s] = pattern[s]! >= 0 || dictLink[s]! >= 0 ? 1 : 0;
    }
    if (s < dense) {
      const base = s * classes;
      const failBase = fail[s]! * classes;
      for (let c = 0; c < classes; c++) rows[base + c] = s === 0 ? 0 : rows[failBase + c]!;
    }
    for (let e = childStart[s]!; e < childStart[s + 1]!; e++) {
      const c = childClass[e]!;
      const v = childState[e]!;
      if (s < dense) rows[s * classes + c] = v;
      fail[v] = s === 0 ? 0 : step(fail[s]!, c);
    }
  }

  const patternCount = patterns.length;
  // The suffix a stream must hold: a state without children cannot grow, the longest suffix
  // that still can is on its failure chain.
  const holdFrom = (end: number): number => {
    let s = end;
    while (s > 0 && childStart[s + 1]! === childStart[s]!) s = fail[s]!;
    return depth[s]!;
  };
  if (loop === 'dense') {
    // All rows dense: the scan loop runs as WebAssembly (wasm/dense-scan.ts).
    const quiet = options.quiet;
    const cased = options.cased;
    const scanDense = denseScan({
      classOf,
      coded,
      rows,
      width: classes,
      reports,
      longest,
      pattern,
      dictLink,
      quiet,
      cased,
    });
    return {
      patternCount,
      longest,
      loop: 'dense',
      scan: (input, from, to, onMatch, skip) => holdFrom(scanDense(input, from, to, onMatch, skip)),
      release: () => scanDense.release(),
    };
  }

  const sparse = (
    input: string,
    from: number,
    to: number,
    onMatch: (pattern: number, end: number) => void,
  ) => {
    const cls = classOf;
    const table = rows;
    const denseCount = dense;
    const width = classes;
    const out = reports;
    let s = 0;
    for (let i = from; i < to; i++) {
      const c = cls[input.charCodeAt(i)]!;
      if (c === 0) {
        s = 0;
        continue;
      }
      for (;;) {
        if (s < denseCount) {
          s = table[s * width + c]!;
          break;
        }
        let next = -1;
        for (let e = childStart[s]!, end = childStart[s + 1]!; e < end; e++) {
          if (childClass[e] === c) {
            next = childState[e]!;
            break;
          }
        }
        if (next >= 0) {
          s = next;
          break;
        }
        s = fail[s]!;
      }
      if (out[s] === 1) {
        let t = pattern[s]! >= 0 ? s : dictLink[s]!;
        while (t >= 0) {
          onMatch(pattern[t]!, i + 1);
          t = dictLink[t]!;
        }
      }
    }
    return holdFrom(s);
  };

  // Too large to be all dense, but every state down to a good depth fits: the patterns cut at
  // that depth are scanned by the WebAssembly loop, and where a cut pattern occurs the rest is
  // followed in the trie (prefix-walk.ts).
  if (loop === 'prefix') {
    const { scan, release } = prefixWalkScan({
      classOf,
      coded,
      rows,
      width: classes,
      patternCount,
      cut,
      depth,
      fail,
      pattern,
      dictLink,
      childStart,
      childClass,
      childState,
      holdFrom,
      sparse,
    });
    return { patternCount, longest, loop: 'prefix', scan, release };
  }
  return { patternCount, longest, loop: 'sparse', scan: sparse, release: () => {} };
}
