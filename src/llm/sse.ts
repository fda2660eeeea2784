/**
 * Server-sent event framing, both ways. The reader turns the bytes of an
 * answer into whole events however they were cut (mid-line, mid-character,
 * CRLF split across chunks; the SSE grammar allows LF, CRLF and CR line
 * ends), so that scrubbing always sees a complete event. The writer frames
 * the event the proxy sends on: one `event:` line, one `data:` line (JSON
 * never needs two), a blank line.
 */

export interface SseEvent {
  /** The `event:` field, when the event had one. */
  event: string | undefined;
  /** The `data:` lines joined with newlines; '' for an event without data (a comment, a bare id). */
  data: string;
}

/** An event larger than this is refused: a hostile upstream cannot make the proxy buffer without end. */
export const MAX_EVENT_CHARS = 4 * 1024 * 1024;

export class SseReader {
  /**
   * The started event's text, in the pieces it came in, joined once it ends: a long event arriving
   * in small chunks is neither copied nor searched again with each one (quadratic: an API, or
   * whatever answers at `base_url`, dribbling one large event held the event loop for seconds).
   */
  private held: string[] = [];
  private heldChars = 0;
  private pendingCr = false;
  private readonly decoder = new TextDecoder();

  /** True between events: nothing of a started event is waiting. */
  get atBoundary(): boolean {
    return this.heldChars === 0 && !this.pendingCr;
  }

  /** The complete events in `chunk` (with what came before). Throws when one event grows too large. */
  push(chunk: Uint8Array): SseEvent[] {
    let text = this.decoder.decode(chunk, { stream: true });
    if (this.pendingCr) text = `\r${text}`;
    // A CR at the end of a chunk may be the first half of a CRLF split across chunks.
    this.pendingCr = text.endsWith('\r');
    if (this.pendingCr) text = text.slice(0, -1);
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n');
    const events: SseEvent[] = [];
    const add = (block: string) => {
      const event = parseBlock(block);
      if (event) events.push(event);
    };
    let from = 0;
    // The blank line that ends the held event may begin at its last character.
    const lastHeld = this.held[this.held.length - 1];
    const first = text.indexOf('\n\n');
    if (lastHeld?.endsWith('\n') && text.startsWith('\n')) {
      add(this.release().slice(0, -1));
      from = 1;
    } else if (first !== -1) {
      add(this.release() + text.slice(0, first));
      from = first + 2;
    }
    if (from > 0 || this.heldChars === 0) {
      for (let end = text.indexOf('\n\n', from); end !== -1; end = text.indexOf('\n\n', from)) {
        add(text.slice(from, end));
        from = end + 2;
      }
    }
    const rest = from > 0 ? text.slice(from) : text;
    if (rest) {
      this.held.push(rest);
      this.heldChars += rest.length;
    }
    if (this.heldChars > MAX_EVENT_CHARS) throw new Error('an SSE event exceeds the size limit');
    return events;
  }

  /** The held event's text, let go. */
  private release(): string {
    const text = this.held.length === 1 ? (this.held[0] as string) : this.held.join('');
    this.held = [];
    this.heldChars = 0;
    return text;
  }
}

function parseBlock(block: string): SseEvent | undefined {
  let event: string | undefined;
  let data: string | undefined;
  for (const line of block.split('\n')) {
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      data = data === undefined ? value : `${data}\n${value}`;
    } else if (line.startsWith('event:')) {
      event = line.charCodeAt(6) === 32 ? line.slice(7) : line.slice(6);
    }
    // Comments (`:`), `id:` and `retry:` are dropped: nothing the SDKs read, and nothing unscrubbed passes.
  }
  if (event === undefined && data === undefined) return undefined;
  return { event, data: data ?? '' };
}

/** One event as the proxy sends it on. `event` must hold no newline (callers pass fixed names or checked ones). */
export function formatSse(event: string | undefined, data: string): string {
  const lines = data.includes('\n') ? data.split('\n').join('\ndata: ') : data;
  return event === undefined ? `data: ${lines}\n\n` : `event: ${event}\ndata: ${lines}\n\n`;
}
