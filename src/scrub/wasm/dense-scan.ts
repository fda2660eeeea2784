/**
 * The scan loop of a dense Aho–Corasick automaton, run as WebAssembly (scan.wat).
 *
 * Why: the automaton pass is the largest share of a scrub (about 40% of the time on ordinary
 * text), and in JavaScript each character costs a `charCodeAt`, a bounds-checked class load and
 * a table load. The same loop in WebAssembly runs several times faster; copying the text in as
 * UTF-16 (what the automaton reads) costs a memcpy, or a widening copy for a one-byte string.
 *
 * Memory per automaton: the table, a 64 KiB text window and the report buffer. Long text is
 * scanned window by window, carrying the state across.
 */
import { SCAN_WASM_BASE64 } from './scan-module.js';

/** The automaton as aho-corasick.ts builds it: dense rows only. */
export interface DenseTables {
  /** Class of each UTF-16 code unit (0: in no pattern). */
  classOf: Uint16Array;
  /** `rows[s * width + c]`: the state after `s` reads a character of class `c`. */
  rows: Int32Array;
  width: number;
  /** 1 where a state reports a match (its own pattern or one along its failure chain). */
  reports: Uint8Array;
}

/** Scans `input[from, to)`; calls `onReport(state, end)` for each reporting step; returns the last state. */
export type DenseScan = (
  input: string,
  from: number,
  to: number,
  onReport: (state: number, end: number) => void,
) => number;

const PAGE = 65_536;
const CLASSES_AT = 0;
/** Reports a call may buffer before it returns to JavaScript. */
const REPORT_CAP = 4096;
const OUT_AT = CLASSES_AT + 65_536 * 2;
/** Code units per window. */
const WINDOW = 32_768;
const TEXT_AT = OUT_AT + REPORT_CAP * 8;
const TABLE_AT = TEXT_AT + WINDOW * 2;

interface ScanExports {
  scan(
    from: number,
    to: number,
    classes: number,
    text: number,
    table: number,
    out: number,
    cap: number,
  ): number;
  state: WebAssembly.Global;
  count: WebAssembly.Global;
}

let compiled: WebAssembly.Module | undefined;

function scanModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(SCAN_WASM_BASE64, 'base64'));
  return compiled;
}

/** A WebAssembly scan for `tables`. */
export function denseScan(tables: DenseTables): DenseScan {
  const { classOf, rows, width, reports } = tables;
  const rowBytes = width * 4;
  const memory = new WebAssembly.Memory({
    initial: Math.ceil((TABLE_AT + rows.length * 4) / PAGE),
  });
  const bytes = Buffer.from(memory.buffer);
  const classes = new Uint16Array(memory.buffer, CLASSES_AT, 65_536);
  for (let code = 0; code < 65_536; code++) classes[code] = classOf[code]! * 4;
  const table = new Int32Array(memory.buffer, TABLE_AT, rows.length);
  for (let k = 0; k < rows.length; k++) {
    const next = rows[k]!;
    table[k] = next * rowBytes + reports[next]!;
  }
  const out = new Int32Array(memory.buffer, OUT_AT, REPORT_CAP * 2);
  const exports = new WebAssembly.Instance(scanModule(), { env: { memory } })
    .exports as unknown as ScanExports;
  const { scan, state, count } = exports;

  return (input, from, to, onReport) => {
    state.value = 0;
    for (let start = from; start < to; start += WINDOW) {
      const length = Math.min(WINDOW, to - start);
      bytes.write(input.slice(start, start + length), TEXT_AT, length * 2, 'utf16le');
      let i = 0;
      while (i < length) {
        i = scan(i, length, CLASSES_AT, TEXT_AT, TABLE_AT, OUT_AT, REPORT_CAP);
        const reported = count.value as number;
        for (let k = 0; k < reported; k++) {
          onReport((out[2 * k + 1]! >> 2) / width, start + out[2 * k]!);
        }
      }
    }
    return (state.value >> 2) / width;
  };
}
