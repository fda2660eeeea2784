/**
 * A large result's long strings travel to an inspection worker as bytes in a
 * reused shared slab (slabs.ts), the rest of it as usual. Posting a 1 MB
 * result made the event loop serialise it into fresh memory, about 3.5 ms
 * per MB on every large call before the worker could start; writing its
 * strings into a slab that is already mapped costs a tenth of that.
 *
 * Exact both ways: a string of ASCII only (its UTF-8 length is its length)
 * is written as Latin-1, one byte per character; any other as UTF-16 code
 * units, so lone surrogates, which a UTF-8 round trip would replace, come
 * back as they were. The structure around the strings (`shape`) is a copy
 * with each long string's place kept by an empty string, so key order, and
 * with it the JSON, is unchanged; `restore` puts each string back at its
 * place as a data property (a `__proto__` key stays data). A result that is
 * not plain JSON data (objects other than plain ones and arrays, nesting
 * past `MAX_SAME_DEPTH`) is not stowed: it is posted whole, as before.
 */
import { MAX_SAME_DEPTH } from './same-data.js';

/** String values at least this long go through the slab; shorter ones ride in the message. */
export const LONG_VALUE = 16 * 1024;

type Key = string | number;

/** Where one long string sits in the shape and where its bytes are in the slab. */
export interface StowedString {
  path: Key[];
  start: number;
  end: number;
  encoding: 'latin1' | 'utf16le';
}

export interface Stowed<T> {
  shape: T;
  strings: StowedString[];
  /** Bytes the strings take in the slab. */
  size: number;
  /** Writes the strings into `into` (at least `size` bytes). */
  write(into: Uint8Array): void;
}

/**
 * `value` split into its shape and its long strings; undefined when it has none, or is not plain
 * JSON data (then it is posted whole).
 */
export function stowLongStrings<T>(value: T): Stowed<T> | undefined {
  const strings: StowedString[] = [];
  const texts: string[] = [];
  let size = 0;
  const path: Key[] = [];
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') {
      if (item.length < LONG_VALUE) return item;
      const ascii = Buffer.byteLength(item, 'utf8') === item.length;
      const bytes = ascii ? item.length : item.length * 2;
      strings.push({
        path: [...path],
        start: size,
        end: size + bytes,
        encoding: ascii ? 'latin1' : 'utf16le',
      });
      texts.push(item);
      size += bytes;
      return '';
    }
    if (typeof item !== 'object' || item === null) return item;
    if (depth >= MAX_SAME_DEPTH) throw NOT_PLAIN;
    if (Array.isArray(item)) {
      if (Object.getPrototypeOf(item) !== Array.prototype) throw NOT_PLAIN;
      const out: unknown[] = new Array(item.length);
      for (let i = 0; i < item.length; i++) {
        path.push(i);
        out[i] = walk(item[i], depth + 1);
        path.pop();
      }
      return out;
    }
    const proto = Object.getPrototypeOf(item) as unknown;
    if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(item)) {
      path.push(key);
      define(out, key, walk(inner, depth + 1));
      path.pop();
    }
    return out;
  };
  let shape: T;
  try {
    shape = walk(value, 0) as T;
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
  if (strings.length === 0) return undefined;
  return {
    shape,
    strings,
    size,
    write(into) {
      const buffer = Buffer.from(into.buffer, into.byteOffset, into.byteLength);
      for (let i = 0; i < strings.length; i++) {
        const { start, end, encoding } = strings[i] as StowedString;
        const written = buffer.write(texts[i] as string, start, end - start, encoding);
        // Never a string cut short: the worker would inspect less than the agent gets.
        if (written !== end - start) throw new RangeError('a long string did not fit its place');
      }
    },
  };
}

/** Puts the strings read from `bytes` back into `shape` (the worker's side). */
export function restoreLongStrings<T>(shape: T, strings: readonly StowedString[], bytes: Uint8Array): T {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const { path, start, end, encoding } of strings) {
    const text = buffer.toString(encoding, start, end);
    if (path.length === 0) return text as T;
    let parent: unknown = shape;
    for (let i = 0; i < path.length - 1; i++) parent = (parent as Record<Key, unknown>)[path[i] as Key];
    const key = path[path.length - 1] as Key;
    const holder = parent as Record<Key, unknown>;
    // Only a place the shape kept for it: a stray path must not add a field.
    if (typeof holder !== 'object' || holder === null || holder[key] !== '')
      throw new RangeError('a long string has no place in the shape');
    define(holder, key, text);
  }
  return shape;
}

const NOT_PLAIN = Symbol('not plain JSON data');

function define(target: Record<Key, unknown>, key: Key, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
