/**
 * The scan loop of a dense Aho–Corasick automaton, run as WebAssembly (scan.wat).
 *
 * Why: the automaton pass is the largest share of a scrub (about 40% of the time on ordinary
 * text), and in JavaScript each character costs a `charCodeAt`, a bounds-checked class load and
 * a table load. The same loop in WebAssembly runs several times faster; copying the text in as
 * UTF-16 (what the automaton reads) costs a memcpy, or a widening copy for a one-byte string.
 *
 * Memory per automaton: the class table (128 KiB), the table, a 32 KiB text window and room for
 * a report per character of it. Long text is scanned window by window, carrying the state
 * across; within a window two halves are scanned at once (see scan.wat).
 */
import { SCAN_WASM_BASE64 } from './scan-module.js';

/** The automaton as aho-corasick.ts builds it: dense rows only. */
export interface DenseTables {
  /** Class of each UTF-16 code unit (0: in no pattern). */
  classOf: Uint16Array;
  /**
   * The code units whose class is not 0: the class table is written for these alone (the rest is
   * zero). Writing all 65,536 was half the time of building a small automaton (a run token's,
   * rebuilt at every run's start and end).
   */
  coded: readonly number[];
  /** `rows[s * width + c]`: the state after `s` reads a character of class `c`. */
  rows: Int32Array;
  width: number;
  /** 1 where a state reports a match (its own pattern or one along its failure chain). */
  reports: Uint8Array;
  /** Length of the longest pattern. */
  longest: number;
  /** The pattern each state ends, or -1. */
  pattern: Int32Array;
  /** The next state along each state's failure chain that ends a pattern, or -1. */
  dictLink: Int32Array;
  /**
   * Per pattern, for a caller that skips reports (ScanSkip): what a skipped report of it counts
   * (added to `ScanSkip.hits`), or -1 where it must be reported whatever its end.
   */
  quiet?: Int32Array;
  /** Per pattern: where set, it is reported only where the text spells one of these exactly. */
  cased?: readonly (readonly string[] | undefined)[];
}

/**
 * Reports a caller no longer needs: a match ending at or before `to` of a pattern the automaton
 * was built to let go quietly (DenseTables.quiet) is not reported, its count added to `hits`.
 * The caller may move `to` forward from within its callback.
 */
export interface ScanSkip {
  to: number;
  hits: number;
  /**
   * Per pattern (when given): a quiet pattern's reports ending at or before `until[p]` are let go
   * too, counted alike. The caller moves these forward as its rules' matches cover their anchors.
   */
  until?: Int32Array;
}

/** Scans `input[from, to)`, calling `onMatch(pattern, end)` for each match in order of end. */
export type SkippingScan = (
  input: string,
  from: number,
  to: number,
  onMatch: (pattern: number, end: number) => void,
  skip?: ScanSkip,
) => number;

/** A SkippingScan that returns the last state. */
export interface DenseScan extends SkippingScan {
  /** Gives its memory back for the next scan built (see `released`); a call after this throws. */
  release(): void;
}

const PAGE = 65_536;
/** Code units per window. */
const WINDOW = 16_384;
const CLASSES_AT = 0;
const TEXT_AT = CLASSES_AT + 65_536 * 2;
/** Room for a report per character: a call never stops early. */
const OUT_A_AT = TEXT_AT + WINDOW * 2;
const OUT_B_AT = OUT_A_AT + WINDOW * 8;
const TABLE_AT = OUT_B_AT + WINDOW * 8;

interface ScanExports {
  scan2(
    a: number,
    aTo: number,
    b: number,
    bTo: number,
    classes: number,
    text: number,
    table: number,
    outA: number,
    outB: number,
  ): void;
  stateA: WebAssembly.Global;
  stateB: WebAssembly.Global;
  countA: WebAssembly.Global;
  countB: WebAssembly.Global;
}

let compiled: WebAssembly.Module | undefined;

/** A scan's memory and the module's instance bound to it. */
interface Slot {
  memory: WebAssembly.Memory;
  exports: ScanExports;
}

/**
 * Memories of released scans, taken by the next scans built (grown if need be): the automaton of
 * the secrets added at run time is rebuilt at every run's start and end, and a new memory each
 * time made V8 run a full collection every few runs (a run's start: p99 12 → 20 ms).
 */
const released: Slot[] = [];
const MAX_RELEASED = 8;

function slotOf(size: number): Slot {
  const pages = Math.ceil(size / PAGE);
  const slot = released.pop();
  if (!slot) {
    const memory = new WebAssembly.Memory({ initial: pages });
    const exports = new WebAssembly.Instance(scanModule(), { env: { memory } })
      .exports as unknown as ScanExports;
    return { memory, exports };
  }
  const held = slot.memory.buffer.byteLength / PAGE;
  if (held < pages) slot.memory.grow(pages - held);
  // Only the code units with a class are written below: the others must read 0.
  new Uint16Array(slot.memory.buffer, CLASSES_AT, 65_536).fill(0);
  return slot;
}

function scanModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(SCAN_WASM_BASE64, 'base64'));
  return compiled;
}

