/**
 * The generic rules' gates settle most values without their regexes (`isPlaceholder`,
 * `isCodeReference`) and without reading a value again for its script (`lastValueAscii`): each
 * must answer exactly what the regex or the full check answers, on values made to sit at every
 * edge the shortcuts read (the first character, the first 16, identifiers before a `.`, the
 * 64-character entropy sample, characters outside ASCII).
 */
import { describe, expect, it } from 'vitest';
import { type Seeded, seeded } from '../../../test/helpers/seeded.js';
import { sampleEntropy } from '../entropy.js';
import {
  CODE_REFERENCE,
  isCodeReference,
  isPlaceholder,
  looksLikeSecretValue,
  mostlyCjk,
  PLACEHOLDER,
  randomCaseLetters,
} from './generic.js';

/** What isPlaceholder answers, by its regex: a placeholder, unless letters of random case. */
const placeholderByRegex = (value: string) => PLACEHOLDER.test(value) && !randomCaseLetters(value);

/** Pieces that start, continue or break each alternative of the two regexes. */
const PIECES = [
  ...'aZ_$09.([{}%<*xXyYtTfFnNuUrRoO-:=/~ \t"\'`é中Ωſı\u212a\u{1F600}\u0000',
  '${',
  '{{',
  '%(',
  '***',
  'xxxx',
  'XxXx',
  '[REDACTED',
  '[redacted',
  'your-',
  'YOUR.',
  'true',
  'FALSE',
  'null',
  'None',
  'undefined',
  'required',
  'Optional',
  'process.env',
  'process.env.',
  'import.meta.env[',
  'os.environ[',
  'client.fetch_token(',
  'a.b(',
  'jwt.sign[',
  'sk-ghp_AKIApatxoxb-eyJpassword:',
  'Summer(2024',
  '中文字符',
  'abcdefghijklmnop',
  '0123456789012345',
];

function generatedValue(rng: Seeded): string {
  // Mostly short values, some past the 16 characters the shortcuts read and past the entropy's
  // 64-character sample; sometimes one piece repeated (all digits, all letters, one identifier).
  if (rng.int(8) === 0) return rng.pick(PIECES).repeat(1 + rng.int(40));
  const pieces = rng.int(12);
  let out = '';
  for (let k = 0; k < pieces; k++) out += rng.pick(PIECES);
  if (rng.int(4) === 0) {
    const tail = 'aB3dE5fG7hJ9kLmNpQ2rS4tU6vW8xYz';
    for (let k = rng.int(120); k > 0; k--) out += rng.pick(tail);
  }
  return out;
}

describe('generic gates without their regexes', () => {
  it('answer PLACEHOLDER.test, but for letters of random case, on every value', () => {
    const rng = seeded(31);
    const differ: string[] = [];
    let matched = 0;
    for (let k = 0; k < 40_000; k++) {
      const value = generatedValue(rng);
      const expected = placeholderByRegex(value);
      if (isPlaceholder(value) !== expected) differ.push(value);
      if (expected) matched++;
    }
    expect(differ).toEqual([]);
    // Both answers are well represented.
    expect(matched).toBeGreaterThan(2_000);
  });

  it('answer CODE_REFERENCE.test on every value', () => {
    const rng = seeded(32);
    const differ: string[] = [];
    let matched = 0;
    for (let k = 0; k < 40_000; k++) {
      const value = generatedValue(rng);
      const expected = CODE_REFERENCE.test(value);
      if (isCodeReference(value) !== expected) differ.push(value);
      if (expected) matched++;
    }
    expect(differ).toEqual([]);
    expect(matched).toBeGreaterThan(500);
  });

  it('judge a value as the placeholder regex, the entropy sample and the script check in turn do', () => {
    const rng = seeded(33);
    const differ: string[] = [];
    let accepted = 0;
    for (let k = 0; k < 40_000; k++) {
      const value = generatedValue(rng);
      for (const floor of [0, 3, 3.5]) {
        const reference = !placeholderByRegex(value) && sampleEntropy(value) >= floor && !mostlyCjk(value);
        if (looksLikeSecretValue(value, floor) !== reference) differ.push(value);
        if (reference) accepted++;
      }
    }
    expect(differ).toEqual([]);
    expect(accepted).toBeGreaterThan(10_000);
  });

  it('still read a value whose first 16 characters prove nothing', () => {
    // Word characters for 16 and more: the regexes decide.
    expect(isPlaceholder('abcdefghijklmnopq')).toBe(true);
    expect(isPlaceholder('abcdefghijklmnopq-')).toBe(false);
    expect(isCodeReference('abcdefghijklmnopq.r(')).toBe(true);
    expect(isCodeReference('abcdefghijklmnopq-r(')).toBe(false);
  });
});

describe('a value of letters only', () => {
  it('is a key, most times, when its case changes at random (one in 30 random keys has no digit)', () => {
    const rng = seeded(34);
    const keys = Array.from({ length: 1000 }, () =>
      rng.text('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', 20),
    );
    // All of them were taken for identifiers before; a coin's run of one case still is.
    expect(keys.filter((key) => looksLikeSecretValue(key)).length).toBeGreaterThan(930);
  });

  it('is an identifier when its case marks words', () => {
    for (const name of [
      'getUserTokenFromVault',
      'XMLHttpRequest',
      'AuthenticationRequired',
      'ACCESS_TOKEN_HERE',
    ])
      expect(isPlaceholder(name), name).toBe(true);
  });
});
