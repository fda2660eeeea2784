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
  /** The spans as `[start, end, rank]` triples in order of start: the scan's buffer itself when it is. */
  private readonly spans: Int32Array;
  private readonly count: number;
  private next = 0;
  private reach = -1;
  /** For `containing`: the spans starting at or before the last position asked, passed. */
  private passed = 0;
  /** The span reaching furthest of those passed: where a run inside it is passed over unread. */
  spanStart = 0;
  spanEnd = -1;
  /** Whether that span names the result of a run with its very extents (`holds`). */
  spanNames = false;

  /**
   * `buffer` is read in place (not copied) when its spans are in order of start, as they mostly
   * are: it must not change while the covering is asked (the scan's buffer, until the next scan
   * at its level). A page of keys has a span per 28 characters, and three copies of them were
   * most of this class's time and garbage.
   */
  constructor(
    buffer: Int32Array,
    count: number,
    private readonly ties: boolean,
  ) {
    this.count = count;
    let sorted = true;
    for (let k = 1; k < count && sorted; k++) if (buffer[k * 3]! < buffer[k * 3 - 3]!) sorted = false;
    if (sorted) {
      this.spans = buffer;
      return;
    }
    const order = Array.from({ length: count }, (_, k) => k).sort((x, y) => buffer[x * 3]! - buffer[y * 3]!);
    const spans = new Int32Array(count * 3);
    for (let k = 0; k < count; k++) spans.set(buffer.subarray(order[k]! * 3, order[k]! * 3 + 3), k * 3);
    this.spans = spans;
  }

  /**
   * Whether a span found covers position `i` (it is then `spanStart`…`spanEnd`, the one of those
   * starting at or before `i` that reaches furthest). Asked with positions that increase. The
   * base64 search passes over such a span's runs without reading them where `holds` would hold
   * every one (decoded.ts).
   */
  containing(i: number): boolean {
    const spans = this.spans;
    const count = this.count;
    while (this.passed < count && spans[this.passed * 3]! <= i) {
      const at = this.passed * 3;
      const end = spans[at + 1]!;
      if (end > this.spanEnd) {
        this.spanStart = spans[at]!;
        this.spanEnd = end;
        this.spanNames = this.ties || spans[at + 2]! < 0;
      }
      this.passed++;
    }
    return this.spanEnd > i;
  }

  /**
   * Whether a span holds all of `[start, end)` and names the result (above). Asked with starts
   * that increase: the furthest end of the spans starting before `start` is kept as they pass.
   */
  holds(start: number, end: number): boolean {
    const spans = this.spans;
    const count = this.count;
    while (this.next < count && spans[this.next * 3]! < start) {
      const spanEnd = spans[this.next * 3 + 1]!;
      if (spanEnd > this.reach) this.reach = spanEnd;
      this.next++;
    }
    if (this.reach >= end) return true;
    for (let k = this.next; k < count && spans[k * 3] === start; k++) {
      const spanEnd = spans[k * 3 + 1]!;
      if (spanEnd > end) return true;
      if (spanEnd === end && (this.ties || spans[k * 3 + 2]! < 0)) return true;
    }
    return false;
  }
}
