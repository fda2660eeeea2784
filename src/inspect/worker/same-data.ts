/**
 * Whether an inspection changed nothing, so the worker need not send the
 * result back (thread.ts): sending a 1 MB answer back cost the worker about
 * 3 ms to serialise and the main thread about 3 ms to read, in series, on
 * every large call, and nearly every large result comes out of inspection
 * and scrubbing as it went in.
 *
 * "The same" is strict, so that the main thread's own copy, serialised by
 * `JSON.stringify`, gives byte for byte what the worker's result would: the
 * same own keys in the same order, strings equal, numbers `Object.is`-equal
 * (`-0` is not `0`), the same literals, arrays of the same length, and
 * objects only of the kinds a parsed JSON message holds (plain objects and
 * arrays; anything else is "not the same"). Nesting past `MAX_SAME_DEPTH`
 * is "not the same", never assumed: the worker then sends its result.
 */

/** Deeper than this, the answer is "not the same" (the worker sends its result). */
export const MAX_SAME_DEPTH = 256;

export function sameData(a: unknown, b: unknown): boolean {
  const stack: [unknown, unknown, number][] = [[a, b, 0]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [x, y, depth] = next;
    if (typeof x !== 'object' || x === null || typeof y !== 'object' || y === null) {
      if (!Object.is(x, y)) return false;
      continue;
    }
    if (x === y) continue;
    if (depth >= MAX_SAME_DEPTH || !plain(x) || !plain(y)) return false;
    const xs = Array.isArray(x);
    if (xs !== Array.isArray(y)) return false;
    const keys = Object.keys(x);
    const others = Object.keys(y);
    if (keys.length !== others.length) return false;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (key !== others[i]) return false;
      stack.push([(x as Record<string, unknown>)[key], (y as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return true;
}

/** A plain object or array: what JSON.parse and a structured clone of it make. */
function plain(value: object): boolean {
  if (Array.isArray(value)) return Object.getPrototypeOf(value) === Array.prototype;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * `value` with every object and array copied and every string shared: what the main thread
 * keeps when the worker changed nothing, a structure of its own (it is frozen there, output.ts)
 * that costs no copy of the text.
 */
export function copyShape<T>(value: T): T {
  return copy(value, 0, false) as T;
}

/**
 * `copyShape`, nesting past MAX_SAME_DEPTH replaced by null: a result nested deeper than a
 * structured clone can follow, made fit to post. What it drops, the inspection would have
 * dropped anyway (it nulls nesting past 64, the scrubber past 200).
 */
export function copyShallow<T>(value: T): T {
  return copy(value, 0, true) as T;
}

function copy(value: unknown, depth: number, cut: boolean): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_SAME_DEPTH) {
    if (cut) return null;
    // Unreachable for what `sameData` accepted (it refuses nesting this deep).
    throw new RangeError('nesting too deep to copy');
  }
  if (Array.isArray(value)) return value.map((item) => copy(item, depth + 1, cut));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // Defined, not assigned: a `__proto__` key stays data, as in the worker's result.
    Object.defineProperty(out, key, {
      value: copy(item, depth + 1, cut),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
