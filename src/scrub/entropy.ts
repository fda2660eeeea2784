/**
 * Shannon entropy, used to tell a real credential in `password = ...` from a
 * placeholder (`changeme`, `xxxxxxxx`, `${DB_PASSWORD}`): generic assignment
 * rules redact only values random enough to be machine- or human-chosen secrets.
 */

/**
 * Counts of the ASCII code units of the value being measured (left zeroed). 32 bits: no rule value
 * comes near a 16-bit count (the longest rule window is 16,500 characters), but none can wrap.
 */
const ASCII_COUNTS = new Uint32Array(128);
/** The ASCII code units of the value being measured, in order of first occurrence (and a slot for the write after the 128th). */
const DISTINCT = new Uint8Array(129);
/** Whether the last value measured was all ASCII (see `lastValueAscii`). */
let lastAscii = false;

/** Values up to this long have their entropy terms in TERMS. */
const TERMS_UP_TO = 64;
/** `TERMS[n][count]`: `(count / n) * Math.log2(count / n)`, as shannonEntropy computes it. */
const TERMS: Float64Array[] = Array.from({ length: TERMS_UP_TO + 1 }, (_, n) =>
  Float64Array.from({ length: n + 1 }, (_, count) => (n === 0 ? 0 : (count / n) * Math.log2(count / n))),
);

/** Bits per character of `value`'s character distribution; 0 for an empty string. */
export function shannonEntropy(value: string): number {
  return entropyIn(value, 0, value.length);
}

/**
 * `shannonEntropy(input.slice(from, to))`, read in place: a rule gate on a page of real keys
 * (one every 28 characters) read each through a slice of the text, every code unit of it
 * through the slice's indirection.
 */
export function entropyIn(input: string, from: number, to: number): number {
  const n = to - from;
  lastAscii = true;
  if (n <= 0) return 0;
  // Rule values are short (≤ 16,500): count ASCII in a small table, anything else in a map. One
  // table for every call (left zeroed): rules call this on every candidate. The ASCII code units
  // are listed as first met, so their terms are summed in that order (the order of a second pass
  // over the value, as before) without reading the value again: that pass was half the time of
  // a rule gate on text of many candidates.
  const ascii = ASCII_COUNTS;
  const distinct = DISTINCT;
  let kinds = 0;
  let other: Map<number, number> | undefined;
  for (let i = from; i < to; i++) {
    const code = input.charCodeAt(i);
    if (code < 128) {
      // Without a branch on whether the character is new: in a random key about one in five
      // repeats, at random, and the mispredicted branch was half the time of the count. The
      // code is written at `kinds` each time, kept only where it was new.
      const count = ascii[code]!;
      ascii[code] = count + 1;
      distinct[kinds] = code;
      kinds += (count - 1) >>> 31;
    } else {
      other ??= new Map();
      other.set(code, (other.get(code) ?? 0) + 1);
    }
  }
  let bits = 0;
  // Each term of a value up to TERMS_UP_TO long is read from a table: the same expression,
  // evaluated once ahead, so the sum is the same to the last bit (a `Math.log2` call per
  // distinct character was most of a rule gate's time on text of many candidates).
  const terms = n <= TERMS_UP_TO ? TERMS[n]! : undefined;
  for (let k = 0; k < kinds; k++) {
    const code = distinct[k]!;
    const count = ascii[code]!;
    ascii[code] = 0;
    bits -= terms ? terms[count]! : (count / n) * Math.log2(count / n);
  }
  if (other) {
    lastAscii = false;
    for (const count of other.values()) bits -= (count / n) * Math.log2(count / n);
  }
  return bits;
}

/**
 * Whether the value of the last `shannonEntropy` or `sampleEntropy` call (the sample, for the
 * latter) was all ASCII: a gate that measured a value's entropy knows without reading it again
 * that no character of it is in a script written without spaces (generic.ts `mostlyCjk`).
 */
export function lastValueAscii(): boolean {
  return lastAscii;
}

/** Characters sampled by `sampleEntropy`: enough to tell random from repetitive. */
export const ENTROPY_SAMPLE = 64;

/**
 * Entropy of the first ENTROPY_SAMPLE characters. Rule gates call this on every candidate, and
 * an input built of repeated near-misses (`token=token=token=...`) makes candidates long and
 * frequent; sampling keeps that cost bounded per hit.
 */
export function sampleEntropy(value: string): number {
  return shannonEntropy(value.length > ENTROPY_SAMPLE ? value.slice(0, ENTROPY_SAMPLE) : value);
}

/** `sampleEntropy(input.slice(from, to))`, read in place. */
export function sampleEntropyIn(input: string, from: number, to: number): number {
  return entropyIn(input, from, to - from > ENTROPY_SAMPLE ? from + ENTROPY_SAMPLE : to);
}

/** Flags of `ASCII_KINDS`: an ASCII digit, upper-case letter, lower-case letter. */
export const HAS_DIGIT = 1;
export const HAS_UPPER = 2;
export const HAS_LOWER = 4;
const ASCII_KINDS = Uint8Array.from({ length: 128 }, (_, code) =>
  code >= 48 && code <= 57
    ? HAS_DIGIT
    : code >= 65 && code <= 90
      ? HAS_UPPER
      : code >= 97 && code <= 122
        ? HAS_LOWER
        : 0,
);

/**
 * Which of `[0-9]`, `[A-Z]`, `[a-z]` occur in `input[from, to)` (HAS_DIGIT | HAS_UPPER |
 * HAS_LOWER): the three tests of a key gate in one pass, with no slice; reads until all three
 * are seen.
 */
export function asciiKindsIn(input: string, from: number, to: number): number {
  let kinds = 0;
  for (let i = from; i < to && kinds !== 7; i++) {
    const code = input.charCodeAt(i);
    if (code < 128) kinds |= ASCII_KINDS[code]!;
  }
  return kinds;
}
