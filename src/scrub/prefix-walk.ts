/**
 * The scan of an automaton too large to be all dense whose states down to some depth do fit:
 * the rule anchors with a few configured secrets (with one secret about 8,800 states, 475,000
 * table entries, against 320,000 dense). The patterns cut at that depth make an all-dense
 * automaton, scanned by the WebAssembly loop (wasm/dense-scan.ts); where a cut pattern occurs,
 * the rest of the patterns it begins are followed in the trie from there. A cut pattern is the
 * head of a secret's form or of a long rule anchor, so in text without the secret this is rare,
 * and the scan runs at the dense loop's speed instead of the JavaScript one's.
 *
 * Linear whatever the text: following the trie costs at most the longest pattern per cut
 * pattern found, so text made of a pattern's head over and over (a configured secret like
 * `xxxx…`, flooded) could cost that much per character. The walks share a budget per scan;
 * past it, the rest of the scan is done by the sparse loop, which is linear in any case.
 */
import { type DenseScan, denseScan } from './wasm/dense-scan.js';

/** Below this depth, cut patterns would occur in ordinary text too often to follow each. */
export const MIN_CUT_DEPTH = 12;
/** Characters the walks of one scan may read per character scanned, plus a floor. */
const WALK_PER_CHAR = 2;
const WALK_FLOOR = 4_096;

type OnMatch = (pattern: number, end: number) => void;
/** A scan as AhoCorasick.scan: reports each match in order of end, returns the hold. */
export type Scan = (input: string, from: number, to: number, onMatch: OnMatch) => number;

/** A scan with a WebAssembly memory to give back (DenseScan.release). */
export interface ReleasableScan {
  scan: Scan;
  release(): void;
}

/** The automaton as aho-corasick.ts builds it, states numbered breadth-first. */
export interface PrefixWalkTables {
  classOf: Uint16Array;
  /** The code units that have a class (DenseTables.coded). */
  coded: readonly number[];
  /** Dense rows of the first states, with the full automaton's transitions. */
  rows: Int32Array;
  width: number;
  patternCount: number;
  /** Where to cut: every state down to this depth has a dense row. */
  cut: number;
  depth: Int32Array;
  fail: Int32Array;
  pattern: Int32Array;
  dictLink: Int32Array;
  childStart: Int32Array;
  childClass: Uint16Array;
  childState: Int32Array;
  holdFrom: (state: number) => number;
  /** The exact scan (the sparse loop), for the rest of a scan past the walks' budget. */
  sparse: Scan;
}

/** The deepest depth all of whose states, with the shallower ones, fit in the first `dense` rows. */
export function cutDepth(depth: Int32Array, count: number, dense: number): number {
  return dense >= count ? depth[count - 1]! : depth[dense]! - 1;
}

/** How many states, numbered breadth-first, are at most `cut` deep. */
export function statesTo(depth: Int32Array, cut: number): number {
  let states = 0;
  while (states < depth.length && depth[states]! <= cut) states++;
  return states;
}

