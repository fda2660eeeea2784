import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without declarations
import { assemble } from '../../../scripts/build-wasm.mjs';
import { seeded } from '../../../test/helpers/seeded.js';
import { buildAhoCorasick } from '../aho-corasick.js';
import { SCAN_WASM_BASE64 } from './scan-module.js';

function found(patterns: string[], input: string, options = {}): string[] {
  const out: string[] = [];
  buildAhoCorasick(patterns, options).scan(input, 0, input.length, (p, end) =>
    out.push(`${patterns[p]}@${end}`),
  );
  return out.sort();
}

function naive(patterns: string[], input: string): string[] {
  const out = new Set<string>();
  for (const p of patterns) {
    for (let i = input.indexOf(p); i >= 0; i = input.indexOf(p, i + 1)) out.add(`${p}@${i + p.length}`);
  }
  return [...out].sort();
}

describe('the WebAssembly scan of a dense automaton', () => {
  it('is the module assembled from scan.wat, byte for byte', async () => {
    const source = readFileSync(new URL('./scan.wat', import.meta.url), 'utf8');
    expect(await assemble(source)).toBe(SCAN_WASM_BASE64);
  });

  it('finds a long pattern across the half of a window, where the second scan starts', () => {
    // Windows are 16,384 code units, scanned as two halves at once.
    const pattern = `${'x'.repeat(20)}secret-value-with-a-long-tail`;
    for (const at of [8_192 - 30, 8_192 - 1, 16_384 + 8_192 - 25]) {
      const input = `${'x'.repeat(at)}${pattern.slice(20)}${'.'.repeat(20_000)}`;
      expect(found([pattern], input)).toEqual([`${pattern}@${at + pattern.length - 20}`]);
    }
  });

  it('finds a pattern that straddles the boundary between two text windows', () => {
    // Windows are 16,384 code units: put the pattern across the first boundary and the second.
    for (const at of [16_382, 16_383, 32_760]) {
      const input = `${'.'.repeat(at)}secret-value${'.'.repeat(100)}`;
      expect(found(['secret-value'], input)).toEqual([`secret-value@${at + 12}`]);
    }
  });

  it('reports a match at every character of a window', () => {
    // The report buffers have room for one per character: they must not overflow or drop any.
    const input = 'ab'.repeat(20_000);
    const reports = found(['ab', 'b'], input);
    expect(reports).toHaveLength(40_000);
    expect(reports).toEqual(naive(['ab', 'b'], input));
  });

  it('matches characters beyond Latin-1 exactly, in patterns and in text', () => {
    // A character whose low byte is a pattern's ('Ŵ' is U+0174, 't' is U+0074) is not that character.
    const patterns = ['token', 'пароль', '密码=', '🔑key'];
    const input = `Ŵoken token пароль=x 密码=y ŵ🔑key 🔑kez`;
    expect(found(patterns, input)).toEqual(naive(patterns, input));
  });

  it('scans a range that starts and ends inside the text', () => {
    const patterns = ['abc'];
    const input = 'abc-abc-abc';
    const out: number[] = [];
    buildAhoCorasick(patterns).scan(input, 1, 10, (_p, end) => out.push(end));
    expect(out).toEqual([7]);
  });

  it('agrees with a naive search over random text longer than several windows', () => {
    const rng = seeded(5);
    const word = (len: number) => rng.text('abcdé', len);
    const patterns = [...new Set(Array.from({ length: 40 }, () => word(2 + rng.int(5))))];
    const input = word(100_000);
    expect(found(patterns, input)).toEqual(naive(patterns, input));
  });
});

describe('a released scan (its memory given to the next automaton built)', () => {
  it('throws when called again, rather than read another automaton’s tables', () => {
    const automaton = buildAhoCorasick(['alpha-secret-one']);
    expect(automaton.loop).toBe('dense');
    automaton.release();
    expect(() => automaton.scan('x alpha-secret-one', 0, 18, () => {})).toThrow(/released/);
  });

  it('leaves no class of the automaton before in that memory', () => {
    // `a`…`h` had classes 1…8 there, as `1`…`8` have in the next: read with the old classes,
    // `abcdefgh` would be `12345678`.
    const before = buildAhoCorasick(['abcdefgh']);
    before.release();
    const next = buildAhoCorasick(['12345678']);
    const out: number[] = [];
    next.scan('abcdefgh 12345678', 0, 17, (_, end) => out.push(end));
    expect(out).toEqual([17]);
  });

  it('leaves the next automaton finding exactly its own patterns in that memory', () => {
    const rng = seeded(41);
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    // A large automaton first (its memory grown, its class table full), then smaller ones that
    // take that memory: none may see a class or a row of one before it.
    let before = buildAhoCorasick(Array.from({ length: 300 }, () => rng.text(letters, 30)));
    for (let round = 0; round < 6; round++) {
      const patterns = Array.from({ length: 1 + rng.int(20) }, () => rng.text('0123456789ABCDEF-_.', 12));
      before.release();
      const next = buildAhoCorasick(patterns);
      expect(next.loop).toBe('dense');
      const input = Array.from({ length: 400 }, () =>
        rng.int(4) === 0 ? rng.pick(patterns) : rng.text(`${letters}0123456789`, 1 + rng.int(40)),
      ).join(' ');
      const out: string[] = [];
      next.scan(input, 0, input.length, (p, end) => out.push(`${patterns[p]}@${end}`));
      expect(out.sort()).toEqual(naive(patterns, input));
      before = next;
    }
  });
});
