/**
 * The decoded text of a scan's encoded runs (decoded.ts), written as the runs are found into one
 * growing buffer, the runs separated by line breaks, and made a string once.
 *
 * Why: text can hold an encoded run every few dozen characters (JSON tool output's hashes and
 * thumbnails; a hostile `%41` in every value). A string per run, then a join, cost a buffer
 * view, a native conversion and garbage per run (measured: finding 23,800 escaped runs per MiB
 * took 38 ms with those, 25 ms without).
 */
export interface DecodedRuns {
  /** The decoded runs, in order, each followed by a line break but the last. */
  text: string;
  /** How many runs. */
  count: number;
  /** Where run k was found in the scanned text: [start[k], end[k]). */
  start: Int32Array;
  end: Int32Array;
  /** Where run k's decoded text starts in `text` (at[count] = text.length + 1). */
  at: Int32Array;
}

/** Where each run was found (DecodedRuns' `start` and `end`): views valid until the next search. */
export interface LocatedRuns {
  count: number;
  start: Int32Array;
  end: Int32Array;
}

const LF = 10;
/** Below this many bytes a loop copies faster than a typed-array view and a native copy. */
const NATIVE_COPY = 64;

/**
 * Decoded text is almost always Latin-1 (decoded bytes are; escapes mostly are), kept one byte
 * per character: copied natively, made a one-byte string (half the memory, and the automaton's
 * and the regexes' faster case). The first wider code unit (a `\u` escape) widens the buffer.
 */
export class DecodedWriter {
  private narrow: Buffer = SCRATCH;
  private wide: Uint16Array | null = null;
  length = 0;
  /**
   * Where each run was found, and where its text starts (`ats[0] = 0`): typed arrays shared by
   * all writers (one is finished before the next starts, as SCRATCH), grown by doubling. Plain
   * arrays grown by `push` cost ~100 ns a run on this VM (each larger backing store is fresh
   * memory): a hostile text's 47,000 runs per MiB spent two thirds of their location there.
   */
  private starts: Int32Array = RUN_STARTS;
  private ends: Int32Array = RUN_ENDS;
  private ats: Int32Array = RUN_ATS;
  private count = 0;

  constructor() {
    this.ats[0] = 0;
  }

  /** Whether only the runs' places are recorded (`located`): no text, no line breaks. */
  private placesOnly = false;

  /** Empty again, on the shared buffers as they are now (findEncoded keeps one writer). */
  reset(placesOnly = false): void {
    this.placesOnly = placesOnly;
    this.narrow = SCRATCH;
    this.wide = null;
    this.length = 0;
    this.starts = RUN_STARTS;
    this.ends = RUN_ENDS;
    this.ats = RUN_ATS;
    this.count = 0;
    this.open = 0;
    this.ats[0] = 0;
  }
  /** Where the run being written started (after the previous run's line break). */
  private open = 0;

