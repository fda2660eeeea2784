import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript, without declarations
import { assemble } from '../../scripts/build-wasm.mjs';
import { seeded } from '../../test/helpers/seeded.js';
import {
  charCensus,
  HIDDEN_ASCII,
  JSON_LONG_ESCAPE,
  JSON_SHORT_ESCAPE,
  kindOf,
  NON_ASCII,
} from './char-census.js';
import { CENSUS_WASM_BASE64 } from './wasm/census-module.js';

/** Each bit as the regex it stands for. */
const MEANING: readonly [number, RegExp][] = [
  // biome-ignore lint/suspicious/noControlCharactersInRegex: controls are what the bit finds.
  [HIDDEN_ASCII, /[\x00-\x08\x0b-\x1f\x7f]/],
  // biome-ignore lint/suspicious/noControlCharactersInRegex: controls are what the bit finds.
  [JSON_LONG_ESCAPE, /[\x00-\x07\x0b\x0e-\x1f]/],
  [JSON_SHORT_ESCAPE, /["\\\b\t\n\f\r]/],
  [NON_ASCII, /[\x80-\uffff]/],
];

const byRegex = (text: string): number =>
  MEANING.reduce((flags, [bit, re]) => flags | (re.test(text) ? bit : 0), 0);

/** Every code unit the bits tell apart, and a few on either side of each border. */
const EDGES = [
  0, 1, 7, 8, 9, 10, 11, 12, 13, 14, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0x9f,
  0xa0, 0xad, 0xff, 0x100, 0x7fff, 0x8000, 0x8008, 0x800a, 0x8022, 0xd800, 0xdc00, 0xfeff, 0xffff,
];

describe('the character census', () => {
  it('is the module assembled from census.wat, byte for byte', async () => {
    const source = readFileSync(new URL('./wasm/census.wat', import.meta.url), 'utf8');
    expect(await assemble(source)).toBe(CENSUS_WASM_BASE64);
  });

  it('gives each code unit the bits of the regexes it stands for', () => {
    for (let c = 0; c < 0x10000; c++) expect(kindOf(c)).toBe(byRegex(String.fromCharCode(c)));
  });

  it('finds one code unit of each kind wherever it stands in a long text: in a vector, at a window’s edge, in the tail', () => {
    // Vectors are 8 units; windows 32,768; a text of 70,005 units ends in a partial vector.
    const places = [0, 3, 7, 8, 15, 32_767, 32_768, 32_775, 65_535, 65_536, 69_999, 70_000, 70_004];
    for (const c of EDGES) {
      for (const at of places) {
        const text = `${'a'.repeat(at)}${String.fromCharCode(c)}${'a'.repeat(70_004 - at)}`;
        expect(charCensus(text)).toBe(kindOf(c));
      }
    }
  });

  it('answers as the regexes do on random texts, short and long, one-byte and two-byte', () => {
    const rng = seeded(41);
    const alphabets = [
      'abc xyz\n',
      `abc\t"\\${String.fromCharCode(0x7f)}`,
      'abc\u0001\r\u00e9',
      'ab\u2028\u{1f600}',
    ];
    for (let round = 0; round < 200; round++) {
      const alphabet = rng.pick(alphabets);
      const length = rng.int(2) === 0 ? rng.int(3_000) : 2_000 + rng.int(80_000);
      // Mostly printable ASCII, a few units of another kind.
      let text = 'q'.repeat(length);
      for (let k = rng.int(4); k > 0; k--) {
        const at = rng.int(length + 1);
        text = text.slice(0, at) + rng.pick(alphabet) + text.slice(at);
      }
      expect(charCensus(text)).toBe(byRegex(text));
    }
  });

  it('answers a text asked again without reading it again, and a new text anew', () => {
    const plain = 'a'.repeat(100_000);
    expect(charCensus(plain)).toBe(0);
    expect(charCensus(plain)).toBe(0);
    const other = `${'a'.repeat(99_999)}\u0000`;
    expect(charCensus(other)).toBe(HIDDEN_ASCII | JSON_LONG_ESCAPE);
    expect(charCensus(plain)).toBe(0);
  });
});
