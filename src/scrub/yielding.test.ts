import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createScrubber } from './index.js';
import { DEFAULT_SLICE, scrubValueYielding } from './yielding.js';

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
    // One turn per slice at least: the other work was never shut out for more than a slice.
    expect(turns).toBeGreaterThanOrEqual(Math.floor(hostile.length / DEFAULT_SLICE) - 1);
  });

  it('yields at least every 16 K characters of a result kept on the main thread (under 256 K)', async () => {
    // Anchors of many rules every few characters: the scrubber's slowest text, ~8 MB/s, so a
    // 64 K slice of it held every other call for 8-17 ms.
    const anchors = ['token=', 'sk-', 'ghp_', 'AKIA', 'pat', 'xoxb-', 'eyJ', 'password: ', '%41', 'Q~', '|'];
    const soup = Array.from({ length: 64_000 }, (_, i) => anchors[i % anchors.length])
      .join('')
      .slice(0, 250_000);
    let turns = 0;
    let scrubbing = true;
    const other = (async () => {
      while (scrubbing) {
        await tick();
        turns++;
      }
    })();
    const out = await scrubValueYielding(createScrubber(), { content: [{ type: 'text', text: soup }] });
    scrubbing = false;
    await other;
    expect(turns).toBeGreaterThanOrEqual(Math.floor(soup.length / (16 * 1024)) - 1);
    expect(JSON.stringify(out)).not.toContain('token=sk-');
  });

  it('takes the synchronous path for small values', async () => {
    const scrubber = createScrubber({ secrets: [SECRET] });
    expect(await scrubValueYielding(scrubber, { a: SECRET })).toEqual({ a: '[REDACTED:secret]' });
  });
});
