import { describe, expect, it } from 'vitest';
import { Covering } from './covered-runs.js';
import { findEncoded } from './decoded.js';
import { createScrubber, REDACTED_SECRET } from './index.js';

/** Token material built at runtime, so no credential-shaped literal sits in the source. */
const GH = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** `[start, end, rank]` triples, as the scan's buffer holds them. */
const spans = (...triples: [number, number, number][]) => Int32Array.from(triples.flat());

describe('Covering', () => {
  it('holds a run that lies inside a span starting before it', () => {
    expect(new Covering(spans([0, 40, 3]), 1, false).holds(5, 30)).toBe(true);
  });

  it('does not hold a run that ends past every span', () => {
    expect(new Covering(spans([0, 20, 3]), 1, true).holds(5, 30)).toBe(false);
  });

  it("holds a run with a rule span's very extents only when no secret is known", () => {
    expect(new Covering(spans([5, 30, 3]), 1, true).holds(5, 30)).toBe(true);
    expect(new Covering(spans([5, 30, 3]), 1, false).holds(5, 30)).toBe(false);
  });

  it("holds a run with a known secret's very extents", () => {
    expect(new Covering(spans([5, 30, -1]), 1, false).holds(5, 30)).toBe(true);
  });

  it('reads spans found out of order', () => {
    const covering = new Covering(spans([50, 90, 2], [0, 10, 1]), 2, false);
    expect(covering.holds(2, 8)).toBe(true);
    expect(covering.holds(20, 40)).toBe(false);
    expect(covering.holds(60, 80)).toBe(true);
  });

  it('holds a run inside two overlapping spans, not one that straddles the end of their union', () => {
    // Overlapping spans are redacted as their union, [0, 30).
    const covering = () => new Covering(spans([0, 20, 1], [10, 30, 2]), 2, false);
    expect(covering().holds(15, 30)).toBe(true);
    expect(covering().holds(15, 35)).toBe(false);
    expect(covering().holds(25, 31)).toBe(false);
  });
});

describe('findEncoded with the spans found above', () => {
  const text = `x ${b64(`config: ${GH} end`)} y`;
  const end = text.indexOf(' y');

  it('does not decode a base64 run a span holds', () => {
    expect(findEncoded(text).count).toBe(1);
    const covering = new Covering(spans([0, text.length, 3]), 1, false);
    expect(findEncoded(text, false, false, false, covering).count).toBe(0);
  });

  // A run is passed over unread where a span holds it; these it does not wholly hold, with any ties.
  const wrapped = `x ${b64(`config: ${GH} end`)
    .match(/.{1,32}/g)!
    .join('\n')} y`;
  it.each([
    ['its padding past the span', text, [0, end - 2]],
    ['its next line past the span (a wrapped body)', wrapped, [0, 34]],
    ['its start before the span', text, [5, end + 2]],
  ] as const)('decodes a run with %s, whatever the ties', (_name, input, [from, to]) => {
    for (const [ties, rank] of [
      [true, 3],
      [false, -1],
    ] as const) {
      const covering = new Covering(spans([from, to, rank]), 1, ties);
      const runs = findEncoded(input, false, false, false, covering);
      expect(runs.count).toBe(1);
      expect(runs.text).toContain(GH);
    }
  });

  it("decodes a run with a rule span's very extents when secrets are known", () => {
    const covering = new Covering(spans([2, end, 3]), 1, false);
    expect(findEncoded(text, false, false, false, covering).count).toBe(1);
  });

  it('passes over every run inside one span, and decodes the next run past it', () => {
    const run = b64(`config: ${GH} end`);
    const input = `x ${run} ${run}.${run} y ${run} z`;
    const covering = new Covering(spans([0, input.indexOf(' y') + 1, 3]), 1, true);
    expect(findEncoded(input).count).toBe(4);
    expect(findEncoded(input, false, false, false, covering).count).toBe(1);
  });

  it('decodes a run that reaches past the span', () => {
    const covering = new Covering(spans([0, end - 1, 3]), 1, false);
    expect(findEncoded(text, false, false, false, covering).count).toBe(1);
  });

  it('decodes a run that straddles the end of two overlapping spans', () => {
    const covering = new Covering(spans([0, 8, 3], [1, end - 1, 3]), 2, false);
    expect(findEncoded(text, false, false, false, covering).count).toBe(1);
  });
});

describe('runs inside a redacted match (the scrubber)', () => {
  it('redacts every key of a page of keys that it redacts alone, each also a base64-looking run', () => {
    // As the bench's page of keys draws them (bench/scrub-throughput.ts pageOfKeys).
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    let state = 12_345;
    const keys = Array.from({ length: 200 }, () => {
      let key = 'sk-';
      for (let k = 0; k < 24; k++) {
        state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
        key += alphabet[state % alphabet.length];
      }
      return key;
    });
    const scrubber = createScrubber();
    // Some draws are too repetitive for the rule's entropy gate: those pass alone and on the page.
    const redacted = keys.filter((key) => scrubber.text(key) === '[REDACTED:openai-api-key]');
    expect(redacted.length).toBeGreaterThan(150);
    const out = scrubber.text(keys.join(' '));
    for (const key of redacted) expect(out).not.toContain(key.slice(3));
    expect(out.match(/\[REDACTED:openai-api-key\]/g)?.length).toBe(redacted.length);
  });

  it('still names a known secret decoded from a run with the very extents of a rule match', () => {
    const secret = 'Zq8Wx7Ev6Rt5Yu4Io3Pa';
    const scrubber = createScrubber({ secrets: [secret] });
    const out = scrubber.text(`?auth=${encodeURIComponent(b64(`u:${secret}`))}`);
    expect(out).toContain(REDACTED_SECRET);
  });

  it('decodes and judges a run that starts inside two overlapping secrets and ends past them', () => {
    // Known secrets [0, 16) and [10, 29) overlap (redacted as [0, 29)); the base64 run starts
    // after the second one's `.`, inside both, and carries a token past their union's end.
    const payload = b64(`config: ${GH} end`);
    const text = `Zq8W.x7Ev6Rt5Yu4.Io3PaKm2Nb1V${payload} y`;
    const secrets = [text.slice(0, 16), text.slice(10, 29)];
    const out = createScrubber({ secrets }).text(text);
    expect(out).not.toContain(payload.slice(-12));
    expect(out.endsWith(' y')).toBe(true);
  });

  it('still finds a token base64-encoded beside a key, in a run of its own', () => {
    const out = createScrubber().text(`sk-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8 ${b64(`config: ${GH} end`)}`);
    expect(out).toContain('[REDACTED:github-pat]');
    expect(out).not.toContain('Ab1Cd2Ef3Gh4Ij5');
  });
});
