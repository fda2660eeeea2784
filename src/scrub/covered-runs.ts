/**
 * The spans a text's own scan found (rule matches and known secrets, `[start, end, rank]`
 * triples of the scan's buffer), asked in order of start whether one holds a whole encoded run.
 * Each such span is replaced whole by its marker, so a run inside one cannot leak whatever it
 * decodes to: decoding and scanning it again is work with no effect on the output (a page of
 * keys: every key is also a base64-looking run, a fifth of the scrub).
 *
 * The merge keeps the marker of the span that starts first, then the longer, then the lower
 * rank: a run inside a span that starts before it or ends after it could not name the result.
 * One with the span's very extents could (a known secret decoded from a rule's match is named
 * as the known secret): such a run is passed over only when the span is a known secret's, or
 * `ties` (no known secrets: then the run could only swap one credential rule's name for another).
 */
export class Covering {
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly ranks: Int32Array;
  private next = 0;
  private reach = -1;

  constructor(
    buffer: Int32Array,
    count: number,
    private readonly ties: boolean,
  ) {
    const starts = new Int32Array(count);
    const ends = new Int32Array(count);
    const ranks = new Int32Array(count);
    let sorted = true;
    for (let k = 0; k < count; k++) {
      starts[k] = buffer[k * 3]!;
      ends[k] = buffer[k * 3 + 1]!;
      ranks[k] = buffer[k * 3 + 2]!;
      if (k > 0 && starts[k]! < starts[k - 1]!) sorted = false;
    }
    if (sorted) {
      this.starts = starts;
      this.ends = ends;
      this.ranks = ranks;
      return;
    }
    const order = Array.from({ length: count }, (_, k) => k).sort((x, y) => starts[x]! - starts[y]!);
    this.starts = Int32Array.from(order, (k) => starts[k]!);
    this.ends = Int32Array.from(order, (k) => ends[k]!);
    this.ranks = Int32Array.from(order, (k) => ranks[k]!);
  }

  /**
   * Whether a span holds all of `[start, end)` and names the result (above). Asked with starts
   * that increase: the furthest end of the spans starting before `start` is kept as they pass.
   */
  holds(start: number, end: number): boolean {
    const starts = this.starts;
    const ends = this.ends;
    while (this.next < starts.length && starts[this.next]! < start) {
      const spanEnd = ends[this.next]!;
      if (spanEnd > this.reach) this.reach = spanEnd;
      this.next++;
    }
    if (this.reach >= end) return true;
    for (let k = this.next; k < starts.length && starts[k] === start; k++) {
      if (ends[k]! > end) return true;
      if (ends[k] === end && (this.ties || this.ranks[k]! < 0)) return true;
    }
    return false;
  }
}
