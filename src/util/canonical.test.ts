import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson } from './canonical.js';

// The canonical form is inside stored hashes (audit chains, approvals): these strings must never change.
describe('canonicalJson', () => {
  it('sorts keys by UTF-16 code unit at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 'x', c: null }], Z: true, é: 2, '10': 3, '9': 4, '': 5 })).toBe(
      '{"":5,"10":3,"9":4,"Z":true,"a":[1,{"c":null,"d":"x"}],"b":1,"é":2}',
    );
  });

  it('leaves out undefined members and writes what JSON cannot hold as null', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, () => 1, Number.NaN], c: () => 1 })).toBe(
      '{"b":[null,null,null],"c":null}',
    );
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('keeps an own __proto__ key and escapes keys and strings as JSON does', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":"q\\"\\n"}'))).toBe(
      '{"__proto__":{"x":1},"a":"q\\"\\n"}',
    );
    expect(canonicalJson({ '\ud800': '\u2028' })).toBe('{"\\ud800":"\u2028"}');
  });

  it('hashes equal values the same whatever their key order', () => {
    expect(canonicalHash({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(canonicalHash({ a: 1 })).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });
});
