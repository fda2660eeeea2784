/** The poisoning scan against a corpus written from published tool-poisoning patterns. */
import { describe, expect, it } from 'vitest';
import { findPoisoning } from '../../src/audit/poisoning.js';
import { POISONED } from './poisoned-tools.js';

describe('poisoned tool corpus', () => {
  it('has at least fifteen patterns', () => {
    expect(POISONED.length).toBeGreaterThanOrEqual(15);
  });

  for (const entry of POISONED) {
    it(`finds ${entry.pattern} (${entry.expect})`, () => {
      expect(findPoisoning(entry.tool).map((f) => f.kind)).toContain(entry.expect);
    });
  }
});

describe('honest definitions', () => {
  it.each([
    'Returns the status of one order.',
    'Lists files in a directory. Only works within allowed directories.',
    'Sends an email to one recipient. The body is plain text.',
    'Returns the password policy of the organisation (minimum length, rotation).',
    'Searches issues. Use the query syntax of the tracker.',
  ])('finds nothing in "%s"', (description) => {
    expect(findPoisoning({ name: 't', description, inputSchema: { type: 'object' } })).toEqual([]);
  });
});