export function prefixWalkScan(tables: PrefixWalkTables): ReleasableScan {
  const { classOf, coded, rows, width, patternCount, cut, depth, fail, pattern, dictLink } = tables;
  const { childStart, childClass, childState, holdFrom, sparse } = tables;
  const states = statesTo(depth, cut);
  const hasChildren = (s: number) => childStart[s + 1]! > childStart[s]!;

  // The cut automaton: the same states down to the cut, whose deepest ones have no children,
  // so their rows are those of their failure states.
  const cutRows = rows.slice(0, states * width);
  for (let s = states - 1; s >= 0 && depth[s] === cut; s--) {
    const base = s * width;
    const failBase = fail[s]! * width;
    for (let c = 0; c < width; c++)
      if (cutRows[base + c]! >= states) cutRows[base + c] = cutRows[failBase + c]!;
  }
  // A state at the cut with children reports itself, as pattern `patternCount + state` when it
  // ends no pattern, through `walkAt` when it does: both mean "follow the trie from here".
  const cutPattern = new Int32Array(states);
  const reports = new Uint8Array(states);
  const walkAt = new Int32Array(patternCount).fill(-1);
  for (let s = 0; s < states; s++) {
    const walks = depth[s] === cut && hasChildren(s);
    cutPattern[s] = pattern[s]! >= 0 ? pattern[s]! : walks ? patternCount + s : -1;
    if (walks && pattern[s]! >= 0) walkAt[pattern[s]!] = s;
    reports[s] = cutPattern[s]! >= 0 || dictLink[s]! >= 0 ? 1 : 0;
  }
  const scanCut: DenseScan = denseScan({
    classOf,
    coded,
    rows: cutRows,
    width,
    reports,
    longest: cut,
    pattern: cutPattern,
    dictLink: dictLink.slice(0, states),
  });

  const scan: Scan = (input, from, to, onMatch) => {
    // Matches a walk found, ending past the report it started from: held until the scan's
    // reports reach their end, so that every match is still reported in order of end.
    const pendingEnd: number[] = [];
    const pendingPattern: number[] = [];
    const flush = (upTo: number) => {
      while (pendingEnd.length > 0 && pendingEnd[0]! <= upTo)
        onMatch(pendingPattern.shift()!, pendingEnd.shift()!);
    };
    const defer = (p: number, end: number) => {
      let k = pendingEnd.length;
      while (k > 0 && pendingEnd[k - 1]! > end) k--;
      pendingEnd.splice(k, 0, end);
      pendingPattern.splice(k, 0, p);
    };
    let walked = 0;
    const budget = WALK_PER_CHAR * (to - from) + WALK_FLOOR;
    let walkHold = 0;
    /** Follows the trie from `state`, reached at `end`, reporting each pattern it completes. */
    const walk = (state: number, end: number) => {
      let s = state;
      for (let j = end; ; j++) {
        if (j >= to) {
          // The text ended inside a pattern: a stream holds it from the cut pattern's start.
          if (hasChildren(s)) walkHold = Math.max(walkHold, to - (end - cut));
          return;
        }
        walked++;
        const c = classOf[input.charCodeAt(j)]!;
        let next = -1;
        if (c !== 0) {
          for (let e = childStart[s]!, stop = childStart[s + 1]!; e < stop; e++) {
            if (childClass[e] === c) {
              next = childState[e]!;
              break;
            }
          }
        }
        if (next < 0) return;
        s = next;
        if (pattern[s]! >= 0) defer(pattern[s]!, j + 1);
      }
    };

    // Every match ending at or before `reported` has been reported; -1 while the walks keep
    // within their budget, set when they pass it.
    let reported = from;
    let abandonedAfter = -1;
    const end = scanCut(input, from, to, (p, at) => {
      if (abandonedAfter >= 0) return;
      if (at > reported) {
        // A new end: everything before it is out, so this is where the sparse loop can take over.
        if (walked > budget) {
          abandonedAfter = reported;
          return;
        }
        flush(at);
        reported = at;
      }
      if (p >= patternCount) {
        walk(p - patternCount, at);
        return;
      }
      onMatch(p, at);
      const s = walkAt[p]!;
      if (s >= 0) walk(s, at);
    });
    if (abandonedAfter < 0) {
      flush(Number.POSITIVE_INFINITY);
      return Math.max(holdFrom(end), walkHold);
    }
    // Past the budget: the sparse loop from far enough back to know its state where the
    // reports stopped, reporting only what ends after that.
    const resume = Math.max(from, abandonedAfter + 1 - depth[depth.length - 1]!);
    return sparse(input, resume, to, (p, at) => {
      if (at > abandonedAfter) onMatch(p, at);
    });
  };
  return { scan, release: () => scanCut.release() };
}
