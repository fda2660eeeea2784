/**
 * JSON Schema shapes that cost ajv a lot to compile, by size: the gateway's
 * schema-cost tests and bench/schema-compile.ts build the same ones.
 */
export type Schema = Record<string, unknown>;

export const object = (properties: Record<string, unknown>): Schema => ({ type: 'object', properties });

/** `n` properties `p0`…, each `value(i)`. */
export const names = (n: number, value: (i: number) => unknown) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, value(i)]));

/** `n` references: the root's, then each definition's to the next. */
export function chain(n: number): Schema {
  n -= 1;
  const $defs: Schema = { [`d${n}`]: { type: 'string' } };
  for (let i = 0; i < n; i++) $defs[`d${i}`] = object({ x: { $ref: `#/$defs/d${i + 1}` } });
  return { ...object({ f: { $ref: '#/$defs/d0' } }), $defs };
}

/** `refs` properties, each a reference to one definition of `width` properties. */
export function fan(refs: number, width: number): Schema {
  const big = object(names(width, () => ({ type: 'string', maxLength: 10 })));
  return { ...object(names(refs, () => ({ $ref: '#/$defs/Big' }))), $defs: { Big: big } };
}

/** Objects nested `depth` deep around one string. */
export function nest(depth: number): Schema {
  let s: Schema = { type: 'string' };
  for (let i = 0; i < depth; i++) s = object({ x: s });
  return s;
}

/** `objects` properties, each an object of `width` string properties. */
export const wide = (objects: number, width: number) =>
  object(names(objects, () => object(names(width, () => ({ type: 'string' })))));
