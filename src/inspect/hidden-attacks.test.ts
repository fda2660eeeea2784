/**
 * Hidden characters as a class, not a list: every code point Unicode marks
 * Default_Ignorable_Code_Point (renders as nothing) or Cf (format control),
 * and every C0/C1 control but tab and newline, is removed; the spelled-out
 * ranges in hidden.ts are checked here against the property classes of this
 * Node's Unicode tables, one code point at a time.
 */
import { describe, expect, it } from 'vitest';
import { stripHidden } from './hidden.js';

const CLASS = /[\p{Default_Ignorable_Code_Point}\p{Cf}]/u;

function inClass(cp: number): boolean {
  const control = (cp <= 0x1f && cp !== 0x09 && cp !== 0x0a) || (cp >= 0x7f && cp <= 0x9f);
  return control || CLASS.test(String.fromCodePoint(cp));
}

describe('stripHidden removes the whole class', () => {
  // Between digits: after ESC or 8-bit CSI a letter would be taken as the sequence's final byte.
  it('removes every default-ignorable, format and control code point between two digits', () => {
    const missed: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (!inClass(cp)) continue;
      const ch = String.fromCodePoint(cp);
      if (stripHidden(`1${ch}2`).text !== '12') missed.push(cp.toString(16));
    }
    expect(missed).toEqual([]);
  });

  it('leaves every other code point of the BMP and plane 1 as it was', () => {
    const touched: string[] = [];
    for (let cp = 0x20; cp <= 0x1ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (inClass(cp)) continue;
      const text = `a${String.fromCodePoint(cp)}b`;
      if (stripHidden(text).text !== text) touched.push(cp.toString(16));
    }
    expect(touched).toEqual([]);
  });

  it('keeps tab, newline and an emoji presentation selector', () => {
    expect(stripHidden('a\tb\nc ❤\uFE0F').text).toBe('a\tb\nc ❤\uFE0F');
  });
});

describe('lone surrogates', () => {
  // Not characters at all: a client that drops them (a lenient UTF-8 encoder, `errors="ignore"`)
  // joins what they split, so the scrubber must see the text joined.
  it.each([
    ['a lone high surrogate', 'ab\uD800cd'],
    ['a lone low surrogate', 'ab\uDC00cd'],
    ['a reversed pair', 'ab\uDC00\uD800cd'],
    ['a high surrogate at the end', 'abcd\uDBFF'],
    ['a low surrogate at the start', '\uDFFFabcd'],
  ])('removes %s and counts it as hidden', (_name, text) => {
    const cleaned = stripHidden(text);
    expect(cleaned.text).toBe('abcd');
    expect(cleaned.hidden).toBeGreaterThan(0);
  });

  it('keeps well-formed pairs (emoji, astral letters) as they are', () => {
    const text = 'ok 😀 𝄞 𐐷';
    expect(stripHidden(text)).toMatchObject({ text, hidden: 0 });
  });
});
