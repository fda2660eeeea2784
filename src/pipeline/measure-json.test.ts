import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { jsonStringBytes, measureJson, rememberMeasure } from './measure-json.js';

const exact = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('measureJson', () => {
  const long = (unit: string, n: number) => unit.repeat(n);
  const cases: [string, unknown][] = [
    ['a small result', [{ type: 'text', text: 'hello' }]],
    ['a megabyte of ASCII', [{ type: 'text', text: long('x', 1 << 20) }]],
    [
      'long text with quotes, backslashes and newlines',
      [{ type: 'text', text: long('a"b\\c\nd\u0001', 3000) }],
    ],
    ['long text with emoji and accents', [{ type: 'text', text: long('héllo 😀 ', 2000) }]],
    [
      'a lone surrogate deep in long text',
      [{ type: 'text', text: `${long('y', 9000)}\ud800${long('z', 10)}` }],
    ],
    [
      'a surrogate pair cut at the preview boundary',
      [{ type: 'text', text: `${long('q', 4096)}😀${long('r', 5000)}` }],
    ],
    [
      'several long strings and nested objects',
      [
        { type: 'resource', resource: { uri: long('u', 5000), text: long('t', 7000) } },
        { type: 'text', text: long('w', 4097) },
      ],
    ],
  ];
  for (const [name, value] of cases) {
    it(`gives the exact JSON size and the same preview as serialising whole: ${name}`, () => {
      const text = JSON.stringify(value);
      const measured = measureJson(value, 4096);
      expect(measured.bytes).toBe(exact(value));
      expect(measured.head).toBe(text.slice(0, 4096));
      expect(measured.whole).toBe(text.length <= 4096);
    });
  }

  it('measures a string with and without escapes exactly', () => {
    for (const s of ['plain', 'quote"', 'tab\t', 'é😀', 'lone\udc00', ''])
      expect(jsonStringBytes(s)).toBe(exact(s));
  });

  it('counts every escape exactly, on generated texts of every kind of character', () => {
    // Every control character, both escape forms, quotes, backslashes, multi-byte and astral
    // characters, lone surrogates; long runs and escapes at both ends.
    const alphabet = [
      ...Array.from({ length: 0x20 }, (_, c) => String.fromCharCode(c)),
      '"',
      '\\',
      '/',
      'a',
      ' ',
      'é',
      '€',
      '😀',
      '\u2028',
      '\ud800',
      '\udfff',
      '\u007f',
    ];
    const rng = seeded(7);
    for (let round = 0; round < 2000; round++) {
      // Most texts draw from a few characters only, so the common cases (line ends and quotes with
      // no other control character) come up as often as the rare ones.
      const pool = Array.from({ length: 1 + rng.int(4) }, () => rng.pick(alphabet));
      let text = '';
      const length = rng.int(round % 50 === 0 ? 20_000 : 40);
      for (let i = 0; i < length; i++) text += rng.int(3) === 0 ? rng.pick(pool) : 'x';
      expect(jsonStringBytes(text), JSON.stringify(text).slice(0, 80)).toBe(exact(text));
    }
  });
});

describe('rememberMeasure', () => {
  it('keeps a measure only for a frozen value, and only for the preview length it was taken at', () => {
    const measure = { bytes: 99, head: '[{"t', whole: false };
    expect(() => rememberMeasure([{ text: 'x' }], 4, measure)).toThrow(TypeError);
    const value = Object.freeze([Object.freeze({ text: 'x' })]);
    rememberMeasure(value, 4, measure);
    expect(measureJson(value, 4)).toBe(measure);
    expect(measureJson(value, 5)).toEqual({ bytes: 14, head: '[{"te', whole: false });
    // An equal value that was not measured is walked.
    expect(measureJson([{ text: 'x' }], 4).bytes).toBe(14);
  });
});
