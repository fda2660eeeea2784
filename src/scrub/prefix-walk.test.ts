/**
 * The prefix loop (prefix-walk.ts): an automaton too large to be all dense, scanned as its
 * patterns cut at a depth with the rest followed in the trie, must report exactly what the
 * all-dense and sparse loops report, in the same order, and hold back the same tail.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { type AhoCorasick, buildAhoCorasick } from './aho-corasick.js';
import { MIN_CUT_DEPTH } from './prefix-walk.js';

/** Long patterns over a small alphabet, as secret forms are: shared heads, long tails. */
function longPatterns(seed: number, count: number) {
  const rng = seeded(seed);
  const word = (len: number) => rng.text('abcdefgh', len);
  const patterns = [...new Set(Array.from({ length: count }, () => word(14 + rng.int(30))))];
  // Short ones too (rule anchors), and patterns that are heads of others.
  patterns.push('ab', 'cde', patterns[0]!.slice(0, 20), patterns[1]!.slice(0, 13));
  return { rng, word, patterns };
}

/** Built to take the prefix loop: the smallest dense budget (in rows) that holds enough levels. */
function prefixAutomaton(patterns: string[]): AhoCorasick {
  for (let rows = 100; rows < 5_000; rows += 50) {
    const ac = buildAhoCorasick(patterns, { denseEntries: 9 * 50, wasmEntries: 9 * rows });
    if (ac.loop === 'prefix') return ac;
  }
  throw new Error('no dense budget gives the prefix loop');
}

/** Built as the automata of secrets added at run time are: cut at MIN_CUT_DEPTH, the table roomy. */
function shallowCut(patterns: string[]): AhoCorasick {
  return buildAhoCorasick(patterns, { wasmEntries: 1 << 20, maxCut: MIN_CUT_DEPTH });
}

function run(ac: AhoCorasick, input: string, from = 0, to = input.length) {
  const found: [number, number][] = [];
  const hold = ac.scan(input, from, to, (p, end) => found.push([p, end]));
  return { found, hold };
}

/** The same matches as a set (order among equal ends is not specified). */
const sorted = (found: [number, number][]) =>
  found.map(([p, e]) => `${e}:${p}`).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

describe('the prefix loop', () => {
  it('is chosen when the dense budget holds the first levels but not the whole automaton', () => {
    const { patterns } = longPatterns(3, 60);
    expect(buildAhoCorasick(patterns).loop).toBe('dense');
    expect(prefixAutomaton(patterns).loop).toBe('prefix');
    expect(buildAhoCorasick(patterns, { wasmEntries: 9 * 100 }).loop).toBe('sparse');
    // Only an automaton built once takes it (wasmEntries): one rebuilt on additions is sparse.
    expect(buildAhoCorasick(patterns, { denseEntries: 9 * 700 }).loop).toBe('sparse');
  });

  it('is cut at maxCut when the automaton is deeper, however roomy its table', () => {
    const { patterns } = longPatterns(3, 60);
    expect(shallowCut(patterns).loop).toBe('prefix');
    // No deeper than the cut: all dense.
    const short = patterns.map((p) => p.slice(0, MIN_CUT_DEPTH));
    expect(shallowCut(short).loop).toBe('dense');
  });
});

describe.each([
  ['cut as deep as its table allows', prefixAutomaton],
  ['cut at MIN_CUT_DEPTH (maxCut)', shallowCut],
])('the prefix loop, %s,', (_, cutAutomaton) => {
  it('reports exactly what the all-dense loop reports, on text full of pattern heads', () => {
    const { rng, word, patterns } = longPatterns(5, 60);
    const dense = buildAhoCorasick(patterns);
    const prefix = cutAutomaton(patterns);
    for (let round = 0; round < 60; round++) {
      const parts: string[] = [];
      for (let k = 0; k < 40; k++) {
        const p = rng.pick(patterns);
        // Whole patterns, their heads cut anywhere, and noise between them.
        parts.push(rng.int(3) === 0 ? p : p.slice(0, rng.int(p.length + 1)), word(rng.int(6)));
      }
      const input = parts.join('');
      expect(sorted(run(prefix, input).found)).toEqual(sorted(run(dense, input).found));
    }
  });

  it('reports matches in order of end, as the other loops do', () => {
    const { rng, patterns } = longPatterns(7, 60);
    const prefix = cutAutomaton(patterns);
    const input = rng.text(patterns, 200);
    const ends = run(prefix, input).found.map(([, e]) => e);
    expect(ends.length).toBeGreaterThan(200);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
  });

  it('holds back the same tail as the all-dense loop when the text ends inside a pattern', () => {
    const { rng, word, patterns } = longPatterns(9, 60);
    const dense = buildAhoCorasick(patterns);
    const prefix = cutAutomaton(patterns);
    for (let round = 0; round < 300; round++) {
      const p = rng.pick(patterns);
      const input = word(rng.int(20)) + p.slice(0, 1 + rng.int(p.length - 1));
      expect(run(prefix, input).hold).toBe(run(dense, input).hold);
    }
  });

  it('scans only the requested range', () => {
    const { patterns } = longPatterns(11, 60);
    const prefix = cutAutomaton(patterns);
    const p = patterns[0]!;
    const input = `${p}${p}${p}`;
    const ends = run(prefix, input, p.length, 2 * p.length).found.map(([, e]) => e);
    expect(ends).toContain(2 * p.length);
    expect(ends.every((e) => e > p.length && e <= 2 * p.length)).toBe(true);
  });

  it('stays exact past its walk budget: a flood of one long pattern’s head', () => {
    // A pattern of one repeated letter: every position of the flood starts a walk of its length.
    const patterns = [...longPatterns(13, 60).patterns, 'a'.repeat(40), `${'a'.repeat(30)}b`];
    const dense = buildAhoCorasick(patterns);
    const prefix = cutAutomaton(patterns);
    for (const input of ['a'.repeat(60_000), `${'a'.repeat(30_000)}b${'a'.repeat(30_000)}`]) {
      const a = run(prefix, input);
      const b = run(dense, input);
      expect(a.found).toEqual(b.found);
      expect(a.hold).toBe(b.hold);
    }
  });
});
