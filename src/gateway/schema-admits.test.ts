import { describe, expect, it } from 'vitest';
import { admits } from './schema-admits.js';

describe('admits', () => {
  it('tells an object branch from a null one', () => {
    expect(admits({ type: 'object' }, {}, {})).toBe('yes');
    expect(admits({ type: 'null' }, {}, {})).toBe('no');
  });

  it('tells a discriminated union member by its const', () => {
    const file = { properties: { kind: { const: 'file' } }, required: ['kind'] };
    expect(admits(file, { kind: 'file' }, {})).toBe('yes');
    expect(admits(file, { kind: 'url' }, {})).toBe('no');
    expect(admits(file, {}, {})).toBe('no');
  });

  it('does not refuse a key a closed object admits through patternProperties', () => {
    const schema = { properties: {}, patternProperties: { '^x-': {} }, additionalProperties: false };
    expect(admits(schema, { 'x-a': 1 }, {})).not.toBe('no');
  });

  it('refuses a key a closed object without patterns does not declare', () => {
    expect(admits({ properties: { a: {} }, additionalProperties: false }, { b: 1 }, {})).toBe('no');
  });

  it('is unsure of keywords it does not judge', () => {
    expect(admits({ minimum: 5 }, 1, {})).toBe('unknown');
  });
});
