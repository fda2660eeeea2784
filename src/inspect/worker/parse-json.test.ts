import { afterAll, describe, expect, it } from 'vitest';
import { seeded } from '../../../test/helpers/seeded.js';
import { InspectionWorkers } from './pool.js';
import { sameData } from './same-data.js';

/** A JSON-RPC answer as an upstream sends it: ASCII JSON, long strings with escapes of every kind. */
function answerText(seed: number): string {
  const rng = seeded(seed);
  const pieces = [
    'token=',
    'abc',
    '\\u00e9',
    '\\ud83d\\ude00',
    '\\ud800',
    '\\n',
    '\\"',
    '\\\\',
    '\\u0000',
    ' ',
  ];
  const long = (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(rng.pick(pieces));
    return out.join('');
  };
  const texts = Array.from(
    { length: 1 + rng.int(3) },
    (_, i) =>
      // Some long enough to come back through the slab (16K characters), some not.
      `{"type":"text","text":"${long(i === 0 ? 20_000 + rng.int(20_000) : rng.int(3000))}"}`,
  );
  return `{"result":{"content":[${texts.join(',')}],"structuredContent":{"__proto__":{"x":-0},"n":[1e308,-0,0.1,null,true]},"_meta":{"k":"${long(50)}"}},"jsonrpc":"2.0","id":${seed}}`;
}

describe('JSON.parse in an inspection worker (parseJson)', () => {
  const workers = new InspectionWorkers(1);
  afterAll(async () => {
    await workers.close();
  });

  it('gives what JSON.parse gives on many long answers: strings, key order, a __proto__ key, -0', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const text = answerText(seed);
      const here = JSON.parse(text) as unknown;
      const there = await workers.parseJson(text);
      expect(sameData(there, here)).toBe(true);
      expect(JSON.stringify(there)).toBe(JSON.stringify(here));
      const data = (there as { result: { structuredContent: object } }).result.structuredContent;
      expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
      expect(Object.keys(data)).toEqual(['__proto__', 'n']);
    }
    expect(workers.counts.jobs).toBe(30);
  }, 60_000);

  it('rejects a text that is not JSON with the very error JSON.parse throws', async () => {
    const text = `{"result":{"content":[{"type":"text","text":"${'x'.repeat(300_000)}"}]},"id":1,}`;
    let expected: unknown;
    try {
      JSON.parse(text);
    } catch (error) {
      expected = error;
    }
    await expect(workers.parseJson(text)).rejects.toThrow((expected as Error).message);
  });

  it('parses a text with other than ASCII itself, as JSON.parse does', async () => {
    const before = workers.counts.jobs;
    const text = JSON.stringify({
      id: 1,
      result: { content: [{ type: 'text', text: `${'é'.repeat(300_000)}\ud800` }] },
    });
    expect(await workers.parseJson(text)).toEqual(JSON.parse(text));
    expect(workers.counts.jobs).toBe(before);
  });

  it('parses on the main thread and tells the caller when the worker dies holding the job', async () => {
    // A pool of its own, its worker still starting when it is ended: it can only die holding the job.
    const dying = new InspectionWorkers(1);
    try {
      const text = answerText(99);
      const told: Error[] = [];
      const parsing = dying.parseJson(text, (error) => told.push(error));
      await dying.terminate();
      expect(sameData(await parsing, JSON.parse(text))).toBe(true);
      expect(told.map((e) => e.message)).toEqual([expect.stringMatching(/inspection worker/)]);
      expect(dying.counts.parseFallbacks).toBe(1);
    } finally {
      await dying.close();
    }
  });
});

describe('JSON.parse in an inspection worker from held bytes (holdJson)', () => {
  const workers = new InspectionWorkers(1);
  afterAll(async () => {
    await workers.close();
  });
  const held = (text: string, onFallback?: (error: Error) => void) => {
    const taken = workers.holdJson(Buffer.from(text, 'latin1'), onFallback);
    if (!taken) throw new Error('no slab');
    return taken;
  };

  it('gives what JSON.parse gives on many long answers, the slab given back each time', async () => {
    for (let seed = 1; seed <= 30; seed++) {
      const text = answerText(seed);
      const here = JSON.parse(text) as unknown;
      const there = await held(text).parse();
      expect(sameData(there, here)).toBe(true);
      expect(JSON.stringify(there)).toBe(JSON.stringify(here));
      expect(
        Object.keys((there as { result: { structuredContent: object } }).result.structuredContent),
      ).toEqual(['__proto__', 'n']);
    }
    expect(workers.counts.jobs).toBe(30);
    expect(workers.slabs.kept()).toBeGreaterThan(0);
  }, 60_000);

  it('reads the text as it came while held, and not once given back', () => {
    const text = answerText(41);
    const taken = held(text);
    expect(taken.text()).toBe(text);
    taken.release();
    expect(() => taken.text()).toThrow(RangeError);
  });

  it('rejects a text that is not JSON with the very error JSON.parse throws', async () => {
    const text = `{"result":{"content":[{"type":"text","text":"${'x'.repeat(300_000)}"}]},"id":1,}`;
    let expected: unknown;
    try {
      JSON.parse(text);
    } catch (error) {
      expected = error;
    }
    await expect(held(text).parse()).rejects.toThrow((expected as Error).message);
  });

  it('parses the text as it came on the main thread, and tells the caller, when the worker dies holding the job', async () => {
    // A pool of its own, its worker still starting when it is ended: it can only die holding the job.
    const dying = new InspectionWorkers(1);
    try {
      const text = answerText(98);
      const told: Error[] = [];
      const taken = dying.holdJson(Buffer.from(text, 'latin1'), (error) => told.push(error));
      if (!taken) throw new Error('no slab');
      const parsing = taken.parse();
      await dying.terminate();
      expect(sameData(await parsing, JSON.parse(text))).toBe(true);
      expect(told.map((e) => e.message)).toEqual([expect.stringMatching(/inspection worker/)]);
      expect(dying.counts.parseFallbacks).toBe(1);
    } finally {
      await dying.close();
    }
  });
});
