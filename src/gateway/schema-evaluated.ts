/**
 * Whether a key of an object, or a position of an array, is evaluated by a
 * schema's in-place applicators (`$ref`, `allOf`, the `anyOf`/`oneOf`
 * branches that match, the `if`/`then`/`else` taken, `dependentSchemas`):
 * what decides whether `unevaluatedProperties` / `unevaluatedItems` applies
 * to it, and so whether the defaults under those keywords are filled there.
 * Branches are judged as schema-admits.ts judges them; where a branch that
 * may or may not match would change the answer, it is `unknown` and the
 * caller refuses rather than guess which schema the upstream applies.
 */
import { compileLinear, type LinearRegExp } from '../util/linear-regexp.js';
import { admits, isRecord, type Work } from './schema-admits.js';
import type { JsonSchema } from './tighten.js';
import { resolvePointer } from './tighten-references.js';

export type Evaluated = 'yes' | 'no' | 'unknown';
/** A key of the object being filled, or a position of the array being filled. */
export type Place = { key: string } | { index: number };

/** Past this depth of schema (references included) the answer is `unknown`. */
const MAX_DEPTH = 64;

export function evaluatedBy(
  schema: unknown,
  value: Record<string, unknown> | unknown[],
  place: Place,
  root: JsonSchema,
  work: Work,
  depth = 0,
): Evaluated {
  if (!isRecord(schema)) return 'no';
  if (--work.left < 0 || depth > MAX_DEPTH) return 'unknown';
  const answers: Evaluated[] = [own(schema, value, place, root, work, depth > 0)];
  const inPlace = (child: unknown): Evaluated => evaluatedBy(child, value, place, root, work, depth + 1);
  if (typeof schema.$ref === 'string') answers.push(inPlace(resolvePointer(root, schema.$ref)));
  if (Array.isArray(schema.allOf)) for (const part of schema.allOf) answers.push(inPlace(part));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key];
    if (!Array.isArray(branches)) continue;
    for (const branch of branches) {
      const matches = admits(branch, value, root, work);
      if (matches === 'no') continue;
      const evaluated = inPlace(branch);
      answers.push(matches === 'yes' || evaluated === 'no' ? evaluated : 'unknown');
    }
  }
  if (schema.if !== undefined) {
    const taken = admits(schema.if, value, root, work);
    // A passing `if` evaluates too: its annotations count with its `then`'s.
    const yes = fold([inPlace(schema.if), inPlace(schema.then)]);
    const no = inPlace(schema.else);
    answers.push(taken === 'yes' ? yes : taken === 'no' ? no : yes === no ? yes : 'unknown');
  }
  if (isRecord(schema.dependentSchemas) && isRecord(value))
    for (const [name, member] of Object.entries(schema.dependentSchemas))
      if (Object.hasOwn(value, name)) answers.push(inPlace(member));
  return fold(answers);
}

/** What the node's own keywords evaluate; its `unevaluated*` only when it is applied in place. */
function own(
  schema: JsonSchema,
  value: Record<string, unknown> | unknown[],
  place: Place,
  root: JsonSchema,
  work: Work,
  inPlace: boolean,
): Evaluated {
  if ('key' in place) {
    if (isRecord(schema.properties) && Object.hasOwn(schema.properties, place.key)) return 'yes';
    if (isRecord(schema.patternProperties))
      for (const source of Object.keys(schema.patternProperties))
        if (matchesPattern(source, place.key)) return 'yes';
    if (schema.additionalProperties !== undefined) return 'yes';
    return inPlace && schema.unevaluatedProperties !== undefined ? 'yes' : 'no';
  }
  const prefix = tuple(schema);
  if (place.index < prefix.length) return 'yes';
  if (Array.isArray(schema.items) ? schema.additionalItems !== undefined : schema.items !== undefined)
    return 'yes';
  if (inPlace && schema.unevaluatedItems !== undefined) return 'yes';
  // `contains` evaluates the items it matches.
  if (schema.contains !== undefined && Array.isArray(value)) {
    const matched = admits(schema.contains, value[place.index], root, work);
    return matched === 'yes' ? 'yes' : matched === 'no' ? 'no' : 'unknown';
  }
  return 'no';
}

/** A tuple's positions: `prefixItems`, or draft 7's `items` written as a list. */
export function tuple(schema: JsonSchema): unknown[] {
  if (Array.isArray(schema.prefixItems)) return schema.prefixItems;
  return Array.isArray(schema.items) ? schema.items : [];
}

function fold(answers: Evaluated[]): Evaluated {
  if (answers.includes('yes')) return 'yes';
  return answers.includes('unknown') ? 'unknown' : 'no';
}

const patterns = new Map<string, LinearRegExp | undefined>();

/** Whether `name` matches a `patternProperties` pattern, as ajv reads it (RE2, unicode). */
export function matchesPattern(source: string, name: string): boolean {
  if (!patterns.has(source)) {
    // Bounded: an upstream that changes its patterns on every listing cannot grow it for good.
    if (patterns.size >= 1024) patterns.clear();
    const compiled = compileLinear(source, 'u');
    patterns.set(source, compiled.ok ? compiled.regexp : undefined);
  }
  // A pattern RE2 cannot run kept the tool out of the catalog already; here it matches nothing.
  return patterns.get(source)?.test(name) ?? false;
}
