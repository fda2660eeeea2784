/**
 * Shannon entropy, used to tell a real credential in `password = ...` from a
 * placeholder (`changeme`, `xxxxxxxx`, `${DB_PASSWORD}`): generic assignment
 * rules redact only values random enough to be machine- or human-chosen secrets.
 */

/** Bits per character of `value`'s character distribution; 0 for an empty string. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<number, number>();
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
