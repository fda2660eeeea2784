import { describe, expect, it } from 'vitest';
import { strictUtf8Text } from './request-text.js';

/** A JSON body of about `size` bytes with `extra` in the middle of its text. */
function body(size: number, extra = ''): Buffer {
  const filler = 'a'.repeat(size);
  return Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: `${filler}${extra}${filler}` }] }));
}

describe('strictUtf8Text', () => {
  it('reads a large ASCII body as exactly its characters', () => {
    const bytes = body(150_000, '"quoted" \\ and \u0001');
    expect(strictUtf8Text(bytes)).toEqual({
      ok: true,
      text: bytes.toString('utf8'),
      bytes: bytes.byteLength,
    });
  });

  it('decodes a large body with one multi-byte character as UTF-8, not byte by byte', () => {
    const bytes = body(150_000, 'é€😀');
    const result = strictUtf8Text(bytes);
    expect(result.ok && result.text.includes('é€😀')).toBe(true);
    expect(result).toEqual({ ok: true, text: bytes.toString('utf8'), bytes: bytes.byteLength });
  });

  it('refuses a large body that is not UTF-8', () => {
    const bytes = body(150_000);
    bytes[200_000] = 0xc0;
    expect(strictUtf8Text(bytes)).toEqual({ ok: false, problem: 'not_utf8' });
  });

  it('drops a leading byte order mark, large or small', () => {
    for (const size of [10, 150_000]) {
      const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body(size)]);
      const result = strictUtf8Text(bytes);
      expect(result.ok && result.text.startsWith('{"messages"')).toBe(true);
    }
  });

  it('keeps its text when the buffer it read is written over after (a pooled buffer)', () => {
    const bytes = body(150_000);
    const result = strictUtf8Text(bytes);
    const expected = bytes.toString('utf8');
    bytes.fill(0x7a);
    expect(result.ok && result.text === expected).toBe(true);
  });
});
