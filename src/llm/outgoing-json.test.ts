import { describe, expect, it } from 'vitest';
import { type Seeded, seeded } from '../../test/helpers/seeded.js';
import { pooledBuffers } from '../util/buffer-pool.js';
import { jsonPieces, LONG_BODY, outgoingJson, serialiseJson } from './outgoing-json.js';

const TEXTS = [
  '',
  'hi',
  'żółw 🐢 中文',
  '"quoted" \\ back\nline\ttab\u0000\u001f',
  '\ud800 lone',
  '\udfff',
  '€'.repeat(50),
];

/** Values as an agent's parsed body holds them, and the odd ones JSON.stringify has rules for. */
function value(random: Seeded, depth: number): unknown {
  const kind = random.float();
  if (depth > 5 || kind < 0.3) {
    const leaves: unknown[] = [
      null,
      true,
      false,
      0,
      -0,
      1.5e300,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      random.pick(TEXTS),
      undefined,
      () => 1,
      Symbol('s'),
      new Date(0),
    ];
    return random.pick(leaves);
  }
  if (kind < 0.6) {
    const items = Array.from({ length: random.int(5) }, () => value(random, depth + 1));
    if (random.float() < 0.1) items.length += 2; // holes
    return items;
  }
  const record: Record<string, unknown> = random.float() < 0.1 ? Object.create(null) : {};
  const keys = ['model', '2', 'messages', '10', 'żółw', 'a"b', '__proto__x', 'toJSONish'];
  for (let i = random.int(5); i > 0; i--) record[random.pick(keys)] = value(random, depth + 1);
  return record;
}

describe('a request body serialised for the API in pieces', () => {
  it('joins to exactly what JSON.stringify writes, on 2,000 generated values', () => {
    const random = seeded(2026);
    for (let i = 0; i < 2000; i++) {
      const v = { model: 'm', body: value(random, 0) };
      expect(jsonPieces(v).join(''), `value ${i}`).toBe(JSON.stringify(v));
    }
  });

  it('writes an own __proto__ key, as JSON.parse makes one, like any other key', () => {
    const parsed = JSON.parse(
      '{"__proto__":{"model":"x"},"messages":[{"__proto__":[1,2]},{"a":{"__proto__":null}}]}',
    );
    const body = { ...parsed, max_tokens: 5 };
    expect(jsonPieces(body).join('')).toBe(JSON.stringify(body));
    expect(jsonPieces(body).join('')).toContain('"__proto__":{"model":"x"}');
  });

  it('leaves whole what has its own toJSON or another prototype', () => {
    class Thing {
      a = 1;
    }
    const v = { when: new Date(0), thing: new Thing(), own: { toJSON: () => 'mine' } };
    expect(jsonPieces(v)).toEqual([
      '{',
      '"when":',
      JSON.stringify(v.when),
      ',"thing":',
      '{"a":1}',
      ',"own":',
      '"mine"',
      '}',
    ]);
  });

  it('throws as JSON.stringify does on what JSON cannot hold', () => {
    expect(() => jsonPieces({ n: 1n })).toThrow(TypeError);
    expect(() => serialiseJson({ n: 1n })).toThrow(TypeError);
  });

  it('encodes to the same UTF-8 bytes, however much of the text takes more than a byte a character', () => {
    const random = seeded(7);
    for (let i = 0; i < 300; i++) {
      const heavy = '€🐢中'.repeat(random.int(40_000));
      const v = { messages: [{ content: [{ type: 'text', text: heavy }] }, value(random, 0)] };
      const out = serialiseJson(v);
      expect(out.bytes.equals(Buffer.from(JSON.stringify(v))), `value ${i}`).toBe(true);
      out.release();
    }
  });

  it('reuses a released buffer for the next body', () => {
    const first = serialiseJson({ text: 'a'.repeat(100_000) });
    const memory = first.bytes.buffer;
    first.release();
    const second = serialiseJson({ text: 'b'.repeat(100_000) });
    expect(second.bytes.buffer).toBe(memory);
    expect(second.bytes.toString()).toBe(JSON.stringify({ text: 'b'.repeat(100_000) }));
    second.release();
  });

  it('never hands one buffer to two bodies, however often it is released', () => {
    const first = serialiseJson({ text: 'x'.repeat(200_000) });
    const before = pooledBuffers();
    first.release();
    first.release();
    expect(pooledBuffers()).toBeLessThanOrEqual(before + 1);
    const a = serialiseJson({ text: 'a'.repeat(200_000) });
    const b = serialiseJson({ text: 'b'.repeat(200_000) });
    expect(a.bytes.buffer).not.toBe(b.bytes.buffer);
    expect(a.bytes.toString()).toBe(JSON.stringify({ text: 'a'.repeat(200_000) }));
    a.release();
    b.release();
  });

  it('keeps a bounded number of buffers however many bodies were in flight at once', () => {
    const held = Array.from({ length: 20 }, (_, i) => serialiseJson({ i, text: 'z'.repeat(70_000) }));
    for (const out of held) out.release();
    expect(pooledBuffers()).toBeLessThanOrEqual(4);
  });

  it('sends a short body as a plain string and a long one as pooled bytes', () => {
    const short = { messages: [{ role: 'user', content: 'hi' }] };
    expect(outgoingJson(short, 60)).toBe(JSON.stringify(short));
    const long = { messages: [{ role: 'user', content: 'y'.repeat(LONG_BODY) }] };
    const out = outgoingJson(long, LONG_BODY + 40);
    if (typeof out === 'string') throw new Error('a long body went as a string');
    expect(out.bytes.toString()).toBe(JSON.stringify(long));
    out.release();
  });
});
