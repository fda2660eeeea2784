import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { createScrubber } from './index.js';
import { missProof, provesMiss } from './miss-proof.js';
import { BUILTIN_RULES } from './rules/index.js';

describe('missProof', () => {
  it('reads the run after a fixed-width head, lookarounds and a group of equal-width alternatives', () => {
    expect(missProof('(?<![A-Za-z0-9])ghp_[A-Za-z0-9]{36}(?![A-Za-z0-9])', 'y')).toMatchObject({
      offset: 4,
      count: 32,
    });
    expect(missProof('(?<![A-Za-z0-9])(?:AKIA|ASIA|A3T[A-Z0-9])[A-Z0-9]{16}', 'y')).toMatchObject({
      offset: 4,
      count: 16,
    });
    expect(missProof('eyJ[A-Za-z0-9_-]{10,400}\\.eyJ', 'y')).toMatchObject({ offset: 3, count: 10 });
  });

  it('reads a group of alternatives that each start with a run: their union, the shortest minimum', () => {
    const proof = missProof('(?<![A-Za-z0-9])sk-(?:[a-f0-9]{32}|[a-z]{48})(?![A-Za-z0-9])', 'y')!;
    expect(proof).toMatchObject({ offset: 3, count: 32 });
    expect(['g', '5', 'a', 'z'].map((c) => proof.ascii[c.charCodeAt(0)])).toEqual([1, 1, 1, 1]);
    expect(['G', '_', '-'].map((c) => proof.ascii[c.charCodeAt(0)])).toEqual([0, 0, 0]);
    expect(missProof('ab(?:[0-9]{4}|x+|[A-F]{2,9})', 'y')).toMatchObject({ offset: 2, count: 1 });
  });

  it('gives no proof for a group of alternatives that may match without a run', () => {
    // The group optional, an alternative's run optional, one starting with a group, one empty.
    expect(missProof('sk-(?:[a-f0-9]{32}|[a-z]{48})?', 'y')).toBeUndefined();
    expect(missProof('sk-(?:[a-f0-9]*|[a-z]{48})', 'y')).toBeUndefined();
    expect(missProof('sk-(?:(?:ab)+|[a-z]{48})', 'y')).toBeUndefined();
    expect(missProof('sk-(?:[a-z]{4}|)', 'y')).toBeUndefined();
  });

  it('gives no proof where the run can start at more than one place or need not be there', () => {
    // An optional group before the run, alternatives of different widths, a top-level alternative,
    // a run that may be empty.
    expect(missProof('sk-(?:proj-)?[A-Za-z0-9]{20,200}', 'y')).toBeUndefined();
    expect(missProof('(?:password|pwd)[ \\t]{1,4}', 'y')).toBeUndefined();
    expect(missProof('ab[0-9]{5}|zz', 'y')).toBeUndefined();
    expect(missProof('ab[0-9]*cd', 'y')).toBeUndefined();
    expect(missProof('ab\\b[0-9]{5}', 'y')).toBeUndefined();
  });

  it('reads the class under the rule flags (case-insensitive rules)', () => {
    const proof = missProof('key_[a-f0-9]{8}', 'yi')!;
    expect(proof.ascii['F'.charCodeAt(0)]).toBe(1);
    expect(proof.ascii['g'.charCodeAt(0)]).toBe(0);
  });

  it('never proves a miss where a built-in rule matches, on generated text around every anchor', () => {
    const rng = seeded(42);
    const pieces = [
      'a',
      'Z',
      '0',
      '9',
      '_',
      '-',
      '.',
      '/',
      '+',
      '=',
      ':',
      ' ',
      '"',
      '|',
      '~',
      'é',
      '中',
      '\n',
      'f',
      'A',
    ];
    let proved = 0;
    let checked = 0;
    for (const rule of BUILTIN_RULES) {
      const flags = `y${rule.anyCase ? 'i' : ''}`;
      const proof = missProof(rule.pattern, flags);
      if (!proof) continue;
      const regex = new RegExp(rule.pattern, flags);
      // Mostly characters of the run's class (so that many positions match), some others.
      const inClass = Array.from({ length: 128 }, (_, code) => String.fromCharCode(code)).filter(
        (c) => proof.ascii[c.charCodeAt(0)] === 1,
      );
      for (let k = 0; k < 150; k++) {
        const anchor = rng.pick(rule.anchors);
        let head = '';
        for (let i = 0; i < (rule.before ?? 0); i++) head += rng.pick(inClass);
        let tail = '';
        const length = rng.int(120);
        for (let i = 0; i < length; i++) {
          tail += rng.int(12) === 0 ? rng.pick(pieces) : rng.pick(inClass);
        }
        for (const text of [`${head}${anchor}${tail}`, `x ${head}${anchor}${tail} y`]) {
          const start = text.indexOf(anchor) - (rule.before ?? 0);
          regex.lastIndex = start;
          const matches = regex.exec(text) !== null;
          const miss = provesMiss(proof, text, start);
          checked++;
          if (miss) proved++;
          if (matches) expect(miss, `${rule.id} on ${JSON.stringify(text)}`).toBe(false);
        }
      }
    }
    // The check is not vacuous: both outcomes occur often.
    expect(proved).toBeGreaterThan(checked / 10);
    expect(proved).toBeLessThan(checked);
  });

  it('is read from about half of the built-in rules', () => {
    const proved = BUILTIN_RULES.filter((rule) => missProof(rule.pattern, `y${rule.anyCase ? 'i' : ''}`));
    expect(proved.length).toBeGreaterThan(BUILTIN_RULES.length / 3);
  });
});

describe('the scrubber with proofs of alternative runs', () => {
  it('still redacts keys of both shapes of the rule whose proof is the union of its runs', () => {
    const rng = seeded(7);
    const hex = `sk-${Array.from({ length: 32 }, () => rng.pick([...'0123456789abcdef'])).join('')}`;
    const lower = `sk-${Array.from({ length: 48 }, () => rng.pick([...'abcdefghijklmnopqrstuvwxyz'])).join('')}`;
    // Beside mixed-case keys, on which the proof settles the rule's every call.
    const mixed = `sk-${'aB3cD4eF5gH6iJ7kL8mN9pQ2'}`;
    const out = createScrubber().text(`${mixed} ${hex} ${mixed} ${lower} ${mixed}`);
    expect(out).not.toContain(hex.slice(3));
    expect(out).not.toContain(lower.slice(3));
    expect(out.match(/\[REDACTED:llm-provider-api-key\]/g)).toHaveLength(2);
  });
});
