import { describe, expect, it } from 'vitest';
import { ValidatorCache } from './validator-cache.js';

const schema = (i: number) => ({
  type: 'object',
  properties: { [`k${String(i).padStart(3, '0')}`]: { type: 'string' } },
});
const LOOSE = { burstMs: 1e9, msPerSecond: 0 };

describe('the validator cache', () => {
  it('stays within its count however many distinct schemas an upstream sends', () => {
    const cache = new ValidatorCache({ count: 10, chars: 1e9 }, LOOSE);
    for (let i = 0; i < 200; i++) expect(cache.compile('up', schema(i)).ok).toBe(true);
    expect(cache.size().count).toBe(10);
  });

  it('stays within its characters, evicting the least recently used first', () => {
    const one = JSON.stringify(schema(0)).length;
    const cache = new ValidatorCache({ count: 1000, chars: one * 3 }, LOOSE);
    const first = cache.compile('up', schema(0));
    for (let i = 1; i < 50; i++) {
      cache.compile('up', schema(i));
      // Used again each time: never the least recently used.
      expect(cache.compile('up', schema(0))).toEqual(first);
    }
    expect(cache.size().chars).toBeLessThanOrEqual(one * 3);
    expect(cache.size().count).toBe(3);
  });

  it('refuses new schemas past the upstream budget, other upstreams and kept schemas unaffected', () => {
    let now = 0;
    // Every reading of the fake clock moves it 100 ms: each compile "takes" 100 ms.
    const cache = new ValidatorCache({ count: 100, chars: 1e9 }, { burstMs: 250, msPerSecond: 1 }, () => {
      now += 100;
      return now;
    });
    const results = [0, 1, 2, 3, 4].map((i) => cache.compile('noisy', schema(i)));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    expect(results[3]).toMatchObject({ ok: false, code: 'schema_compile_budget' });
    expect(cache.compile('noisy', schema(0)).ok).toBe(true);
    expect(cache.compile('quiet', schema(9)).ok).toBe(true);
    // A thousand seconds later the budget has refilled.
    now += 1_000_000;
    expect(cache.compile('noisy', schema(3)).ok).toBe(true);
  });

  it('reports a schema ajv cannot compile as a value', () => {
    const cache = new ValidatorCache();
    const result = cache.compile('up', { type: 'object', properties: { q: { pattern: '(?<=a)b' } } });
    expect(result).toMatchObject({ ok: false, code: 'schema_uncompilable' });
  });
});
