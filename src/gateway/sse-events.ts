/**
 * Splits an SSE byte stream into whole events (each with its closing blank
 * line), holding back the part of an event not yet received. The SDK acts on
 * an event only once it is whole, so holding it back delays nothing; it lets
 * the HTTP fetch see an event's full size before deciding who parses it
 * (large-messages.ts). Events end with `\n\n`; a stream that uses `\r` is
 * left to the SDK as it comes (`crlf`).
 */
const LF = 0x0a;
/** Events larger than this come out as buffers of their own (see `take`). */
export const OWN = 64 * 1024;

export class SseEvents {
  private held: Buffer[] = [];
  private heldSize = 0;
  private lastByte = 0;
  /** Set once a `\r` is seen: the stream is then passed on unsplit. */
  crlf = false;

  /** The events `chunk` completes, in order; with `crlf` set, whatever is held plus the chunk. */
  push(chunk: Buffer): Buffer[] {
    if (this.crlf || chunk.includes(0x0d)) {
      this.crlf = true;
      return [...this.flush(), chunk];
    }
    const events: Buffer[] = [];
    let start = 0;
    // An event whose blank line spans two chunks: `\n` ended the last one, `\n` starts this one.
    if (this.lastByte === LF && chunk[0] === LF && this.heldSize > 0) {
      events.push(this.take(chunk.subarray(0, 1)));
      start = 1;
    }
    for (;;) {
      const boundary = chunk.indexOf('\n\n', start);
      if (boundary < 0) break;
      events.push(this.take(chunk.subarray(start, boundary + 2)));
      start = boundary + 2;
    }
    if (start < chunk.length) {
      this.held.push(chunk.subarray(start));
      this.heldSize += chunk.length - start;
    }
    this.lastByte = chunk[chunk.length - 1] ?? 0;
    return events;
  }

  /** Whatever is held (a stream ending mid-event). */
  flush(): Buffer[] {
    if (this.heldSize === 0) return [];
    return [this.take(Buffer.alloc(0))];
  }

  /**
   * The held bytes and `end` as one buffer; an event over `OWN` bytes always in a new buffer of
   * its own (it may be moved to a worker thread, which must not take memory node still uses).
   */
  private take(end: Buffer): Buffer {
    const size = this.heldSize + end.length;
    const parts = this.held.length === 0 ? [end] : [...this.held, end];
    this.held = [];
    this.heldSize = 0;
    return parts.length === 1 && size <= OWN ? end : Buffer.concat(parts, size);
  }
}
