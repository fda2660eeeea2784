import { describe, expect, it } from 'vitest';
import { OWN, SseEvents } from './sse-events.js';

const split = (events: SseEvents, ...chunks: string[]) =>
  chunks.flatMap((c) => events.push(Buffer.from(c)).map((b) => b.toString()));

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

  it('joins an event spread over many chunks into a buffer of its own', () => {
    const events = new SseEvents();
    const body = `data: ${'x'.repeat(OWN * 3)}\n\n`;
    const out: Buffer[] = [];
    for (let i = 0; i < body.length; i += 1000)
      out.push(...events.push(Buffer.from(body.slice(i, i + 1000))));
    expect(out).toHaveLength(1);
    const [event] = out as [Buffer];
    expect(event.toString()).toBe(body);
    expect(event.byteOffset).toBe(0);
    expect(event.buffer.byteLength).toBe(event.length);
  });

  it('passes a stream with carriage returns through as it comes, held bytes first', () => {
    const events = new SseEvents();
    expect(split(events, 'data: a', '\r\n\r\ndata: b')).toEqual(['data: a', '\r\n\r\ndata: b']);
    expect(events.crlf).toBe(true);
  });

  it('gives back a partial event at the end of the stream', () => {
    const events = new SseEvents();
    split(events, 'data: cut sh');
    expect(events.flush().map(String)).toEqual(['data: cut sh']);
    expect(events.flush()).toEqual([]);
  });
});
