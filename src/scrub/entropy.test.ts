import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { entropyIn, lastValueAscii, sampleEntropy, sampleEntropyIn, shannonEntropy } from './entropy.js';

describe('shannonEntropy', () => {
  it('is 0 for an empty string and for a repeated character', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaaaaaa')).toBe(0);
  });

  it('is log2(n) for n equally frequent characters', () => {
    expect(shannonEntropy('abcd')).toBeCloseTo(2);
    expect(shannonEntropy('0123456789abcdef')).toBeCloseTo(4);
  });

  it('ranks a random token above a placeholder', () => {
    expect(shannonEntropy('q8Zr2LkP0vXw7Ty')).toBeGreaterThan(shannonEntropy('changemechangeme'));
  });
});

describe('sampleEntropy', () => {
  it('measures only the first 64 characters', () => {
    expect(sampleEntropy(`${'a'.repeat(64)}0123456789abcdef`)).toBe(0);
  });
});

describe('shannonEntropy with its table of terms', () => {
  /** The computation before the table: a `Math.log2` per distinct character. */
  function reference(value: string): number {
    const counts = new Map<number, number>();
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    const n = value.length;
    let bits = 0;
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const code = value.charCodeAt(i);
      if (code >= 128 || seen.has(code)) continue;
      seen.add(code);
      const count = counts.get(code)!;
      bits -= (count / n) * Math.log2(count / n);
    }
    for (const [code, count] of counts) if (code >= 128) bits -= (count / n) * Math.log2(count / n);
    return bits;
  }

  it('gives the same value to the last bit as the direct computation, at every length to 80', () => {
    const rng = seeded(7);
    const everyAscii = String.fromCharCode(...Array.from({ length: 128 }, (_, code) => code));
    const alphabets = [
      'ab',
      'abcdefgh',
      'aB3_-x',
      'abcdefghijklmnopqrstuvwxyz0123456789',
      'aé中\u{1F600}b',
      everyAscii,
      `${everyAscii}éΩ`,
    ];
    for (let length = 0; length <= 80; length++) {
      for (const alphabet of alphabets) {
        for (let k = 0; k < 20; k++) {
          let value = rng.text(alphabet, length);
          value = value.slice(0, length);
          expect(shannonEntropy(value)).toBe(reference(value));
        }
      }
    }
    // Every ASCII character, then each again: all 128 distinct before the first repeat.
    const twice = `${everyAscii}${everyAscii}abc`;
    expect(shannonEntropy(twice)).toBe(reference(twice));
    // Exactly at a gate's threshold: 8 characters equally frequent are 3 bits.
    expect(shannonEntropy('abcdefgh'.repeat(4))).toBe(3);
  });
});

describe('lastValueAscii', () => {
  it('says whether the last value measured, or its sample, was all ASCII', () => {
    shannonEntropy('abc');
    expect(lastValueAscii()).toBe(true);
    shannonEntropy('abé');
    expect(lastValueAscii()).toBe(false);
    shannonEntropy('');
    expect(lastValueAscii()).toBe(true);
    sampleEntropy(`${'a'.repeat(64)}中`);
    expect(lastValueAscii()).toBe(true);
    sampleEntropy(`${'a'.repeat(63)}中`);
    expect(lastValueAscii()).toBe(false);
  });
});

describe('entropyIn and sampleEntropyIn', () => {
  it('equal shannonEntropy and sampleEntropy of the slice, to the last bit, and set lastValueAscii alike', () => {
    const rng = seeded(5);
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=é中😀';
    let text = '';
    while (text.length < 20_000) text += alphabet[rng.int(rng.int(4) === 0 ? alphabet.length : 10)];
    for (let k = 0; k < 3000; k++) {
      const from = rng.int(text.length);
      const to = Math.min(text.length, from + rng.int(k % 7 === 0 ? 400 : 80));
      const slice = text.slice(from, to);
      const inPlace = entropyIn(text, from, to);
      const inPlaceAscii = lastValueAscii();
      expect(inPlace).toBe(shannonEntropy(slice));
      expect(inPlaceAscii).toBe(lastValueAscii());
      const sampled = sampleEntropyIn(text, from, to);
      const sampledAscii = lastValueAscii();
      expect(sampled).toBe(sampleEntropy(slice));
      expect(sampledAscii).toBe(lastValueAscii());
    }
  });
});
