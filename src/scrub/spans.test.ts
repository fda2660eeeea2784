import { describe, expect, it } from 'vitest';
import { mergeSpans, renderSpans, type Span } from './spans.js';

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

describe('renderSpans', () => {
  it('replaces each span and keeps the text between', () => {
    expect(renderSpans('abcdefgh', [span(1, 3, 'X'), span(5, 6, 'Y')])).toBe('aXdeYgh');
  });

  it('returns the input itself when there is nothing to replace', () => {
    const input = 'unchanged';
    expect(renderSpans(input, [])).toBe(input);
  });
});
