/**
 * Canonical JSON: object keys sorted, no whitespace, so the same arguments
 * always hash the same however a client ordered them. Used to bind approvals
 * to exact arguments, to spot repeated identical calls, and to hash every
 * audit event into its writer's chain.
 *
 * The output is part of stored hashes (audit chains, approvals), so it must
 * never change: keys in UTF-16 code unit order, `undefined` members left out,
 * and any other value that JSON cannot hold written as `null`. It is built by
 * appending to one string rather than through entries/map/join arrays,
 * because it runs on every audit event (it was the largest part of an append).
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  // Own enumerable string keys, as Object.entries gives them; the default sort compares
  // UTF-16 code units, the same order as `<` on strings.
  const keys = Object.keys(object).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = object[key];
    if (member === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/** SHA-256 (hex) of the canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}
