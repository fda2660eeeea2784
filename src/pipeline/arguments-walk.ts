/**
 * One pass over untrusted arguments, before any schema looks at them, for
 * what JSON Schema cannot express or what JavaScript's JSON layers hide:
 *
 * - nesting deeper than a limit (so no later stage can exhaust the stack);
 * - keys named `__proto__`, `constructor` or `prototype`, at any depth: a
 *   JavaScript upstream that merges arguments into an object can be
 *   prototype-polluted by them, and parsing layers silently drop or turn a
 *   `__proto__` key into a prototype, so it is refused rather than passed on
 *   in some altered form; also as a segment of a key that is a path
 *   (`__proto__.isAdmin`, `a[constructor][prototype]`), which upstreams that
 *   set nested values by path (lodash `set`, query-string parsers) walk;
 * - objects whose prototype is not a plain object's or an array's (what a
 *   `__proto__` key became after an assignment-based copy);
 * - numbers that are not finite: JSON's `-1e400` parses to `-Infinity`, which
 *   passes `maximum` in an untyped position and reaches the upstream as `null`.
 *
 * Iterative, so the walk itself cannot overflow the stack.
 */

export const MAX_ARGUMENT_DEPTH = 32;

/** Keys that reach an object's prototype chain when a JavaScript consumer assigns or merges them. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type ArgumentProblem =
  | { kind: 'too_deep'; pointer: string }
  | { kind: 'forbidden_key'; pointer: string; key: string }
  | { kind: 'non_finite'; pointer: string };

export function walkArguments(value: unknown, maxDepth = MAX_ARGUMENT_DEPTH): ArgumentProblem | undefined {
  const stack: [unknown, string, number][] = [[value, '', 0]];
  while (stack.length > 0) {
    const [item, pointer, depth] = stack.pop() as [unknown, string, number];
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return { kind: 'non_finite', pointer };
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (depth >= maxDepth) return { kind: 'too_deep', pointer };
    const proto = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
      return { kind: 'forbidden_key', pointer: `${pointer}/__proto__`, key: '__proto__' };
    }
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) stack.push([item[i], `${pointer}/${i}`, depth + 1]);
      continue;
    }
    // Own keys, so a non-enumerable or inherited oddity is seen too.
    for (const key of Object.getOwnPropertyNames(item)) {
      const child = `${pointer}/${escapePointer(key)}`;
      if (isForbiddenKey(key)) return { kind: 'forbidden_key', pointer: child, key };
      stack.push([(item as Record<string, unknown>)[key], child, depth + 1]);
    }
  }
  return undefined;
}

/** Path separators of the common "set by path" helpers: dots and brackets. */
const PATH_SEGMENTS = /[.[\]]+/;

/** A forbidden key, or a path holding one as a segment. */
export function isForbiddenKey(key: string): boolean {
  if (FORBIDDEN_KEYS.has(key)) return true;
  if (!key.includes('__proto__') && !key.includes('constructor') && !key.includes('prototype')) return false;
  return key.split(PATH_SEGMENTS).some((segment) => FORBIDDEN_KEYS.has(segment));
}

export function escapePointer(segment: string): string {
  if (!segment.includes('~') && !segment.includes('/')) return segment;
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}
