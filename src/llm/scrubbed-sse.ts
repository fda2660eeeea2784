/**
 * An SSE answer scrubbed on its way to the agent. Bytes are framed into whole
 * events (sse.ts), each event's JSON is parsed once (usage is read from the
 * same parse), and a dialect rewrites it: the text a model streams over many
 * events goes through one streaming scrubber per content block, which holds
 * back a tail that could be the start of a secret until the next event shows
 * it is not; everything else in an event is scrubbed as a value. Events are
 * re-framed whole, so the stream the agent reads is always valid SSE.
 *
 * Invariant, per streamed block: the concatenation of what is emitted equals
 * the scrubber run on the block's full text, for an answer that completes.
 * An answer that is cut (kill, lost connection, error event, no final event)
 * drops what was held back: a secret cut off by the end of the stream never
 * reaches the agent, even in part.
 */
import type { Scrubber, StreamScrubber } from '../scrub/index.js';
import { formatSse, type SseEvent, SseReader } from './sse.js';

export interface SseDialect {
  /** The framed events to send for one upstream event ('' to send none); `data` is its parsed JSON, if any. */
  event(event: SseEvent, data: unknown): string;
  /** At a clean end: whatever is still held back, framed. */
  end(): string;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

export class ScrubbedSse {
  private readonly reader = new SseReader();

  constructor(
    private readonly dialect: SseDialect,
    private readonly observe: (data: unknown) => void,
  ) {}

  /** The scrubbed bytes to send for an upstream chunk (possibly none). Throws on an oversized event. */
  push(chunk: Uint8Array): Uint8Array {
    let out = '';
    for (const event of this.reader.push(chunk)) {
      let data: unknown;
      if (event.data !== '' && event.data !== '[DONE]') {
        try {
          data = JSON.parse(event.data);
        } catch {
          data = undefined;
        }
      }
      // The Chat Completions end marker is not JSON; the tracker still needs to see it.
      if (event.data === '[DONE]') data = '[DONE]';
      if (data !== undefined) this.observe(data);
      out += this.dialect.event(event, data);
    }
    return out ? encoder.encode(out) : EMPTY;
  }

  /** What is held back, for an answer that completed. */
  end(): Uint8Array {
    const out = this.dialect.end();
    return out ? encoder.encode(out) : EMPTY;
  }
}

/** Streaming scrubbers for text that grows over many events, one per key (block, field). */
export class HeldText {
  private readonly open = new Map<string, StreamScrubber>();

  constructor(private readonly scrubber: Scrubber) {}

  push(key: string, text: string): string {
    let stream = this.open.get(key);
    if (!stream) {
      stream = this.scrubber.stream();
      this.open.set(key, stream);
    }
    return stream.push(text);
  }

  /** Ends one key's text: what it held, scrubbed with nothing more to come. */
  flush(key: string): string {
    const stream = this.open.get(key);
    if (!stream) return '';
    this.open.delete(key);
    return stream.flush();
  }

  keys(): string[] {
    return [...this.open.keys()];
  }
}

/** An event name as sent on: the API's names pass, anything else is scrubbed like text. */
export function eventName(name: string | undefined, scrubber: Scrubber): string | undefined {
  if (name === undefined || /^[a-z_.]{1,64}$/.test(name)) return name;
  return scrubber.text(name);
}

/** A non-JSON event, scrubbed as text. */
export function textEvent(event: SseEvent, scrubber: Scrubber): string {
  return formatSse(eventName(event.event, scrubber), scrubber.text(event.data));
}
