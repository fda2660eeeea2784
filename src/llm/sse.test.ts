import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { MAX_EVENT_CHARS, type SseEvent, SseReader } from './sse.js';

const enc = new TextEncoder();

/** An SSE stream of assorted events: LF, CRLF and CR line ends, comments, ids, multi-line data, non-ASCII. */
function streamText(seed: number): string {
  const rng = seeded(seed);
  const parts: string[] = [];
  for (let i = 0, n = 1 + rng.int(12); i < n; i++) {
    const eol = rng.pick(['\n', '\r\n', '\r']);
    const lines = [
      ...(rng.float() < 0.5 ? [`event: ${rng.pick(['message_start', 'content_block_delta', 'ping'])}`] : []),
      ...(rng.float() < 0.2 ? [': a comment'] : []),
      ...(rng.float() < 0.2 ? [`id: ${i}`] : []),
      ...Array.from({ length: 1 + rng.int(3) }, () =>
        rng.pick(['data: {"a":1}', 'data:{"text":"é😀 ok"}', `data: ${'x'.repeat(rng.int(300))}`, 'data:']),
      ),
    ];
    parts.push(`${lines.join(eol)}${eol}${eol}`);
  }
  return parts.join('') + (rng.float() < 0.3 ? 'data: unfinished' : '');
}

/** The events `bytes` gives, pushed in pieces of the sizes `cut` returns, and whether it ended between events. */
function read(bytes: Uint8Array, cut: () => number): { events: SseEvent[]; atBoundary: boolean } {
  const reader = new SseReader();
  const events: SseEvent[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = Math.max(1, cut());
    events.push(...reader.push(bytes.subarray(at, at + size)));
    at += size;
  }
  return { events, atBoundary: reader.atBoundary };
}

describe('SseReader', () => {
  it('gives the same events however the bytes are cut (mid-line, mid-character, inside a CRLF)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const bytes = enc.encode(streamText(seed));
      const whole = read(bytes, () => bytes.length);
      const rng = seeded(seed * 7);
      for (const cut of [() => 1, () => 2, () => rng.int(40), () => rng.int(400)])
        expect(read(bytes, cut)).toEqual(whole);
    }
  });

  it('reads one large event in small chunks in time linear in its size (8x the event: under 24x the CPU)', () => {
    const cpu = (size: number) => {
      const bytes = enc.encode(`data: ${'y'.repeat(size)}\n\n`);
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round++) {
        const before = process.cpuUsage();
        const { events } = read(bytes, () => 64);
        const used = process.cpuUsage(before);
        expect(events[0]?.data.length).toBe(size);
        best = Math.min(best, (used.user + used.system) / 1000);
      }
      return best;
    };
    cpu(64 * 1024);
    expect(cpu(2 * 1024 * 1024) / cpu(256 * 1024)).toBeLessThan(24);
  }, 60_000);

  it('refuses an event that grows past the limit', () => {
    const reader = new SseReader();
    const piece = enc.encode(`data: ${'z'.repeat(1024 * 1024)}`);
    expect(() => {
      for (let i = 0; i <= MAX_EVENT_CHARS / (1024 * 1024); i++) reader.push(piece);
    }).toThrow(/size limit/);
  });
});
