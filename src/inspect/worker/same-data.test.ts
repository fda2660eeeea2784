import { describe, expect, it } from 'vitest';
import { copyShape, MAX_SAME_DEPTH, sameData } from './same-data.js';

const nested = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: [value] };
  return value;
};

describe('sameData: whether an inspection left a result as it was', () => {
  it('holds for a structured clone of parsed JSON', () => {
    const value = JSON.parse(
      '{"content":[{"type":"text","text":"hi","annotations":{"audience":["user"],"priority":0.5}}],"isError":false,"_meta":{"n":null}}',
    );
    expect(sameData(value, structuredClone(value))).toBe(true);
  });

  it('fails when one string differs, even by one character at the end', () => {
    const text = 'x'.repeat(100_000);
    expect(sameData({ content: [{ text }] }, { content: [{ text: `${text.slice(0, -1)}y` }] })).toBe(false);
  });

  it('fails when the keys are the same but in another order (the JSON would differ)', () => {
    expect(sameData({ type: 'text', text: 'a' }, { text: 'a', type: 'text' })).toBe(false);
  });

  it('fails when a key was dropped or added, even one holding undefined', () => {
    expect(sameData({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(sameData({ a: 1 }, { a: 1, b: undefined })).toBe(false);
  });

  it('tells -0 from 0, a number from its string, and an array from an object with the same keys', () => {
    expect(sameData({ n: -0 }, { n: 0 })).toBe(false);
    expect(sameData({ n: 1 }, { n: '1' })).toBe(false);
    expect(sameData(['a'], { 0: 'a' })).toBe(false);
  });

  it('refuses anything but plain objects and arrays', () => {
    const date = new Date(0);
    expect(sameData({ at: date }, { at: date })).toBe(true);
    expect(sameData({ at: new Date(0) }, { at: new Date(0) })).toBe(false);
    expect(sameData({ m: new Map() }, { m: new Map() })).toBe(false);
  });

  it('keeps a __proto__ key as data and compares it', () => {
    const a = JSON.parse('{"__proto__":{"x":1}}');
    expect(sameData(a, JSON.parse('{"__proto__":{"x":1}}'))).toBe(true);
    expect(sameData(a, JSON.parse('{"__proto__":{"x":2}}'))).toBe(false);
  });

  it(`says "not the same" past ${MAX_SAME_DEPTH} levels rather than assume`, () => {
    expect(sameData(nested(MAX_SAME_DEPTH / 2 - 1), nested(MAX_SAME_DEPTH / 2 - 1))).toBe(true);
    expect(sameData(nested(MAX_SAME_DEPTH), nested(MAX_SAME_DEPTH))).toBe(false);
  });
});

describe('copyShape: the main thread keeps its own structure', () => {
  it('copies every object and array and shares every string', () => {
    const text = 'y'.repeat(1000);
    const value = { content: [{ type: 'text', text, annotations: { audience: ['user'] } }] };
    const copied = copyShape(value);
    expect(copied).toEqual(value);
    expect(JSON.stringify(copied)).toBe(JSON.stringify(value));
    expect(copied.content).not.toBe(value.content);
    expect(copied.content[0]).not.toBe(value.content[0]);
    expect(copied.content[0]?.annotations.audience).not.toBe(value.content[0]?.annotations.audience);
    Object.freeze(copied.content);
    expect(Object.isFrozen(value.content)).toBe(false);
  });

  it('keeps a __proto__ key as data, not as the copy prototype', () => {
    const copied = copyShape(JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype);
    expect(JSON.stringify(copied)).toBe('{"__proto__":{"polluted":true}}');
  });
});
