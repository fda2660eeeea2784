import { describe, expect, it } from 'vitest';
import type { DecodedRuns } from './decoded.js';
import { type InnerSpans, pushCarried, sortedSpans } from './decoded-spans.js';

/** Three runs of the scanned text, [0, 10), [20, 30), [40, 50); their decoded text `aaaa\nbbbb\ncccc`. */
const RUNS: DecodedRuns = {
  text: 'aaaa\nbbbb\ncccc',
  count: 3,
  start: Int32Array.of(0, 20, 40),
  end: Int32Array.of(10, 30, 50),
  at: Int32Array.of(0, 5, 10, 15),
};
const INPUT = 'x'.repeat(60);
const NOTHING_ABOVE = sortedSpans(new Int32Array(0), 0, []);

/** The spans pushCarried hands on, as [start, end, rank]. */
function carried(inner: InnerSpans, above = NOTHING_ABOVE): number[][] {
  const out: number[][] = [];
  pushCarried(INPUT, RUNS, inner, above, (start, end, rank) => out.push([start, end, rank]));
  return out;
}

function inner(triples: number[][], union: InnerSpans['union'] = null): InnerSpans {
  return { buffer: Int32Array.from(triples.flat()), count: triples.length, union, unionRank: 99 };
}

describe('runs that carried a match one level down', () => {
  it('are each handed on once, whole, with the rank of their first match', () => {
    expect(
      carried(
        inner([
          [1, 3, 7],
          [2, 4, 8],
          [11, 13, 5],
        ]),
      ),
    ).toEqual([
      [0, 10, 7],
      [40, 50, 5],
    ]);
  });

  it('are judged in order of start when matches come out of order (runs carried up from a level below)', () => {
    // The head in order, then a match of the first run added after it: the first run's first
    // match is still the one that starts first.
    expect(
      carried(
        inner([
          [2, 4, 8],
          [6, 8, 6],
          [11, 13, 5],
          [1, 3, 7],
        ]),
      ),
    ).toEqual([
      [0, 10, 7],
      [20, 30, 6],
      [40, 50, 5],
    ]);
  });

  it('keep the order given between matches that start together', () => {
    expect(
      carried(
        inner([
          [6, 8, 4],
          [1, 3, 7],
          [6, 9, 3],
        ]),
      ),
    ).toEqual([
      [0, 10, 7],
      [20, 30, 4],
    ]);
  });

  it('include the runs the level below redacted past its budget, with its rank', () => {
    const union = { start: Int32Array.of(5), end: Int32Array.of(9), count: 1 };
    expect(carried(inner([[11, 13, 5]], union))).toEqual([
      [20, 30, 99],
      [40, 50, 5],
    ]);
  });

  it('redact every run a match spans', () => {
    expect(carried(inner([[2, 12, 7]]))).toEqual([
      [0, 10, 7],
      [20, 30, 7],
      [40, 50, 7],
    ]);
  });

  it('carry a run whose match stands above only as other text', () => {
    // Above: `xx` at [2, 4), inside the first run; its decoded match is `aa`.
    const above = sortedSpans(Int32Array.of(2, 4, 0), 1, []);
    expect(carried(inner([[1, 3, 7]]), above)).toEqual([[0, 10, 7]]);
  });

  it('leave a run whose every match was found in the text above as the same text', () => {
    const input = 'aaxx'.padEnd(60, 'x');
    const above = sortedSpans(Int32Array.of(0, 2, 0), 1, []);
    const out: number[][] = [];
    pushCarried(input, RUNS, inner([[1, 3, 7]]), above, (start, end, rank) => out.push([start, end, rank]));
    expect(out).toEqual([]);
  });
});
