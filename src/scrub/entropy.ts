/**
 * Shannon entropy, used to tell a real credential in `password = ...` from a
 * placeholder (`changeme`, `xxxxxxxx`, `${DB_PASSWORD}`): generic assignment
 * rules redact only values random enough to be machine- or human-chosen secrets.
 */

const ASCII_COUNTS = new Uint16Array(128);

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
  // Second pass over the value, not over the table: each distinct character once, then cleared.
  for (let i = 0; i < n; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128) continue;
    const count = ascii[code]!;
    if (count === 0) continue;
    ascii[code] = 0;
    bits -= (count / n) * Math.log2(count / n);
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
