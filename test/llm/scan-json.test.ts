/**
 * The body scan (nesting depth and non-finite numbers, before parsing) skips
 * the inside of strings with a native search for the next quote. It must see
 * exactly what reading every character sees: tried with escaped quotes after
 * runs of backslashes, brackets and numbers inside strings, unclosed strings,
 * and random JSON-like text built from those pieces.
 */
import { describe, expect, it } from 'vitest';
import { scanJson } from '../../src/llm/body.js';
import { seeded } from '../helpers/seeded.js';

/** The character-by-character scan, as it was. */
function reference(text: string): { depth: number; nonFinite: boolean } {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  let nonFinite = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 93 || c === 125) depth--;
    else if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      let exponent = false;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d === 101 || d === 69) exponent = true;
        else if (!((d >= 48 && d <= 57) || d === 46 || d === 43 || d === 45)) break;
      }
      if ((exponent || j - i > 300) && !Number.isFinite(Number(text.slice(i, j)))) nonFinite = true;
      i = j - 1;
    }
  }
  return { depth: deepest, nonFinite };
}

describe('the body scan', () => {
  it('skips strings exactly as reading every character does', () => {
    for (const text of [
      '{"a":"[[[{{{"}',
      '{"a":"\\"[[[","b":[[1]]}',
      '{"a":"\\\\"}[[[',
      '{"a":"\\\\\\"[[","b":1e400}',
      '{"a":"1e400 \\\\\\\\"}',
      '{"a":"x\\',
      '{"a":"unclosed [[[',
      '""[""]',
      '["\\"","\\\\",{"k":"\\\\\\\\\\""}]',
      '{"n":-1e400,"s":"{"}',
    ])
      expect(scanJson(text), text).toEqual(reference(text));
  });

  it('agrees with reading every character on random JSON-like text', () => {
    const pieces = [
      '"',
      '\\',
      '\\\\',
      '\\"',
      '[',
      ']',
      '{',
      '}',
      'a',
      ' ',
      ':',
      ',',
      '1e400',
      '-7',
      '2.5E+3',
      '9'.repeat(320),
    ];
    const rng = seeded(42);
    for (let round = 0; round < 3000; round++) {
      const text = rng.text(pieces, 1 + rng.int(40));
      expect(scanJson(text), text).toEqual(reference(text));
    }
  });
});