/** A WebAssembly scan for `tables`. */
export function denseScan(tables: DenseTables): DenseScan {
  const { classOf, rows, width, reports, longest, pattern, dictLink } = tables;
  const quietOfPattern = tables.quiet;
  const cased = tables.cased ?? [];
  // The first state along each state's chain that ends a pattern: where a report's walk starts.
  const first = Int32Array.from(pattern, (p, s) => (p >= 0 ? s : dictLink[s]!));
  // What a skipped report of each state counts: the sum over the patterns it reports, or -1
  // where one of them must be reported (or no caller skips).
  const quietOf = new Int32Array(pattern.length).fill(-1);
  if (tables.quiet) {
    const quiet = tables.quiet;
    for (let s = 0; s < pattern.length; s++) {
      let sum = 0;
      for (let t = first[s]!; t >= 0 && sum >= 0; t = dictLink[t]!) {
        // A case-sensitive pattern counts only where spelled so: left to the walk below.
        const q = cased[pattern[t]!] === undefined ? quiet[pattern[t]!]! : -1;
        sum = q < 0 ? -1 : sum + q;
      }
      quietOf[s] = sum;
    }
  }
  const rowBytes = width * 4;
  let slot: Slot | undefined = slotOf(TABLE_AT + rows.length * 4);
  const memory = slot.memory;
  const bytes = Buffer.from(memory.buffer);
  const classes = new Uint16Array(memory.buffer, CLASSES_AT, 65_536);
  for (const code of tables.coded) classes[code] = classOf[code]! * 4;
  const table = new Int32Array(memory.buffer, TABLE_AT, rows.length);
  for (let k = 0; k < rows.length; k++) {
    const next = rows[k]!;
    table[k] = next * rowBytes + reports[next]!;
  }
  const outA = new Int32Array(memory.buffer, OUT_A_AT, WINDOW * 2);
  const outB = new Int32Array(memory.buffer, OUT_B_AT, WINDOW * 2);
  const { scan2, stateA, stateB, countA, countB } = slot.exports;
  // The second stretch starts this far before its half, from the root: by the half it has read
  // as many characters as the longest pattern, so its state is the one a single scan would have.
  const overlap = Math.max(0, longest - 1);

  // One report: every pattern that ends where the state `entry` is reached. Made once, not per
  // scan: a closure per call was garbage for every short text scrubbed.
  const report = (
    input: string,
    entry: number,
    end: number,
    onMatch: (pattern: number, end: number) => void,
    skip: ScanSkip | undefined,
  ) => {
    const state = (entry >> 2) / width;
    if (skip === undefined) {
      for (let t = first[state]!; t >= 0; t = dictLink[t]!) {
        const p = pattern[t]!;
        if (spelled(input, end, cased[p])) onMatch(p, end);
      }
      return;
    }
    if (end <= skip.to) {
      const quiet = quietOf[state]!;
      if (quiet >= 0) {
        skip.hits += quiet;
        return;
      }
    }
    // A report inside a match of every rule owning the anchor: the caller would count it and
    // return (`sk-` repeated: after the rule failed closed over the run, 30,000 such per 100 KB
    // crossed into the caller only for that).
    // A case-sensitive anchor in another case is no report at all, skipped or not (the caller
    // drops it first too, so both count alike).
    const until = skip.until;
    for (let t = first[state]!; t >= 0; t = dictLink[t]!) {
      const p = pattern[t]!;
      if (!spelled(input, end, cased[p])) continue;
      const quiet = quietOfPattern === undefined ? -1 : quietOfPattern[p]!;
      if (quiet >= 0 && (end <= skip.to || (until !== undefined && end <= until[p]!))) skip.hits += quiet;
      else onMatch(p, end);
    }
  };

  const scan = (
    input: string,
    from: number,
    to: number,
    onMatch: (pattern: number, end: number) => void,
    skip?: ScanSkip,
  ): number => {
    // Another automaton's tables may be in its memory now: a scan that went on would miss.
    if (slot === undefined) throw new Error('a released scan was called');
    let carried = 0;
    for (let start = from; start < to; start += WINDOW) {
      const length = Math.min(WINDOW, to - start);
      bytes.write(input.slice(start, start + length), TEXT_AT, length * 2, 'utf16le');
      const split = length >= 4 * overlap + 64;
      const mid = split ? length >> 1 : length;
      stateA.value = carried;
      stateB.value = 0;
      scan2(
        0,
        mid,
        split ? mid - overlap : 0,
        split ? length : 0,
        CLASSES_AT,
        TEXT_AT,
        TABLE_AT,
        OUT_A_AT,
        OUT_B_AT,
      );
      const reportedA = countA.value as number;
      for (let k = 0; k < reportedA; k++)
        report(input, outA[2 * k + 1]!, start + outA[2 * k]!, onMatch, skip);
      if (!split) {
        carried = stateA.value as number;
        continue;
      }
      // The overlap's reports are the first stretch's.
      const reportedB = countB.value as number;
      for (let k = 0; k < reportedB; k++) {
        const end = outB[2 * k]!;
        if (end > mid) report(input, outB[2 * k + 1]!, start + end, onMatch, skip);
      }
      carried = stateB.value as number;
    }
    return (carried >> 2) / width;
  };
  const release = () => {
    if (slot !== undefined && released.length < MAX_RELEASED) released.push(slot);
    slot = undefined;
  };
  return Object.assign(scan, { release });
}

/** Whether `input` ends at `end` with one of `spellings` exactly (always, without them). */
export function spelled(input: string, end: number, spellings: readonly string[] | undefined): boolean {
  if (spellings === undefined) return true;
  for (const spelling of spellings) {
    const start = end - spelling.length;
    let k = 0;
    while (k < spelling.length && input.charCodeAt(start + k) === spelling.charCodeAt(k)) k++;
    if (k === spelling.length) return true;
  }
  return false;
}
