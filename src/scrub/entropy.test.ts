import { describe, expect, it } from 'vitest';
import { sampleEntropy, shannonEntropy } from './entropy.js';

describe('shannonEntropy', () => {
  it('is 0 for an empty string and for a repeated character', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaaaaaa')).toBe(0);
  });

  it('is log2(n) for n equally frequent characters', () => {
    expect(shannonEntropy('abcd')).toBeCloseTo(2);
    expect(shannonEntropy('0123456789abcdef')).toBeCloseTo(4);
  });

  it('ranks a random token above a placeholder', () => {
    expect(shannonEntropy('q8Zr2LkP0vXw7Ty')).toBeGreaterThan(shannonEntropy('changemechangeme'));
  });
});

describe('sampleEntropy', () => {
  it('measures only the first 64 characters', () => {
    expect(sampleEntropy(`${'a'.repeat(64)}0123456789abcdef`)).toBe(0);
  });
});
