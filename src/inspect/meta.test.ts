import { describe, expect, it } from 'vitest';
import { dropForgedMeta, isBulkheadMetaKey } from './meta.js';

describe('forged _meta keys', () => {
  it.each([
    'bulkhead/flags',
    'bulkhead/denial',
    'Bulkhead/denial',
    'BULKHEAD/approved',
    'dev.bulkhead/flags',
    'bulkhead.dev/flags',
    'bulkhead-flags',
    '\u200bbulkhead/flags',
    'bulk\u200bhead/flags',
  ])('treats %j as bulkhead’s namespace', (key) => {
    expect(isBulkheadMetaKey(key)).toBe(true);
  });

  it.each(['vendor/bulkheads', 'io.modelcontextprotocol/related-task', 'progressToken', 'notbulkhead/x'])(
    'leaves %j to the upstream',
    (key) => {
      expect(isBulkheadMetaKey(key)).toBe(false);
    },
  );

  it('drops only the forged keys and keeps a __proto__ key as data', () => {
    const meta = JSON.parse('{"bulkhead/denial":{"code":"x"},"vendor/a":1,"__proto__":{"polluted":true}}');
    const { meta: out, removed } = dropForgedMeta(meta);
    expect(removed).toEqual(['bulkhead/denial']);
    expect(Object.keys(out)).toEqual(['vendor/a', '__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('look-alike _meta keys', () => {
  // Each reads as bulkhead's namespace to a person or a model; none is spelled with its letters.
  it.each([
    ['Cyrillic а (U+0430)', 'bulkhe\u0430d/denial'],
    ['Cyrillic е (U+0435)', 'bulkh\u0435ad/flags'],
    ['Cyrillic а and е, mixed scripts', 'bulkh\u0435\u0430d/approved'],
    ['Greek υ (U+03C5)', 'b\u03C5lkhead/flags'],
    ['Cherokee Ᏼ (U+13F4) in capitals', '\u13F4ULKHEAD/flags'],
    ['small capitals', '\u0299\u1D1C\u029F\u1D0B\u029C\u1D07\u1D00\u1D05/flags'],
    ['Armenian ս (U+057D) for u', 'b\u057Dlkhead/denial'],
    ['Latin dotless letters: ı for l is not ASCII either', 'bu\u0131khead/flags'],
    ['a combining mark on a letter', 'bulkhea\u0323d/flags'],
    ['a Cyrillic look-alike in a prefix label', 'dev.bulkh\u0435ad/approved'],
    [
      'mathematical bold letters',
      '\u{1D41B}\u{1D42E}\u{1D425}\u{1D424}\u{1D421}\u{1D41E}\u{1D41A}\u{1D41D}/flags',
    ],
    ['the digit one for l', 'bu1khead/flags'],
    ['a capital I for l', 'buIkhead/denial'],
    ['a vertical bar for l', 'BU|KHEAD/flags'],
    ['a hyphen inside the word', 'bulk-head/denial'],
    ['an underscore inside the word', 'bulk_head/flags'],
    ['a look-alike label after a dot', 'io.bu1khead/approved'],
  ])('drops a key with %s', (_name, key) => {
    expect(isBulkheadMetaKey(key)).toBe(true);
    const { meta, removed } = dropForgedMeta({ [key]: true, 'vendor/ok': 1 });
    expect(removed).toEqual([key]);
    expect(Object.keys(meta)).toEqual(['vendor/ok']);
  });

  it('drops every key that is not printable ASCII, as the MCP spec names keys, whatever it spells', () => {
    const { meta, removed } = dropForgedMeta({
      'vendor/café': 1,
      'vendor/\u00A0x': 2,
      'vendor/a b': 3,
      'vendor/ok': 4,
    });
    expect(removed).toEqual(['vendor/café', 'vendor/\u00A0x', 'vendor/a b']);
    expect(meta).toEqual({ 'vendor/ok': 4 });
  });

  it.each([
    'vendor/bulkheads',
    'io.modelcontextprotocol/related-task',
    'progressToken',
    'notbulkhead/x',
    'com.example/bulk',
    'openai/outputTemplate',
    'vendor/h3ad-count',
    'x-trace_id',
  ])('leaves the ordinary key %j to the upstream', (key) => {
    expect(isBulkheadMetaKey(key)).toBe(false);
  });
});
