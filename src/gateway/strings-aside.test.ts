import { describe, expect, it } from 'vitest';
import { ASIDE_MIN, StringsAside, writtenAsIs } from './strings-aside.js';

const long = (unit: string, size = ASIDE_MIN + 7) =>
  unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

/** A tools/call answer as the SDK frames it, around `result`. */
const answer = (result: unknown, id: number | string = 7) => ({ result, jsonrpc: '2.0', id });

/** What the agent receives: the SDK's `JSON.stringify` of what it was given, markers filled in. */
function sent(aside: StringsAside, message: unknown): { bytes: Buffer; text: string } {
  const body = JSON.stringify(message);
  const bytes = aside.bytes(body, (size) => Buffer.allocUnsafeSlow(size)) ?? Buffer.from(body, 'utf8');
  return { bytes, text: aside.text(body) };
}

const texts: [string, string][] = [
  ['ASCII', long('the quick brown fox 0123456789 ')],
  ['Latin-1', long('café señor ')],
  ['two-byte and astral characters', long('日本語 😀 ')],
  ['a base64 run', long('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=')],
  ['a quote in it', `${long('a')}"`],
  ['a backslash in it', `\\${long('a')}`],
  ['a line feed in it', long('line\n')],
  ['a control character in it', `${long('a')}\u0001`],
  ['a lone surrogate in it', `${long('a')}\ud800`],
  ['DEL and U+2028', long('\u007f\u2028 ')],
  ['short', 'short text'],
];

describe('strings put aside from an answer', () => {
  it.each(texts)('sends byte for byte what the SDK would: %s', (_, text) => {
    const aside = new StringsAside();
    const result = {
      content: [
        { type: 'text', text },
        { type: 'image', data: long('iVBORw0KGgo'), mimeType: 'image/png' },
      ],
      structuredContent: { rows: [text, { note: text }], n: 3 },
    };
    const message = answer(aside.put(result));
    expect(aside.size).toBeGreaterThan(0);
    const expected = JSON.stringify(answer(result));
    const { bytes, text: spliced } = sent(aside, message);
    expect(bytes.equals(Buffer.from(expected, 'utf8'))).toBe(true);
    expect(spliced).toBe(expected);
  });

  it('puts aside only long strings JSON writes as they are', () => {
    expect(writtenAsIs(long('plain text '))).toBe(true);
    for (const text of [`${long('a')}"`, `${long('a')}\\`, `${long('a')}\t`, `${long('a')}\udc00`])
      expect(writtenAsIs(text)).toBe(false);
    const aside = new StringsAside();
    const result = {
      content: [
        { type: 'text', text: long('a', ASIDE_MIN - 1) },
        { type: 'text', text: `${long('b')}"` },
      ],
    };
    expect(aside.put(result)).toBe(result);
    expect(aside.size).toBe(0);
  });

  it('leaves the value it was given as it was, even frozen', () => {
    const text = long('x');
    const result = Object.freeze({ content: Object.freeze([Object.freeze({ type: 'text', text })]) });
    const aside = new StringsAside();
    const put = aside.put(result);
    expect(put).not.toBe(result);
    expect(result.content[0]?.text).toBe(text);
    expect((put as typeof result).content[0]?.text).not.toBe(text);
    expect((put as typeof result).content[0]?.text).toMatch(/^[A-Za-z0-9]+$/);
    expect(((put as typeof result).content[0]?.text.length ?? 0) % 4).toBe(0);
  });

  it('fills in the answers of a batch, each its own', () => {
    const aside = new StringsAside();
    const first = { content: [{ type: 'text', text: long('first ') }] };
    const second = { content: [{ type: 'text', text: long('second ') }] };
    const batch = [answer(aside.put(first), 1), answer(aside.put(second), 2)];
    const expected = JSON.stringify([answer(first, 1), answer(second, 2)]);
    expect(sent(aside, batch).bytes.toString('utf8')).toBe(expected);
  });

  it("does not fill in a marker of another request's answer that an upstream wrote", () => {
    const other = new StringsAside();
    const forged = other.put({ content: [{ type: 'text', text: long('secret ') }] }).content[0]
      ?.text as string;
    const aside = new StringsAside();
    const result = {
      content: [
        { type: 'text', text: `see ${forged}` },
        { type: 'text', text: long('mine ') },
      ],
    };
    const expected = JSON.stringify(answer(result));
    expect(sent(aside, answer(aside.put(result))).text).toBe(expected);
  });

  it('writes nothing when the SDK answered without the markers (an error in their place)', () => {
    const aside = new StringsAside();
    aside.put({ content: [{ type: 'text', text: long('x') }] });
    const error = JSON.stringify({ jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'failed' } });
    expect(aside.bytes(error, (size) => Buffer.allocUnsafeSlow(size))).toBeUndefined();
    expect(aside.text(error)).toBe(error);
  });
});
