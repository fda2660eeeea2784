import { describe, expect, it } from 'vitest';
import { precutResult } from '../inspect/precut.js';
import { worthCutting } from './large-messages.js';

/** A tools/call answer whose one text is `text`, as an upstream would send it. */
const answer = (text: string) =>
  Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text }] } }));

describe('which large messages go to a worker to be cut', () => {
  // Every kind of character a JSON text can hold, by its cost in bytes: 1, 2, 3 and 4 (a surrogate
  // pair, two UTF-16 characters), and escapes (2 and 6 bytes for one character).
  const texts = {
    ascii: 'x'.repeat(5000),
    twoByte: 'é'.repeat(5000),
    threeByte: '€'.repeat(5000),
    fourByte: '😀'.repeat(5000),
    escaped: '\n\u0001"\\'.repeat(2000),
    mixed: 'aé€😀\n'.repeat(1000),
  };
  for (const [kind, text] of Object.entries(texts)) {
    it(`never skips a message whose ${kind} text the cut would shorten`, () => {
      const bytes = answer(text);
      // The largest budget the message is not sent for: the worker would have given it back whole.
      const skipped = bytes.length - 1;
      expect(worthCutting(bytes.length, skipped, 0)).toBe(false);
      const result = JSON.parse(bytes.toString('utf8')).result;
      expect(precutResult(result, skipped)).toBe(result);
      // One byte less of budget and it is sent.
      expect(worthCutting(bytes.length, skipped - 1, 0)).toBe(true);
    });
  }

  it('keeps messages at or under the threshold on the main thread', () => {
    expect(worthCutting(256 * 1024, 1024)).toBe(false);
    expect(worthCutting(256 * 1024 + 1, 1024)).toBe(true);
  });

  it('sends a message over the threshold only when it is longer than its budget', () => {
    const MB = 1024 * 1024;
    expect(worthCutting(4 * MB, 8 * MB)).toBe(false);
    expect(worthCutting(9 * MB, 256 * 1024)).toBe(true);
  });
});
