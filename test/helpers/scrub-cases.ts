/**
 * Table drivers for scrubber rule suites: each leak as a tool prints it, with the secret it
 * carries, and each look-alike that must come back unchanged. One `it` per case, named for it.
 */
import { expect, it } from 'vitest';
import { createScrubber, type Scrubber } from '../../src/scrub/index.js';
import { seeded } from './seeded.js';

/** Random secret material, built at runtime so no credential-shaped literal sits in the source. */
export const secret = (length: number, seed: number): string =>
  seeded(seed).text('abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789', length);

/** Random lower-case hex (a signature, a UUID's digits), built at runtime as `secret` is. */
export const hexSecret = (length: number, seed: number): string =>
  seeded(seed).text('0123456789abcdef', length);

/** `text` comes back without `value`, for each `[text, value]`. */
export function expectRedacted(
  cases: Record<string, [string, string]>,
  scrubber: Scrubber = defaultScrubber(),
): void {
  for (const [name, [text, value]] of Object.entries(cases)) {
    it(`redacts ${name}`, () => {
      expect(text).toContain(value);
      expect(scrubber.text(text)).not.toContain(value);
    });
  }
}

/** Each text comes back exactly as it was. */
export function expectLeftAlone(texts: Record<string, string>, scrubber: Scrubber = defaultScrubber()): void {
  for (const [name, text] of Object.entries(texts)) {
    it(`leaves ${name} alone`, () => {
      expect(scrubber.text(text)).toBe(text);
    });
  }
}

/** `text` pushed in two pieces cut at every position, then in 7-character chunks: `tail` never out. */
export function expectNoTailInStreams(
  text: string,
  tail: string,
  scrubber: Scrubber = defaultScrubber(),
): void {
  for (let cut = 1; cut < text.length; cut++) {
    const stream = scrubber.stream();
    const out = stream.push(text.slice(0, cut)) + stream.push(text.slice(cut)) + stream.flush();
    expect(out, `cut at ${cut}`).not.toContain(tail);
  }
  const stream = scrubber.stream();
  let out = '';
  for (let k = 0; k < text.length; k += 7) out += stream.push(text.slice(k, k + 7));
  expect(out + stream.flush()).not.toContain(tail);
}

let shared: Scrubber | undefined;
/** One default scrubber for a suite's cases: building one compiles every rule. */
function defaultScrubber(): Scrubber {
  shared ??= createScrubber();
  return shared;
}
