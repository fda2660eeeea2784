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
