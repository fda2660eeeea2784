import { describe, expect, it } from 'vitest';
import { type SseEvent, SseEvents } from './sse-events.js';

const text = (event: SseEvent) => Buffer.concat(event.parts).toString();
const split = (events: SseEvents, ...chunks: string[]) =>
  chunks.flatMap((c) => events.push(Buffer.from(c)).map(text));

describe('splitting an SSE stream into whole events', () => {
  it('passes whole events and holds a partial one until its blank line', () => {
    const events = new SseEvents();
    expect(split(events, 'data: a\n\ndata: b', '\n\n')).toEqual(['data: a\n\n', 'data: b\n\n']);
  });

  it('finds a blank line split across chunks', () => {
    const events = new SseEvents();
    expect(split(events, 'event: message\ndata: {"x":1}\n', '\ndata: next\n\n')).toEqual([
      'event: message\ndata: {"x":1}\n\n',
      'data: next\n\n',
    ]);
  });

  it('gives an event spread over many chunks as its pieces, uncopied, with its size', () => {
    const events = new SseEvents();
    const body = `data: ${'x'.repeat(200_000)}\n\n`;
    const chunks = Array.from({ length: Math.ceil(body.length / 1000) }, (_, i) =>
      Buffer.from(body.slice(i * 1000, i * 1000 + 1000)),
    );
    const out = chunks.flatMap((c) => events.push(c));
    expect(out).toHaveLength(1);
    const [event] = out as [SseEvent];
    expect(text(event)).toBe(body);
    expect(event.size).toBe(Buffer.byteLength(body));
    // The very memory received: nothing was joined.
    expect(event.parts).toHaveLength(chunks.length);
    expect(
      event.parts.every((p, i) => p.buffer === chunks[i]?.buffer && p.byteOffset === chunks[i]?.byteOffset),
    ).toBe(true);
  });

  it('passes a stream with carriage returns through as it comes, held bytes first', () => {
    const events = new SseEvents();
    expect(split(events, 'data: a', '\r\n\r\ndata: b')).toEqual(['data: a', '\r\n\r\ndata: b']);
    expect(events.crlf).toBe(true);
  });

  it('gives back a partial event at the end of the stream', () => {
    const events = new SseEvents();
    split(events, 'data: cut sh');
    expect(events.flush().map(text)).toEqual(['data: cut sh']);
    expect(events.flush()).toEqual([]);
  });
});
