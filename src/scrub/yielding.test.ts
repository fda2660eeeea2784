import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createScrubber } from './index.js';
import { scrubValueYielding } from './yielding.js';

const SECRET = 'k3y-Vx9QpL2mZr8TqW4n';

describe('scrubValueYielding', () => {
  it('gives the same result as value() on a large result, secrets cut by slice borders included', async () => {
    const scrubber = createScrubber({ secrets: [SECRET] });
    // The secret sits across every 1,000-character border at least once.
    const filler = 'log line ok. '.repeat(2000);
    const text = Array.from({ length: 40 }, (_, i) => filler.slice(0, 990 + (i % 20)) + SECRET).join('');
    const value = {
      content: [{ type: 'text', text }],
      structuredContent: { rows: [text.slice(0, 5000), `ghp_${'a1B2'.repeat(9)}`] },
    };
    const sliced = await scrubValueYielding(scrubber, value, { slice: 1000 });
    expect(sliced).toEqual(scrubber.value(value));
    expect(JSON.stringify(sliced)).not.toContain(SECRET);
  });

  it('lets other work run while a large hostile result is scrubbed', async () => {
    const scrubber = createScrubber();
    const hostile = 'token='.repeat(400_000);
    let turns = 0;
    let scrubbing = true;
    const other = (async () => {
      while (scrubbing) {
        await tick();
        turns++;
      }
    })();
    await scrubValueYielding(scrubber, { content: [{ type: 'text', text: hostile }] });
    scrubbing = false;
    await other;
    // One turn per 64 KiB slice at least: the other work was never shut out for the whole scan.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(hostile.length / (64 * 1024)) - 1);
  });

  it('takes the synchronous path for small values', async () => {
    const scrubber = createScrubber({ secrets: [SECRET] });
    expect(await scrubValueYielding(scrubber, { a: SECRET })).toEqual({ a: '[REDACTED:secret]' });
  });
});
