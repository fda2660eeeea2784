import { afterAll, describe, expect, it } from 'vitest';
import { InspectionWorkers } from './pool.js';
import { fill, Slabs } from './slabs.js';

const MiB = 1024 * 1024;

describe('slabs for large messages', () => {
  it('lends a kept slab again instead of making a new one', () => {
    const slabs = new Slabs();
    const first = slabs.take(3 * MiB + 5) as SharedArrayBuffer;
    expect(first.byteLength).toBe(4 * MiB);
    slabs.give(first);
    expect(slabs.take(3 * MiB)).toBe(first);
    expect(slabs.counts).toEqual({ made: 1, reused: 1 });
    slabs.close();
  });

  it('lends none over its largest size, keeps at most `keep`, and lets idle ones go', async () => {
    const slabs = new Slabs({ maxSlab: 4 * MiB, keep: 1, idleMs: 50 });
    expect(slabs.take(4 * MiB + 1)).toBeUndefined();
    const [a, b] = [slabs.take(MiB) as SharedArrayBuffer, slabs.take(2 * MiB) as SharedArrayBuffer];
    slabs.give(a);
    slabs.give(b);
    // The larger one is kept: it fits either size.
    expect(slabs.kept()).toBe(1);
    expect(slabs.take(MiB)).toBe(b);
    slabs.give(b);
    await new Promise((r) => setTimeout(r, 150));
    expect(slabs.kept()).toBe(0);
    slabs.close();
  });

  it('copies the pieces of a message to the start of a slab', () => {
    const slab = new SharedArrayBuffer(64);
    const view = fill(slab, [Buffer.from('ab'), Buffer.from(''), Buffer.from('cde')], 5);
    expect(Buffer.from(view).toString()).toBe('abcde');
    expect(view.buffer).toBe(slab);
  });
});

describe('the inspection workers read large messages through slabs', () => {
  const workers = new InspectionWorkers(1);
  afterAll(async () => {
    await workers.close();
  });
  const answer = (text: string) =>
    Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 3, result: { content: [{ type: 'text', text }] } }));

  it('cuts each of several messages correctly through one reused slab, pieces left as they were', async () => {
    for (const letter of ['a', 'b', 'c']) {
      const message = answer(`${letter.repeat(1000)}${'z'.repeat(MiB)}`);
      const parts = [message.subarray(0, 1234), message.subarray(1234, 700_000), message.subarray(700_000)];
      const copy = Buffer.from(message);
      const cut = await workers.cut(parts, message.length, 'json', 999);
      if (!('text' in cut)) throw new Error('not cut');
      const parsed = JSON.parse(cut.text) as { id: number; result: { content: { text: string }[] } };
      expect(parsed.id).toBe(3);
      expect(parsed.result.content[0]?.text).toBe(letter.repeat(1000));
      expect(Buffer.concat(parts).equals(copy)).toBe(true);
    }
    expect(workers.slabs.counts.made).toBe(1);
    expect(workers.slabs.counts.reused).toBe(2);
  }, 60_000);

  it('says unchanged (the caller keeps its bytes) for a large message with nothing over the budget', async () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ type: 'text', text: `${i % 10}`.repeat(900) }));
    const message = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 4, result: { content: many } }));
    expect(await workers.cut([message], message.length, 'json', 1000)).toEqual({ unchanged: true });
  }, 60_000);

  it('never lends again a slab a worker died holding', async () => {
    const { made } = workers.slabs.counts;
    const kept = workers.slabs.kept();
    // Escaped text takes the full parse (worker/long-strings.ts declines it): slow enough to be killed.
    const message = answer('q\n'.repeat(9 * MiB));
    const pending = workers.cut([message], message.length, 'json', 1000);
    await workers.terminate();
    await expect(pending).rejects.toMatchObject({ code: 'inspection_failed' });
    // Its slab (28 MiB, made for it) was not given back.
    expect(workers.slabs.counts.made).toBe(made + 1);
    expect(workers.slabs.kept()).toBe(kept);
    // A message of the same size gets a new slab, and a fresh worker cuts it.
    const next = answer('r\n'.repeat(9 * MiB));
    const cut = await workers.cut([next], next.length, 'json', 10);
    expect('text' in cut && cut.text.includes(`"${'r\\n'.repeat(5)}r"`)).toBe(true);
    expect(workers.slabs.counts.made).toBe(made + 2);
  }, 60_000);
});
