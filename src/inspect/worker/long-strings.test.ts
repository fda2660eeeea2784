import { describe, expect, it } from 'vitest';
import { precutResult } from '../precut.js';
import { cutLongStrings, LONG_STRING } from './long-strings.js';
import { cutLargeMessage } from './parse.js';

/** What the full parse makes of a message: precut.ts on its result, or undefined when nothing is cut. */
function reference(message: { result?: unknown }, maxBytes: number): string | undefined {
  const cut = precutResult(message.result, maxBytes);
  return cut === message.result ? undefined : JSON.stringify({ ...message, result: cut });
}

const big = (unit: string) => unit.repeat(Math.ceil((LONG_STRING * 2) / Buffer.byteLength(unit)));
const msg = (result: unknown) => ({ jsonrpc: '2.0', id: 9, result });
const text = (t: string) => msg({ content: [{ type: 'text', text: t }] });

describe('cutting long texts without parsing the whole message', () => {
  const cases: [string, { result?: unknown }, number, 'fast' | 'declines'][] = [
    ['one long ASCII text', text(big('x')), 1000, 'fast'],
    ['two-byte characters', text(big('é')), 1000, 'fast'],
    ['three-byte characters', text(big('€')), 1001, 'fast'],
    ['surrogate pairs, one split by the cut', text(`a${big('😀')}`), 1001, 'fast'],
    ['mixed characters', text(big('aé€😀')), 4099, 'fast'],
    ['a long text within the budget', text(big('x')), 10 * LONG_STRING, 'fast'],
    ['a long text just over the budget', text('y'.repeat(LONG_STRING + 10)), LONG_STRING + 8, 'fast'],
    [
      'a long text one character within the budget',
      text('y'.repeat(LONG_STRING + 10)),
      LONG_STRING + 9,
      'fast',
    ],
    [
      'two long texts and a short one, with _meta and isError',
      msg({
        content: [
          { type: 'text', text: big('a') },
          { type: 'text', text: 'short' },
          { type: 'text', text: big('b') },
        ],
        isError: false,
        _meta: { k: 'v' },
      }),
      500,
      'fast',
    ],
    [
      'a long resource text',
      msg({ content: [{ type: 'resource', resource: { uri: 'file:///x', text: big('r') } }] }),
      700,
      'fast',
    ],
    ['a long text with escapes', text(`${big('x')}\n"\\${big('z')}`), 1000, 'declines'],
    [
      'a long string in structured content beside a long text',
      msg({ content: [{ type: 'text', text: big('t') }], structuredContent: { blob: big('s') } }),
      1000,
      'declines',
    ],
    [
      'a text over the budget beside a long resource text (precut cuts only the text)',
      msg({
        content: [{ type: 'resource', text: 'q'.repeat(2000), resource: { uri: 'u', text: big('r') } }],
      }),
      1000,
      'declines',
    ],
    [
      'a long image, not a text',
      msg({ content: [{ type: 'image', data: big('A'), mimeType: 'image/png' }] }),
      10,
      'declines',
    ],
    ['a text that looks like a placeholder', text(`bulkhead-long-00-0${big('p')}`), 100, 'fast'],
    // Every quote found is escaped: the searches run out long before the text does.
    ['a long text of escaped quotes', text('"'.repeat(100_000)), 100, 'declines'],
    [
      'many short strings beside a long text',
      msg({
        content: [{ type: 'text', text: big('m') }],
        structuredContent: { list: Array(30_000).fill('s') },
      }),
      100,
      'declines',
    ],
  ];

  for (const [name, message, maxBytes, path] of cases) {
    it(`gives what the full parse gives: ${name}`, () => {
      const bytes = Buffer.from(JSON.stringify(message));
      const fast = cutLongStrings(bytes, 0, bytes.length, maxBytes);
      if (path === 'declines') expect(fast).toBeUndefined();
      else expect(fast).not.toBeUndefined();
      const expected = reference(message, maxBytes);
      expect(cutLargeMessage(bytes, 'json', maxBytes)).toBe(expected);
      expect(cutLargeMessage(Buffer.concat([bytes, Buffer.from('\n')]), 'line', maxBytes)).toBe(
        expected === undefined ? undefined : `${expected}\n`,
      );
      const event = Buffer.from(`id: 4\nevent: message\ndata: ${bytes.toString()}\n\n`);
      expect(cutLargeMessage(event, 'sse', maxBytes)).toBe(
        expected === undefined ? undefined : `id: 4\nevent: message\ndata: ${expected}\n\n`,
      );
    });
  }

  it('reports the original byte count of a cut text', () => {
    const t = big('€');
    const bytes = Buffer.from(JSON.stringify(text(t)));
    const cut = JSON.parse(cutLongStrings(bytes, 0, bytes.length, 100) as string) as {
      result: { content: { text: string }[]; _meta: Record<string, { sizes: Record<string, number> }> };
    };
    expect(cut.result.content[0]?.text).toBe('€'.repeat(101));
    expect(cut.result._meta['bulkhead/precut']?.sizes['content[0]']).toBe(Buffer.byteLength(t));
  });

  it('declines what is not a JSON-RPC result, and malformed JSON', () => {
    const notResult = Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'x', params: { t: big('x') } }));
    expect(cutLongStrings(notResult, 0, notResult.length, 10)).toBeUndefined();
    const broken = Buffer.from(`{"result":{"content":[{"type":"text","text":"${big('x')}"}]`);
    expect(cutLongStrings(broken, 0, broken.length, 10)).toBeUndefined();
    expect(cutLargeMessage(broken, 'json', 10)).toBeUndefined();
    const unterminated = Buffer.from(`{"result":{"content":[{"type":"text","text":"${big('x')}`);
    expect(cutLongStrings(unterminated, 0, unterminated.length, 10)).toBeUndefined();
  });

  it('leaves an SSE event with two data lines to the full parse', () => {
    const json = JSON.stringify(text(big('x')));
    // Split between two members: the full parse joins the lines with a newline, which JSON allows there.
    const half = json.indexOf('"result"');
    const event = Buffer.from(`data: ${json.slice(0, half)}\ndata: ${json.slice(half)}\n\n`);
    const expected = reference(JSON.parse(json) as { result?: unknown }, 1000);
    expect(expected).toBeDefined();
    expect(cutLargeMessage(event, 'sse', 1000)).toBe(`data: ${expected}\n\n`);
  });
});
