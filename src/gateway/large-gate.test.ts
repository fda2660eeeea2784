import { describe, expect, it } from 'vitest';
import { LargeGate } from './large-gate.js';

const later = () => {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

describe('the gate on one upstream’s large answers', () => {
  it('runs one job at a time, in the order they came, and hands the place straight on', async () => {
    const gate = new LargeGate(1);
    const first = later();
    const order: string[] = [];
    const a = gate.run(async () => {
      order.push('a');
      await first.promise;
    });
    const b = gate.run(async () => {
      order.push('b');
    });
    const c = gate.run(async () => {
      order.push('c');
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual(['a']);
    // A reader arriving now waits behind the queued jobs.
    let resumed = false;
    gate.whenFree(() => {
      resumed = true;
    });
    first.resolve();
    await Promise.all([a, b, c]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(resumed).toBe(true);
    expect(gate.counts).toEqual({ peak: 1, waits: 1, queued: 2 });
    expect(gate.full()).toBe(false);
  });

  it('frees the place when a job fails', async () => {
    const gate = new LargeGate(1);
    await expect(gate.run(() => Promise.reject(new Error('worker died')))).rejects.toThrow('worker died');
    expect(gate.full()).toBe(false);
    let ran = false;
    await gate.run(async () => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('resumes a reader at once while a place is free', () => {
    const gate = new LargeGate(2);
    let resumed = false;
    gate.whenFree(() => {
      resumed = true;
    });
    expect(resumed).toBe(true);
    expect(gate.counts.waits).toBe(0);
  });
});
