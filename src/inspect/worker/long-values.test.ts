import { describe, expect, it } from 'vitest';
import { LONG_VALUE, restoreLongStrings, stowLongStrings } from './long-values.js';
import { sameData } from './same-data.js';

const long = (unit: string) => unit.repeat(Math.ceil(LONG_VALUE / unit.length) + 3);

/** What the worker rebuilds from a stowed value: the shape cloned as a port would, strings put back. */
function travel<T>(value: T): T {
  const stowed = stowLongStrings(value);
  if (!stowed) throw new Error('not stowed');
  const bytes = new Uint8Array(new SharedArrayBuffer(stowed.size + 7), 0, stowed.size);
  stowed.write(bytes);
  return restoreLongStrings(structuredClone(stowed.shape), stowed.strings, bytes);
}

describe('long strings travel to a worker as bytes, exactly', () => {
  const texts: [string, string][] = [
    ['ASCII', long('plain ascii text, ')],
    ['Latin-1 accents', long('café crème ')],
    ['emoji (surrogate pairs)', long('😀 ok ')],
    ['a lone high surrogate', `${long('a')}\ud800`],
    ['a lone low surrogate at the start', `\udc00${long('b')}`],
    ['control characters and NUL', long('\u0000\u001b[2J\u200b')],
    ['an odd number of bytes in UTF-8', long('é')],
  ];

  for (const [name, text] of texts) {
    it(`gives back ${name} unchanged, as data and as JSON`, () => {
      const value = { content: [{ type: 'text', text }], _meta: { note: text } };
      const back = travel(value);
      expect(back.content[0]?.text === text).toBe(true);
      expect(sameData(value, back)).toBe(true);
      expect(JSON.stringify(back)).toBe(JSON.stringify(value));
    });
  }

  it('keeps key order, short strings, numbers and literals where they were', () => {
    const value = {
      z: 1,
      content: [{ text: long('q'), type: 'text', annotations: { priority: -0.5, audience: ['user'] } }],
      a: null,
      b: false,
      structuredContent: { rows: [long('r'), 'short', long('s')] },
    };
    const back = travel(value);
    expect(Object.keys(back)).toEqual(['z', 'content', 'a', 'b', 'structuredContent']);
    expect(sameData(value, back)).toBe(true);
    expect(JSON.stringify(back)).toBe(JSON.stringify(value));
  });

  it('puts a string under a __proto__ key back as data, never as a prototype', () => {
    const value = JSON.parse(`{"__proto__":{"text":${JSON.stringify(long('p'))}}}`);
    const back = travel(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(JSON.stringify(back)).toBe(JSON.stringify(value));
  });

  it('stows nothing when no string is long, and declines what is not plain JSON data', () => {
    expect(stowLongStrings({ content: [{ type: 'text', text: 'short' }] })).toBeUndefined();
    expect(stowLongStrings({ at: new Date(0), text: long('d') })).toBeUndefined();
    expect(stowLongStrings({ m: new Map([['k', long('m')]]) })).toBeUndefined();
  });

  it('refuses a string with no place kept for it in the shape, rather than add a field', () => {
    const stowed = stowLongStrings({ content: [{ text: long('t') }] });
    if (!stowed) throw new Error('not stowed');
    const bytes = new Uint8Array(stowed.size);
    stowed.write(bytes);
    const strings = stowed.strings.map((s) => ({ ...s, path: ['content', 0, 'other'] }));
    expect(() => restoreLongStrings(structuredClone(stowed.shape), strings, bytes)).toThrow(RangeError);
  });
});
