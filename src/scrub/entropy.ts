/**
 * Shannon entropy, used to tell a real credential in `password = ...` from a
 * placeholder (`changeme`, `xxxxxxxx`, `${DB_PASSWORD}`): generic assignment
 * rules redact only values random enough to be machine- or human-chosen secrets.
 */

const ASCII_COUNTS = new Uint16Array(128);

/** Values up to this long have their entropy terms in TERMS. */
const TERMS_UP_TO = 64;
/** `TERMS[n][count]`: `(count / n) * Math.log2(count / n)`, as shannonEntropy computes it. */
const TERMS: Float64Array[] = Array.from({ length: TERMS_UP_TO + 1 }, (_, n) =>
  Float64Array.from({ length: n + 1 }, (_, count) => (n === 0 ? 0 : (count / n) * Math.log2(count / n))),
);

/** Bits per character of `value`'s character distribution; 0 for an empty string. */
export function shannonEntropy(value: string): number {
  const n = value.length;
  if (n === 0) return 0;
  // Rule values are short (≤ 4 KiB): count ASCII in a small table, anything else in a map. One
  // table for every call (the second pass leaves it zeroed): rules call this on every candidate.
  const ascii = ASCII_COUNTS;
  let other: Map<number, number> | undefined;
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i);
    if (code < 128) ascii[code]!++;
    else {
      other ??= new Map();
      other.set(code, (other.get(code) ?? 0) + 1);
    }
  }
  let bits = 0;
  // Each term of a value up to TERMS_UP_TO long is read from a table: the same expression,
  // evaluated once ahead, so the sum is the same to the last bit (a `Math.log2` call per
  // distinct character was most of a rule gate's time on text of many candidates).
  const terms = n <= TERMS_UP_TO ? TERMS[n]! : undefined;
  // Second pass over the value, not over the table: each distinct character once, then cleared.
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128) continue;
    const count = ascii[code]!;
    if (count === 0) continue;
    ascii[code] = 0;
    bits -= terms ? terms[count]! : (count / n) * Math.log2(count / n);
  }
  if (other) for (const count of other.values()) bits -= (count / n) * Math.log2(count / n);
  return bits;
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
