/**
 * A scrubbed object's keys never collide: two keys redacted to the same marker must not become
 * one and lose a value, so the second is `marker#2`, the third `marker#3`, and so on (the least
 * suffix not taken). Each object remembers, per key, the next suffix to try: keys are only ever
 * added, so every suffix below it is still taken. Trying from 2 every time made an object of
 * many secret keys quadratic (80,000 keys: minutes).
 */
/** The key for `scrubbed`, which `out` already has; `next` is `out`'s own (made at its first collision). */
export function uniqueKey(out: object, scrubbed: string, next: Map<string, number>): string {
  let n = next.get(scrubbed) ?? 2;
  let unique = `${scrubbed}#${n}`;
  while (Object.hasOwn(out, unique)) unique = `${scrubbed}#${++n}`;
  next.set(scrubbed, n + 1);
  return unique;
}
