/**
 * Keys shaped like real ones, from a seeded source, for tests whose premise is "every one of these
 * is redacted". A random `sk-` and 24 base64 characters is not that: about 2% lack a digit, a
 * case, or the spread of characters the OpenAI rule asks of a key, so tests built on them failed
 * about once in fifty runs.
 */
import type { Seeded } from './seeded.js';

const DIGITS = '0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/**
 * `sk-` and 24 distinct letters and digits, at least one of each kind: the shortest key the
 * OpenAI rule always redacts (24 distinct characters carry log2 24 = 4.6 bits each).
 */
export function openAiShapedKey(rng: Seeded): string {
  const pool = [...DIGITS, ...UPPER, ...LOWER];
  const body = [rng.pick(DIGITS), rng.pick(UPPER), rng.pick(LOWER)];
  const rest = pool.filter((c) => !body.includes(c));
  // A partial Fisher-Yates: 21 more, none repeated.
  for (let i = 0; i < 21; i++) {
    const j = i + rng.int(rest.length - i);
    [rest[i], rest[j]] = [rest[j] as string, rest[i] as string];
    body.push(rest[i] as string);
  }
  for (let i = body.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [body[i], body[j]] = [body[j] as string, body[i] as string];
  }
  return `sk-${body.join('')}`;
}
