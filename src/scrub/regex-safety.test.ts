import { describe, expect, it } from 'vitest';
import { maxMatchLength, regexSafetyProblems } from './regex-safety.js';

describe('regexSafetyProblems', () => {
  it('accepts flat, bounded patterns', () => {
    expect(regexSafetyProblems('(?<![A-Za-z0-9])ghp_[A-Za-z0-9]{36}(?![A-Za-z0-9])')).toEqual([]);
    expect(regexSafetyProblems('\\d[\\d -]{11,22}\\d')).toEqual([]);
  });

  it('accepts a repeated group whose inner quantifiers are fixed', () => {
    expect(regexSafetyProblems('[A-Z]{2}(?:[A-Z0-9]{4}){2,7}')).toEqual([]);
  });

  it('rejects unbounded quantifiers', () => {
    expect(regexSafetyProblems('a+')).not.toEqual([]);
    expect(regexSafetyProblems('a*')).not.toEqual([]);
    expect(regexSafetyProblems('a{3,}')).not.toEqual([]);
    expect(regexSafetyProblems('[a-z]+?x')).not.toEqual([]);
  });

  it('rejects the classic nested quantifier (a+)+', () => {
    expect(regexSafetyProblems('(a+)+$')).not.toEqual([]);
  });

  it('rejects bounded but ambiguous repeated groups', () => {
    expect(regexSafetyProblems('(?:a|aa){1,30}b')).not.toEqual([]);
    expect(regexSafetyProblems('(?:a?a){1,30}b')).not.toEqual([]);
    expect(regexSafetyProblems('(?:x(?:a{1,3}))){2,9}')).not.toEqual([]);
  });

  it('allows alternation and variable quantifiers in a group taken at most once', () => {
    expect(regexSafetyProblems('(?:RSA |EC )?PRIVATE KEY')).toEqual([]);
    expect(regexSafetyProblems('(?:-[0-9]{1,2})?')).toEqual([]);
  });

  it('rejects quantifier bounds above the window limit', () => {
    expect(regexSafetyProblems('[a-z]{1,100000}')).not.toEqual([]);
  });

  it('rejects backreferences', () => {
    expect(regexSafetyProblems('(a)\\1')).not.toEqual([]);
    expect(regexSafetyProblems('(?<q>a)\\k<q>')).not.toEqual([]);
  });

  it('does not mistake escaped or class-internal metacharacters for quantifiers', () => {
    expect(regexSafetyProblems('\\+\\*[+*?{]x')).toEqual([]);
  });
});

describe('maxMatchLength', () => {
  it('adds literals, classes and bounded repeats', () => {
    expect(maxMatchLength('ghp_[A-Za-z0-9]{36}')).toBe(40);
  });

  it('takes the longest alternative and ignores lookarounds', () => {
    expect(maxMatchLength('(?<![a-z])(?:ab|abcd)(?!x)')).toBe(4);
  });

  it('multiplies a repeated group', () => {
    expect(maxMatchLength('(?:[A-Z0-9]{4}){2,7}')).toBe(28);
  });

  it('counts an escaped character once', () => {
    expect(maxMatchLength('\\.\\u0041\\x41\\d')).toBe(4);
  });

  it('is infinite for an unbounded pattern', () => {
    expect(maxMatchLength('a+')).toBe(Number.POSITIVE_INFINITY);
  });
});
