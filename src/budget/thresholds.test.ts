import { describe, expect, it } from 'vitest';
import { quantizeUsd, tokenCrossings } from './thresholds.js';

const none = { input: 0, output: 0, usd: 0 };

describe('tokenCrossings', () => {
  it('reports a threshold crossed by a charge', () => {
    expect(
      tokenCrossings({ ...none, output: 85 }, { ...none, output: 10 }, { output: 100 }, [0.8, 1]),
    ).toEqual([{ dimension: 'output_tokens', fraction: 0.8, used: 85, cap: 100 }]);
  });

  it('reports nothing for a charge that stays between thresholds', () => {
    expect(
      tokenCrossings({ ...none, output: 90 }, { ...none, output: 5 }, { output: 100 }, [0.8, 1]),
    ).toEqual([]);
  });

  it('reports every threshold one large charge jumps over', () => {
    const crossings = tokenCrossings(
      { ...none, input: 120 },
      { ...none, input: 120 },
      { input: 100 },
      [0.8, 1],
    );
    expect(crossings.map((c) => c.fraction)).toEqual([0.8, 1]);
  });

  it('counts input and output together against the total cap', () => {
    const crossings = tokenCrossings(
      { input: 50, output: 30, usd: 0 },
      { input: 5, output: 5, usd: 0 },
      { total: 100 },
      [0.8],
    );
    expect(crossings).toEqual([{ dimension: 'total_tokens', fraction: 0.8, used: 80, cap: 100 }]);
  });

  it('ignores dimensions without a cap', () => {
    expect(
      tokenCrossings({ input: 1e9, output: 1e9, usd: 1e3 }, { input: 1e9, output: 1e9, usd: 1e3 }, {}, [0.8]),
    ).toEqual([]);
  });

  it('reports each usd threshold once over many small charges settled in sequence', () => {
    let usd = 0;
    const fired: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const charge = quantizeUsd(0.000137 * ((i % 7) + 1));
      usd += charge;
      for (const c of tokenCrossings({ ...none, usd }, { ...none, usd: charge }, { usd: 2 }, [0.5, 0.8, 1]))
        fired.push(c.fraction);
    }
    expect(fired).toEqual([0.5, 0.8, 1]);
  });
});

describe('quantizeUsd', () => {
  it('keeps sums exact, so after - charged is exactly the usage before', () => {
    let total = 0;
    for (let i = 1; i <= 1000; i++) {
      const charge = quantizeUsd(i * 0.0000031);
      const before = total;
      total += charge;
      expect(total - charge).toBe(before);
    }
  });

  it('never rounds a cost down', () => {
    expect(quantizeUsd(0.1)).toBeGreaterThanOrEqual(0.1);
    expect(quantizeUsd(0.1) - 0.1).toBeLessThan(1e-9);
  });

  it('charges nothing for a negative or non-finite amount', () => {
    expect(quantizeUsd(-1)).toBe(0);
    expect(quantizeUsd(Number.NaN)).toBe(0);
  });
});
