/**
 * The one seeded pseudo-random source for tests that generate their cases: the same seed gives
 * the same sequence on every run and machine, so a failing case is reproduced from its seed.
 * Never Math.random in a generated test.
 *
 * mulberry32: 32 bits of state, every output bit random (the low bits of a plain LCG such as
 * `x * 1103515245 + 12345` repeat with a short period, so `x % 2` alternates), and all arithmetic
 * stays in 32-bit integers (an LCG on doubles loses bits past 2^53).
 */
export interface Seeded {
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n), for n a positive integer up to 2^32. */
  int(n: number): number;
  /** One item of `items` (a UTF-16 unit of a string); throws on an empty one. */
  pick<T>(items: ArrayLike<T>): T;
  /** `count` picks from `alphabet` joined: characters of a string, or pieces of a list. */
  text(alphabet: string | readonly string[], count: number): string;
}

/** A generator started from `seed` (any number; only its low 32 bits count). */
export function seeded(seed: number): Seeded {
  let state = seed | 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const float = (): number => uint32() / 2 ** 32;
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32)
      throw new RangeError(`seeded.int: ${n} is not in 1..2^32`);
    return Math.floor(float() * n);
  };
  const pick = <T>(items: ArrayLike<T>): T => {
    if (items.length === 0) throw new RangeError('seeded.pick: no items');
    return items[int(items.length)] as T;
  };
  const text = (alphabet: string | readonly string[], count: number): string => {
    let out = '';
    for (let i = 0; i < count; i++) out += pick(alphabet);
    return out;
  };
  return { float, int, pick, text };
}
