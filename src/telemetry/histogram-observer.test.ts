import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramObserver } from './histogram-observer.js';

const pair = () => {
  const make = () => {
    const registry = new Registry();
    const histogram = new Histogram({
      name: 'h',
      help: 'h',
      labelNames: ['stage', 'result'] as const,
      buckets: [0.001, 0.01, 0.1, 1],
      registers: [registry],
    });
    return { registry, histogram };
  };
  return { plain: make(), fast: make() };
};

const VALUES = [0, 0.0005, 0.001, 0.002, 0.05, 0.5, 1, 3, 1e9];

describe('histogramObserver', () => {
  it('exposes exactly what prom-client observe does', async () => {
    const { plain, fast } = pair();
    const a = histogramObserver(fast.histogram, { stage: 'scope', result: 'continue' });
    const b = histogramObserver(fast.histogram, { stage: 'budget', result: 'deny' });
    for (const v of VALUES) {
      plain.histogram.observe({ stage: 'scope', result: 'continue' }, v);
      plain.histogram.observe({ stage: 'budget', result: 'deny' }, v / 2);
      a(v);
      b(v / 2);
    }
    expect(await fast.registry.metrics()).toBe(await plain.registry.metrics());
  });

  it('starts a series again after a reset, and shares one made by observe', async () => {
    const { plain, fast } = pair();
    const labels = { stage: 'scope', result: 'continue' } as const;
    const observe = histogramObserver(fast.histogram, labels);
    observe(0.002);
    plain.histogram.observe(labels, 0.002);
    fast.histogram.reset();
    plain.histogram.reset();
    observe(0.02);
    plain.histogram.observe(labels, 0.02);
    // A value observed the ordinary way lands in the same series.
    fast.histogram.observe({ ...labels }, 0.2);
    plain.histogram.observe(labels, 0.2);
    observe(0.3);
    plain.histogram.observe(labels, 0.3);
    expect(await fast.registry.metrics()).toBe(await plain.registry.metrics());
  });

  it('refuses a value that is not a finite number, as observe does', () => {
    const { fast } = pair();
    const observe = histogramObserver(fast.histogram, { stage: 'scope', result: 'continue' });
    observe(0.1);
    expect(() => observe(Number.NaN)).toThrow(TypeError);
    expect(() => observe(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });
});
