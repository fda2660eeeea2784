import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { mergeFound, mergeSpans, renderSpans, type Span } from './spans.js';

const span = (start: number, end: number, replacement: string, rank = 0, marker = replacement): Span => ({
  start,
  end,
  replacement,
  marker,
  rank,
});

describe('mergeSpans', () => {
  it('sorts disjoint spans and leaves them separate', () => {
    expect(mergeSpans([span(5, 6, 'B'), span(0, 2, 'A')]).map((s) => s.replacement)).toEqual(['A', 'B']);
  });

  it('merges overlapping spans into one that covers both', () => {
    const [merged] = mergeSpans([span(0, 4, '[A]'), span(2, 8, '[B]')]);
    expect([merged?.start, merged?.end, merged?.replacement]).toEqual([0, 8, '[A]']);
  });

  it('prefers the lower rank when two spans cover the same text', () => {
    expect(mergeSpans([span(0, 4, '[generic]', 5), span(0, 4, '[github]', 1)])[0]?.replacement).toBe(
      '[github]',
    );
  });

  it('uses the marker, not a mask, when a masked span absorbs a neighbour', () => {
    const [merged] = mergeSpans([
      span(0, 19, '**** 4242', 9, '[REDACTED:card]'),
      span(15, 25, '[REDACTED:secret]'),
    ]);
    expect(merged?.replacement).toBe('[REDACTED:card]');
  });

  it("merges a chain of overlapping spans into one without changing the caller's spans", () => {
    const input = [
      span(0, 4, '**', 9, '[A]'),
      span(2, 8, '[B]', 1),
      span(6, 12, '[C]', 2),
      span(20, 22, '[D]'),
    ];
    const before = input.map((s) => ({ ...s }));
    const merged = mergeSpans(input);
    expect(merged.map((s) => [s.start, s.end, s.replacement, s.rank])).toEqual([
      [0, 12, '[A]', 9],
      [20, 22, '[D]', 0],
    ]);
    expect([...input].sort((a, b) => a.start - b.start)).toEqual(before);
  });
});

describe('mergeFound', () => {
  const markerOf = (rank: number) => (rank < 0 ? '[secret]' : rank === 9 ? '[encoded]' : `[rule${rank}]`);

  it('merges spans given as numbers, objects and a union exactly as mergeSpans merges them as objects', () => {
    const rng = seeded(7);
    let withTies = 0;
    let masksJoined = 0;
    for (let round = 0; round < 4000; round++) {
      // Few positions, so spans tie in start, end and rank; PII spans share one rank with other
      // markers, and some are masks (their replacement is not their marker).
      const width = 4 + rng.int(60);
      const count = rng.int(40);
      const found = new Int32Array(3 * count);
      const all: Span[] = [];
      for (let k = 0; k < count; k++) {
        const start = rng.int(width);
        const end = start + 1 + rng.int(round % 2 === 0 ? 12 : 2);
        const rank = rng.int(5) - 1;
        found.set([start, end, rank], 3 * k);
        all.push(span(start, end, markerOf(rank), rank));
      }
      // PII spans from few places: ties among them, and masks inside other spans, are common.
      const places = 1 + rng.int(6);
      const objects: Span[] = Array.from({ length: rng.int(12) }, () => {
        const start = rng.int(places) * 3;
        const end = start + 1 + rng.int(6);
        const marker = rng.pick(['[email]', '[card]', '[phone]']);
        if (rng.int(4) === 0) return span(start, end, markerOf(rng.int(4)), rng.int(4));
        return span(start, end, rng.int(2) === 0 ? marker : `mask${rng.int(3)}`, 1_000_000, marker);
      });
      all.push(...objects);
      const starts: number[] = [];
      const ends: number[] = [];
      for (let at = rng.int(10); at < width + 10; at += 2 + rng.int(10)) {
        starts.push(at);
        ends.push(at + 1 + rng.int(3));
        at = ends[ends.length - 1]!;
        all.push(span(starts[starts.length - 1]!, at, '[encoded]', 9));
      }
      const union =
        rng.int(3) === 0
          ? null
          : { start: Int32Array.from(starts), end: Int32Array.from(ends), count: starts.length };
      if (!union) all.splice(count + objects.length);
      const expected = mergeSpans(all.map((s) => ({ ...s })));
      const actual = mergeFound(found, count, objects, union, 9, markerOf);
      expect(actual.map((s) => ({ ...s }))).toEqual(expected.map((s) => ({ ...s })));
      const sorted = [...all].sort((a, b) => a.start - b.start || b.end - a.end || a.rank - b.rank);
      if (
        sorted.some(
          (s, k) =>
            k > 0 &&
            s.start === sorted[k - 1]!.start &&
            s.end === sorted[k - 1]!.end &&
            s.marker !== sorted[k - 1]!.marker,
        )
      )
        withTies++;
      if (
        expected.some(
          (s) =>
            s.rank === 1_000_000 &&
            s.replacement === s.marker &&
            objects.some((o) => o.start === s.start && o.end === s.end && o.replacement !== o.marker) &&
            !objects.some((o) => o.start === s.start && o.replacement === o.marker),
        )
      )
        masksJoined++;
    }
    // Spans of one place and rank with other markers (their order decides the result), and masks
    // that became their marker by a join.
    expect(withTies).toBeGreaterThan(1000);
    expect(masksJoined).toBeGreaterThan(100);
  });
});

describe('renderSpans', () => {
  it('replaces each span and keeps the text between', () => {
    expect(renderSpans('abcdefgh', [span(1, 3, 'X'), span(5, 6, 'Y')])).toBe('aXdeYgh');
  });

  it('returns the input itself when there is nothing to replace', () => {
    const input = 'unchanged';
    expect(renderSpans(input, [])).toBe(input);
  });
});
