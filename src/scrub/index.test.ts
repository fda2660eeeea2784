import { describe, expect, it } from 'vitest';
import { createScrubber, REDACTED_SECRET, TOO_DEEP, unknownRuleIds } from './index.js';

const SECRET = 'upstream-cred-7Hq2Zx9';

describe('createScrubber: known secrets', () => {
  const scrubber = createScrubber({ secrets: [SECRET] });

  it('replaces a raw secret with the secret marker', () => {
    expect(scrubber.text(`key=${SECRET};`)).toBe(`key=${REDACTED_SECRET};`);
  });

  it('replaces base64 at any offset, base64url, URL-encoded, hex and JSON-escaped forms', () => {
    const leaks = [
      Buffer.from(`user:${SECRET}`).toString('base64'),
      Buffer.from(`ab${SECRET}`).toString('base64url'),
      encodeURIComponent(`${SECRET}/x`),
      Buffer.from(SECRET).toString('hex').toUpperCase(),
      JSON.stringify({ k: `"${SECRET}"` }),
    ];
    for (const leak of leaks)
      expect(scrubber.text(leak), leak).not.toMatch(/7Hq2Zx9|N0hxMlp4O|3748713|37483|4a7a/);
    for (const leak of leaks) expect(scrubber.text(leak)).toContain(REDACTED_SECRET);
  });

  it('ignores secrets shorter than the minimum length', () => {
    expect(createScrubber({ secrets: ['abc'] }).text('abc abc')).toBe('abc abc');
  });

  it('matches secrets added at runtime', () => {
    const s = createScrubber();
    expect(s.text('run token rt_9fK2mQ7xLp')).toBe('run token rt_9fK2mQ7xLp');
    s.addSecrets(['rt_9fK2mQ7xLp']);
    expect(s.text('run token rt_9fK2mQ7xLp')).toBe(`run token ${REDACTED_SECRET}`);
  });

  it('keeps matching every secret after many runtime additions fold into the base automaton', () => {
    const s = createScrubber({ secrets: ['initial-secret-1'] });
    const tokens = Array.from({ length: 300 }, (_, i) => `run-token-${i}-xq9`);
    for (const token of tokens) s.addSecrets([token]);
    expect(s.text(`a initial-secret-1 ${tokens[0]} ${tokens[299]}`)).toBe(
      `a ${REDACTED_SECRET} ${REDACTED_SECRET} ${REDACTED_SECRET}`,
    );
  });

  it('adds a runtime secret without recompiling the secrets known at start', () => {
    const initial = Array.from({ length: 1000 }, (_, i) => `configured-secret-${i}-q8`);
    const s = createScrubber({ secrets: initial });
    const before = s.stats.formsCompiled;
    for (let i = 0; i < 50; i++) s.addSecrets([`run-token-${i}-zz9`]);
    const perAddition = (s.stats.formsCompiled - before) / 50;
    // Each addition recompiles only the small runtime delta, not the ~10,000 configured forms.
    expect(perAddition).toBeLessThan(before / 20);
  });

  it('never rebuilds the configured secrets while secrets are added one at a time', () => {
    const initial = Array.from({ length: 1000 }, (_, i) => `configured-secret-${i}-q8`);
    const s = createScrubber({ secrets: initial });
    const configuredForms = s.stats.formsCompiled;
    let largest = 0;
    for (let i = 0; i < 600; i++) {
      const before = s.stats.formsCompiled;
      s.addSecrets([`run-token-${i}-zz9-${i * 7919}`]);
      largest = Math.max(largest, s.stats.formsCompiled - before);
    }
    // The largest single addition is a fold of the runtime forms (600 × ~15), never the
    // configured ~10,000 (which an addition used to recompile once the delta grew).
    expect(largest).toBeLessThan(configuredForms / 2);
    expect(s.text('x configured-secret-999-q8 run-token-599-zz9-4743481 run-token-0-zz9-0 y')).toBe(
      `x ${REDACTED_SECRET} ${REDACTED_SECRET} ${REDACTED_SECRET} y`,
    );
  });

  it('redacts overlapping secrets as one span, leaving no fragment between markers', () => {
    const s = createScrubber({ secrets: ['abcdef-123', '123-ghijkl'] });
    expect(s.text('xabcdef-123-ghijklx')).toBe(`x${REDACTED_SECRET}x`);
  });

  it('returns the input unchanged when nothing matches', () => {
    const text = 'an ordinary log line with nothing to hide';
    expect(scrubber.text(text)).toBe(text);
  });
});

