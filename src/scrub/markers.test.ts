import { describe, expect, it } from 'vitest';
import { redactionCounts } from './markers.js';

describe('redactionCounts', () => {
  it('counts the markers a scrub added, by rule, at any depth', () => {
    const before = { content: [{ type: 'text', text: 'key sk-1 and sk-2' }], meta: { a: ['ghp_x'] } };
    const after = {
      content: [{ type: 'text', text: 'key [REDACTED:openai] and [REDACTED:openai]' }],
      meta: { a: ['[REDACTED:github-pat]'] },
    };
    expect(redactionCounts(before, after)).toEqual({ openai: 2, 'github-pat': 1 });
  });

  it('does not count markers the upstream printed itself', () => {
    const before = { text: 'already [REDACTED:openai] here, and sk-1' };
    const after = { text: 'already [REDACTED:openai] here, and [REDACTED:openai]' };
    expect(redactionCounts(before, after)).toEqual({ openai: 1 });
  });

  it('counts markers in object keys as well as values', () => {
    expect(redactionCounts({ 'sk-1': 1 }, { '[REDACTED:openai]': 1 })).toEqual({ openai: 1 });
  });

  it('finds nothing in a result without markers', () => {
    expect(redactionCounts({ text: 'x'.repeat(1000) }, { text: 'x'.repeat(1000) })).toEqual({});
  });
});
