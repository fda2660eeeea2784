import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { type AhoCorasickOptions, buildAhoCorasick } from './aho-corasick.js';

function matches(patterns: string[], input: string, options: AhoCorasickOptions = {}): string[] {
  const found: string[] = [];
  buildAhoCorasick(patterns, options).scan(input, 0, input.length, (p, end) =>
    found.push(`${patterns[p]}@${end}`),
  );
  return found.sort();
}

function naive(patterns: string[], input: string): string[] {
  const found = new Set<string>();
  for (const p of patterns) {
    if (!p) continue;
    for (let i = input.indexOf(p); i >= 0; i = input.indexOf(p, i + 1)) found.add(`${p}@${i + p.length}`);
  }
  return [...found].sort();
}

describe('buildAhoCorasick', () => {
  it('reports every occurrence of every pattern, including overlapping and nested ones', () => {
    const patterns = ['he', 'she', 'his', 'hers'];
    expect(matches(patterns, 'ushers')).toEqual(['he@4', 'hers@6', 'she@4']);
  });

  it('agrees with a naive search on random inputs over a small alphabet', () => {
    const rng = seeded(7);
    const word = (len: number) => rng.text('abc', len);
    for (let round = 0; round < 200; round++) {
      const patterns = [...new Set(Array.from({ length: 1 + rng.int(12) }, () => word(1 + rng.int(6))))];
      const input = word(rng.int(80));
      expect(matches(patterns, input)).toEqual(naive(patterns, input));
    }
  });

  it('agrees with a naive search when the pattern set is large enough to use sparse states', () => {
    const rng = seeded(11);
    const word = (len: number) => rng.text('abcdefgh', len);
    const patterns = [...new Set(Array.from({ length: 3000 }, () => word(4 + rng.int(8))))];
    const input = word(20000);
    // The JavaScript loop's budget, as for thousands of secret forms (short patterns: no cut).
    const options = { denseEntries: 9 * 500 };
    expect(buildAhoCorasick(patterns, options).loop).toBe('sparse');
    expect(matches(patterns, input, options)).toEqual(naive(patterns, input));
  });

  it('agrees with a naive search when shallow states outnumber the dense-table cap', () => {
    const rng = seeded(13);
    const alphabet = Array.from({ length: 160 }, (_, i) => String.fromCharCode(0x100 + i));
    const word = (len: number) => rng.text(alphabet, len);
    const patterns = [...new Set(Array.from({ length: 20000 }, () => word(2 + rng.int(4))))];
    const input = word(30000);
    const options = { denseEntries: 161 * 100 };
    expect(buildAhoCorasick(patterns, options).loop).toBe('sparse');
    expect(matches(patterns, input, options)).toEqual(naive(patterns, input));
  });

  it('ignores characters that occur in no pattern', () => {
    expect(matches(['abc'], 'xxabc-abc ab c')).toEqual(['abc@5', 'abc@9']);
  });

  it('scans only the requested range', () => {
    expect(matches(['abc'], 'abc')).toEqual(['abc@3']);
    const found: number[] = [];
    buildAhoCorasick(['abc']).scan('abcabc', 1, 6, (_p, end) => found.push(end));
    expect(found).toEqual([6]);
  });

  it('returns how much of the tail could still become a match', () => {
    const ac = buildAhoCorasick(['secret-value', 'other']);
    expect(ac.scan('xx secr', 0, 7, () => {})).toBe(4);
    expect(ac.scan('nothing here', 0, 12, () => {})).toBe(0);
  });

  it('does not hold back a tail that completed a pattern and cannot grow', () => {
    expect(buildAhoCorasick(['abc']).scan('xabc', 0, 4, () => {})).toBe(0);
  });

  it('handles an empty pattern set', () => {
    const ac = buildAhoCorasick([]);
    expect(ac.longest).toBe(0);
    expect(ac.scan('anything', 0, 8, () => {})).toBe(0);
  });

  it('matches non-ASCII patterns by UTF-16 code unit', () => {
    expect(matches(['pässwört'], 'my pässwört!')).toEqual(['pässwört@11']);
  });

  it('matches ASCII letters in either case with foldCase, reporting the first of patterns equal when folded', () => {
    const patterns = ['Token', 'TOKEN', 'key='];
    const found: string[] = [];
    const input = 'tOkEn KEY= token';
    buildAhoCorasick(patterns, { foldCase: true }).scan(input, 0, input.length, (p, end) =>
      found.push(`${p}@${end}`),
    );
    expect(found).toEqual(['0@5', '2@10', '0@16']);
  });

  it('agrees with a case-insensitive naive search on random mixed-case inputs', () => {
    const rng = seeded(17);
    const word = (len: number) => rng.text('aAbB-c', len);
    for (let round = 0; round < 200; round++) {
      const patterns = [...new Set(Array.from({ length: 1 + rng.int(12) }, () => word(1 + rng.int(6))))];
      const input = word(rng.int(80));
      const found = new Set<string>();
      buildAhoCorasick(patterns, { foldCase: true }).scan(input, 0, input.length, (p, end) =>
        found.add(`${patterns[p]!.toLowerCase()}@${end}`),
      );
      expect([...found].sort()).toEqual(
        naive(
          patterns.map((p) => p.toLowerCase()),
          input.toLowerCase(),
        ),
      );
    }
  });
});
