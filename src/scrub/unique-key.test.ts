import { afterEach, describe, expect, it, vi } from 'vitest';
import { openAiShapedKey } from '../../test/helpers/fake-keys.js';
import { seeded } from '../../test/helpers/seeded.js';
import { createScrubber } from './index.js';
import { uniqueKey } from './unique-key.js';
import { scrubValueYielding } from './yielding.js';

/** The rule as first written: the least suffix from 2 up that the object has not taken. */
function leastFree(out: object, scrubbed: string): string {
  let unique = scrubbed;
  for (let n = 2; Object.hasOwn(out, unique); n++) unique = `${scrubbed}#${n}`;
  return unique;
}

/** An object whose keys all redact to one marker (each a real-looking key). */
function secretKeyed(count: number): Record<string, number> {
  const rng = seeded(count);
  const keys = Array.from({ length: count }, () => openAiShapedKey(rng));
  return Object.fromEntries(keys.map((key, i) => [key, i]));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('unique keys of a scrubbed object', () => {
  it('gives the least free suffix, as trying from 2 each time does, on many random sequences', () => {
    for (let seed = 0; seed < 200; seed++) {
      const fast: Record<string, true> = {};
      const slow: Record<string, true> = {};
      const next = new Map<string, number>();
      for (let k = 0; k < 60; k++) {
        const pick = (seed * 31 + k * 17) % 7;
        // Markers, and keys that are literally a marker with a suffix.
        const scrubbed = pick < 3 ? `M${pick}` : pick < 5 ? `M0#${(k % 5) + 2}` : `M1#${(k % 3) + 2}`;
        const a = Object.hasOwn(fast, scrubbed) ? uniqueKey(fast, scrubbed, next) : scrubbed;
        const b = leastFree(slow, scrubbed);
        expect(a).toBe(b);
        fast[a] = true;
        slow[b] = true;
      }
    }
  });

  it('costs a bounded number of key checks per key when every key redacts to one marker', () => {
    const scrubber = createScrubber();
    const input = secretKeyed(2000);
    const hasOwn = vi.spyOn(Object, 'hasOwn');
    const out = scrubber.value(input) as Record<string, number>;
    // Trying from 2 each time is ~n²/2 checks (two million here).
    expect(hasOwn.mock.calls.length).toBeLessThan(3 * 2000);
    expect(Object.keys(out)).toHaveLength(2000);
    expect(Object.keys(out).slice(0, 3)).toEqual([
      '[REDACTED:openai-api-key]',
      '[REDACTED:openai-api-key]#2',
      '[REDACTED:openai-api-key]#3',
    ]);
  });

  it('costs a bounded number of key checks, and keeps every value, when such an object is scrubbed a slice at a time', async () => {
    const scrubber = createScrubber();
    const input = secretKeyed(300);
    const hasOwn = vi.spyOn(Object, 'hasOwn');
    const out = (await scrubValueYielding(scrubber, input)) as Record<string, number>;
    expect(hasOwn.mock.calls.length).toBeLessThan(3 * 300 + 1000);
    expect(Object.values(out).sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });
});
