/**
 * `uniqueItems` in linear time. ajv compares every pair of items that are
 * not all scalars (deep equality): quadratic in the array's length, so an
 * argument of 8,000 small objects (87 KB) held the event loop for two
 * seconds, every other agent's calls with it, wherever an upstream schema
 * says `uniqueItems: true` (or leaves the items untyped). Here each item's
 * canonical JSON (keys sorted, as deep equality ignores their order) goes
 * into a set: one pass.
 */
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { canonicalJson } from '../util/canonical.js';

export function useLinearUniqueItems(ajv: Ajv2020): void {
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    validate: (unique: boolean, data: unknown[]) => !unique || distinct(data),
  });
}

/** No two items of `items` are equal as JSON values. */
export function distinct(items: readonly unknown[]): boolean {
  const seen = new Set<string>();
  for (const item of items) {
    const key = canonicalJson(item);
    if (seen.has(key)) return false;
    seen.add(key);
  }
  return true;
}
