/**
 * Splits an SSE byte stream into whole events (each with its closing blank
 * line), holding back the part of an event not yet received. The SDK acts on
 * an event only once it is whole, so holding it back delays nothing; it lets
 * the HTTP fetch see an event's full size before deciding who parses it
 * (large-messages.ts). Events end with `\n\n`; a stream that uses `\r` is
 * left to the SDK as it comes (`crlf`).
 *
 * An event is given as the pieces of the chunks it came in, never joined: a
 * large one is copied once, into the worker's slab (worker/slabs.ts), and one
 * passed on unchanged is not copied at all.
 */
const LF = 0x0a;

/** One whole event (with `crlf`, a piece of the stream as it came): its bytes in order. */
export interface SseEvent {
  parts: Buffer[];
  size: number;
}

export class SseEvents {
  private held: Buffer[] = [];
  private heldSize = 0;
  private lastByte = 0;
  /** Set once a `\r` is seen: the stream is then passed on unsplit. */
  crlf = false;

  /** The events `chunk` completes, in order; with `crlf` set, whatever is held plus the chunk. */
  push(chunk: Buffer): SseEvent[] {
    if (this.crlf || chunk.includes(0x0d)) {
      this.crlf = true;
      return [...this.flush(), { parts: [chunk], size: chunk.length }];
    }
    const events: SseEvent[] = [];
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

  /** Bytes of the event under way (received, not yet whole). */
  get pending(): number {
    return this.heldSize;
  }

  /** Whatever is held (a stream ending mid-event). */
  flush(): SseEvent[] {
    if (this.heldSize === 0) return [];
    return [this.take(Buffer.alloc(0))];
  }

  /** The held bytes and `end`, as one event. */
  private take(end: Buffer): SseEvent {
    const parts = end.length === 0 ? this.held : [...this.held, end];
    const event = { parts, size: this.heldSize + end.length };
    this.held = [];
    this.heldSize = 0;
    return event;
  }
}