  room(count: number): void {
    const need = this.length + count;
    if (this.wide) {
      if (need > this.wide.length) {
        const grown = new Uint16Array(Math.max(need, this.wide.length * 2));
        grown.set(this.wide.subarray(0, this.length));
        this.wide = grown;
      }
    } else if (need > this.narrow.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.narrow.length * 2));
      this.narrow.copy(grown, 0, 0, this.length);
      this.narrow = grown;
      // Kept for the next scan: a large text's decoded runs need as much again.
      if (grown.length <= MAX_SCRATCH) SCRATCH = grown;
    }
  }

  /** Whether text is kept two bytes per character (since a code unit above 0xff was written). */
  get isWide(): boolean {
    return this.wide !== null;
  }

  /** Room for `count` more code units: the buffer to write them into from `length`. */
  target(count: number): Uint8Array | Uint16Array {
    this.room(count);
    return this.wide ?? this.narrow;
  }

  widen(): Uint16Array {
    const wide = new Uint16Array(Math.max(this.narrow.length, 1024));
    for (let k = 0; k < this.length; k++) wide[k] = this.narrow[k]!;
    this.wide = wide;
    return wide;
  }

  /** Writes `text[from, to)` into the open run. */
  string(text: string, from = 0, to = text.length): void {
    this.room(to - from);
    let n = this.length;
    let k = from;
    if (!this.wide) {
      const narrow = this.narrow;
      for (; k < to; k++) {
        const code = text.charCodeAt(k);
        if (code > 0xff) break;
        narrow[n++] = code;
      }
      this.length = n;
      if (k === to) return;
      this.widen();
    }
    const wide = this.wide!;
    for (; k < to; k++) wide[n++] = text.charCodeAt(k);
    this.length = n;
  }

  /** Writes `bytes[from, to)` as Latin-1 into the open run. */
  bytes(bytes: Uint8Array, from: number, to: number): void {
    this.room(to - from);
    const target = this.wide ?? this.narrow;
    if (to - from >= NATIVE_COPY) target.set(bytes.subarray(from, to), this.length);
    else for (let k = from, n = this.length; k < to; k++) target[n++] = bytes[k]!;
    this.length += to - from;
  }

  /** A line break within the open run (between the stretches or windows of one run). */
  separator(): void {
    this.room(1);
    (this.wide ?? this.narrow)[this.length++] = LF;
  }

  /** Whether the open run has any text yet. */
  get written(): boolean {
    return this.length > this.open;
  }

  /** Closes the open run as found at `[start, end)`, unless it holds nothing (and `empty` is not set). */
  close(start: number, end: number, empty = false): void {
    if (this.length === this.open && !empty) return;
    const k = this.count;
    if (k + 2 > this.ats.length) this.grow();
    this.starts[k] = start;
    this.ends[k] = end;
    if (this.placesOnly) {
      this.count = k + 1;
      return;
    }
    this.separator();
    this.ats[k + 1] = this.length;
    this.count = k + 1;
    this.open = this.length;
  }

  finish(): DecodedRuns {
    const count = this.count;
    // Most texts (a tool result's few words, an audit event's values) hold no run: one shared
    // answer, not three typed arrays (~200 bytes each) made and dropped per scan.
    if (count === 0) return NO_RUNS;
    const length = Math.max(0, this.length - 1);
    // Node copies UTF-16 code units as they are (a lone surrogate stays one).
    const text = this.wide
      ? Buffer.from(this.wide.buffer, this.wide.byteOffset, length * 2).toString('utf16le')
      : this.narrow.toString('latin1', 0, length);
    return {
      text,
      count,
      start: this.starts.slice(0, count),
      end: this.ends.slice(0, count),
      at: this.ats.slice(0, count + 1),
    };
  }

  /** The runs' places, as views of the shared buffers (nothing copied; valid until the next search). */
  located(): LocatedRuns {
    return {
      count: this.count,
      start: this.starts.subarray(0, this.count),
      end: this.ends.subarray(0, this.count),
    };
  }

  private grow(): void {
    const size = this.ats.length * 2;
    const grown = (from: Int32Array): Int32Array => {
      const to = new Int32Array(size);
      to.set(from);
      return to;
    };
    this.starts = grown(this.starts);
    this.ends = grown(this.ends);
    this.ats = grown(this.ats);
    // Kept for the next scan, as SCRATCH.
    if (size <= MAX_RUNS) {
      RUN_STARTS = this.starts;
      RUN_ENDS = this.ends;
      RUN_ATS = this.ats;
    }
  }
}

/** The runs of a text that holds none (read only: no caller writes a scan's runs). */
const NO_RUNS: DecodedRuns = {
  text: '',
  count: 0,
  start: new Int32Array(0),
  end: new Int32Array(0),
  at: new Int32Array(1),
};

/**
 * The narrow buffer, shared by all writers: one scan's writer is finished (its text made a
 * string) before the scan of that text starts another (decoded text searched again).
 */
let SCRATCH = Buffer.allocUnsafe(1 << 16);
const MAX_SCRATCH = 1 << 24;
let RUN_STARTS: Int32Array = new Int32Array(1024);
let RUN_ENDS: Int32Array = new Int32Array(1024);
let RUN_ATS: Int32Array = new Int32Array(1024);
/** Runs' places kept between scans: up to 4 MiB of text's worth of hostile runs. */
const MAX_RUNS = 1 << 18;
