import { describe, expect, it } from 'vitest';
import { jsonPieces, LONG_STRING, piecesToBytes } from './json-pieces.js';

/** Where a long string is cut (json-pieces.ts STRING_SLICE): the boundaries tests aim at. */
const SLICE = 32 * 1024;

/** A long string of `filler`, with `insert` placed so it straddles the first cut at `offset` from it. */
function around(filler: string, insert: string, offset: number): string {
  const head = filler.repeat(SLICE + offset);
  return `${head.slice(0, SLICE + offset)}${insert}${filler.repeat(LONG_STRING)}`;
}

const same = (value: unknown) => {
  expect(jsonPieces(value).join('')).toBe(JSON.stringify(value));
  expect(piecesToBytes(jsonPieces(value)).equals(Buffer.from(JSON.stringify(value), 'utf8'))).toBe(true);
};

describe('a long string serialised in slices', () => {
  it('joins to what JSON.stringify writes for plain ASCII', () => {
    same('x'.repeat(LONG_STRING));
    same('x'.repeat(5 * SLICE + 17));
  });

  it('joins to what JSON.stringify writes when escapes fall on every side of a cut', () => {
    for (const insert of ['"', '\\', '\n', '\u0000', '\u001f', '\r\n"\\'])
      for (let offset = -3; offset <= 3; offset++) same(around('a', insert, offset));
  });

  it('never splits a surrogate pair, wherever the pair falls against a cut', () => {
    for (let offset = -3; offset <= 3; offset++) same(around('b', '😀', offset));
    for (let offset = -3; offset <= 3; offset++) same(around('😀', '', offset));
  });

  it('escapes a lone surrogate at a cut as JSON.stringify does', () => {
    for (const lone of ['\ud800', '\udfff', '\udc00\ud800'])
      for (let offset = -2; offset <= 2; offset++) same(around('c', lone, offset));
  });

  it('joins to what JSON.stringify writes for multi-byte text', () => {
    same('żółw 🐢 中文 € '.repeat(LONG_STRING / 8));
  });

  it('joins to what JSON.stringify writes where a long string sits deep in a message', () => {
    const text = `${'line "one"\n'.repeat(LONG_STRING / 8)}😀`;
    same({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text }], isError: false } });
    same([[[[[text]]]]]);
    same({ a: { b: { c: { d: { e: text } } } }, key: text });
  });

  it('leaves short strings whole', () => {
    expect(jsonPieces('short "one"')).toEqual([JSON.stringify('short "one"')]);
  });
});