describe('createScrubber: rules', () => {
  it('names the provider when a generic assignment wraps a provider token', () => {
    const token = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
    expect(createScrubber().text(`GITHUB_TOKEN=${token}`)).toBe('GITHUB_TOKEN=[REDACTED:github-pat]');
  });

  it('redacts the whole of an assigned value longer than the rule window', () => {
    const value = Array.from({ length: 40 }, (_, i) => `Q${i}x9Lm`).join('');
    const out = createScrubber().text(`password=${value} end`);
    expect(out).toBe('password=[REDACTED:generic-secret-assignment] end');
  });

  it('finds a credential assigned to a key written in mixed case', () => {
    const out = createScrubber().text(
      'PaSsWoRd=Xk9#mQ2$vL7pR4tZ and aPi_KeY: "ZXhhbXBsZS1rZXktMTIzNDU2Nzg5MA"',
    );
    expect(out).toBe(
      'PaSsWoRd=[REDACTED:generic-secret-assignment] and aPi_KeY: "[REDACTED:generic-secret-assignment]"',
    );
  });

  it('keeps a case-sensitive anchor to its case', () => {
    const token = `ghp_${'a1B2c3D4e5'.repeat(3)}abcdef`;
    expect(createScrubber().text(`x ${token} y`)).toBe('x [REDACTED:github-pat] y');
    expect(createScrubber().text(`x ${token.replace('ghp_', 'GHP_')} y`)).toContain('GHP_');
  });

  it('skips disabled rules', () => {
    const token = `ghp_${'Ab1Cd2Ef3Gh4'.repeat(3)}`;
    expect(createScrubber({ disableRules: ['github-pat'] }).text(`see ${token}`)).toBe(`see ${token}`);
  });

  it('reports disable_rules ids that name no rule', () => {
    expect(unknownRuleIds(['github-pat', 'gihtub-pat'])).toEqual(['gihtub-pat']);
  });
});

describe('createScrubber: value()', () => {
  const scrubber = createScrubber({ secrets: [SECRET] });

  it('keeps the structure and scrubs strings and keys', () => {
    const input = { a: [1, true, null, SECRET], [SECRET]: { nested: `x ${SECRET}` } };
    expect(scrubber.value(input)).toEqual({
      a: [1, true, null, REDACTED_SECRET],
      [REDACTED_SECRET]: { nested: `x ${REDACTED_SECRET}` },
    });
  });

  it('keeps both values when two keys scrub to the same marker', () => {
    const s = createScrubber({ secrets: ['first-secret-1', 'second-secret-2'] });
    expect(s.value({ 'first-secret-1': 1, 'second-secret-2': 2 })).toEqual({
      [REDACTED_SECRET]: 1,
      [`${REDACTED_SECRET}#2`]: 2,
    });
  });

  it('keeps a __proto__ key from parsed JSON as data', () => {
    const out = createScrubber().value(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')) as object;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"a":1}');
  });

  it('produces data that serialises to valid JSON', () => {
    const out = scrubber.value({ msg: `"${SECRET}"\n` });
    expect(JSON.parse(JSON.stringify(out))).toEqual({ msg: `"${REDACTED_SECRET}"\n` });
  });

  it('replaces nesting beyond the depth limit instead of recursing', () => {
    let deep: unknown = SECRET;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    let out = createScrubber({ secrets: [SECRET], maxDepth: 16 }).value(deep) as unknown;
    let depth = 0;
    while (Array.isArray(out)) {
      out = out[0];
      depth++;
    }
    expect(depth).toBe(16);
    expect(out).toBe(TOO_DEEP);
  });

  it('passes numbers, booleans and null through', () => {
    expect(scrubber.value(42)).toBe(42);
    expect(scrubber.value(null)).toBe(null);
  });
});
