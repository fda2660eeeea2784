import { describe, expect, it } from 'vitest';
import { codeUnits } from './code-units.js';

const units = (text: string) => Array.from({ length: text.length }, (_, k) => text.charCodeAt(k));

describe('codeUnits', () => {
  it('gives every UTF-16 code unit, lone surrogates and characters beyond Latin-1 included', () => {
    const text = 'a\u00e9\u20ac\ud83d\ude00\ud800x\udfff"';
    expect(Array.from(codeUnits(text))).toEqual(units(text));
  });

  it('gives the new text after another of the same length, and again after a longer one', () => {
    const a = `${'x'.repeat(5000)}A`;
    const b = `${'x'.repeat(5000)}B`;
    expect(codeUnits(a)[5000]).toBe(65);
    expect(codeUnits(b)[5000]).toBe(66);
    const long = 'y'.repeat((1 << 20) + 3);
    const all = codeUnits(long);
    expect(all.length).toBe(long.length);
    expect(all[long.length - 1]).toBe(121);
    expect(Array.from(codeUnits('short'))).toEqual(units('short'));
    expect(codeUnits(a)[5000]).toBe(65);
  });

  it('gives the units of an equal text in another string, and of a different text after it', () => {
    const text = `${'digits 0123456789 '.repeat(400)}A`;
    const copy = JSON.parse(JSON.stringify(text)) as string;
    expect(Array.from(codeUnits(text))).toEqual(units(text));
    expect(Array.from(codeUnits(copy))).toEqual(units(text));
    const other = `${text.slice(0, -1)}B`;
    expect(codeUnits(other)[other.length - 1]).toBe(66);
    expect(codeUnits(copy)[copy.length - 1]).toBe(65);
  });
});
