/**
 * Whether a value may match a schema, judged on the few keywords that pick a
 * branch in real schemas (`type`, `const`, `enum`, `required`, `properties`,
 * closed `additionalProperties`, `$ref`, `allOf`): how a generator tells
 * `Optional[Model]`'s object from its null, or one member of a discriminated
 * union from another. `unknown` when the schema asserts anything else: the
 * caller then treats the branch as possible, so an unsure answer widens the
 * choice (and may refuse it as ambiguous), never narrows it to a wrong one.
 */
import { canonicalJson } from '../util/canonical.js';
import type { JsonSchema } from './tighten.js';
import { resolvePointer } from './tighten-references.js';

export type Admits = 'yes' | 'no' | 'unknown';

/** Keywords that assert nothing about a value. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'definitions',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  'discriminator',
]);
const UNDERSTOOD = new Set([
  'type',
  'const',
  'enum',
  'required',
  'properties',
  'additionalProperties',
  '$ref',
  'allOf',
]);

/** Past this depth of schema (references included) the answer is `unknown`. */
const MAX_DEPTH = 32;

/** Schema positions a caller lets one judgement visit; past them the answer is `unknown`. */
export interface Work {
  left: number;
}

export function admits(
  schema: unknown,
  value: unknown,
  root: JsonSchema,
  work: Work = { left: Number.POSITIVE_INFINITY },
  depth = 0,
): Admits {
  if (--work.left < 0) return 'unknown';
  if (schema === true) return 'yes';
  if (schema === false) return 'no';
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema) || depth > MAX_DEPTH)
    return 'unknown';
  const node = schema as JsonSchema;
  let answer: Admits = 'yes';
  const fold = (next: Admits): void => {
    if (next === 'no' || answer === 'no') answer = 'no';
    else if (next === 'unknown') answer = 'unknown';
  };
  for (const key of Object.keys(node)) {
    if (ANNOTATIONS.has(key)) continue;
    if (!UNDERSTOOD.has(key)) fold('unknown');
  }
  if (node.type !== undefined) fold(typeMatches(node.type, value));
  if (Object.hasOwn(node, 'const')) fold(canonicalJson(node.const) === canonicalJson(value) ? 'yes' : 'no');
  if (Array.isArray(node.enum)) fold(enumTexts(node.enum).has(canonicalJson(value)) ? 'yes' : 'no');
  if (typeof node.$ref === 'string') {
    const target = resolvePointer(root, node.$ref);
    fold(target === undefined ? 'unknown' : admits(target, value, root, work, depth + 1));
  }
  if (Array.isArray(node.allOf))
    for (const part of node.allOf) fold(admits(part, value, root, work, depth + 1));
  if (isRecord(value)) {
    if (Array.isArray(node.required))
      fold(node.required.every((name) => Object.hasOwn(value, String(name))) ? 'yes' : 'no');
    const properties = isRecord(node.properties) ? node.properties : {};
    for (const [name, member] of Object.entries(value)) {
      if (Object.hasOwn(properties, name)) fold(admits(properties[name], member, root, work, depth + 1));
      // A closed object also admits keys its patternProperties match (judged by nothing here).
      else if (node.additionalProperties === false && node.patternProperties === undefined) fold('no');
      else if (node.additionalProperties !== undefined) fold('unknown');
    }
  }
  return answer;
}

/**
 * An enum's members as canonical JSON, once per enum: compared member by member, an upstream's
 * 10,000-value enum under a union in `items` held the loop 29 s for 20,000 array elements.
 */
const enums = new WeakMap<unknown[], Set<string>>();
function enumTexts(members: unknown[]): Set<string> {
  let texts = enums.get(members);
  if (!texts) {
    texts = new Set(members.map((member) => canonicalJson(member)));
    enums.set(members, texts);
  }
  return texts;
}

function typeMatches(type: unknown, value: unknown): Admits {
  const types = Array.isArray(type) ? type : [type];
  return types.some((t) => t === jsonType(value) || (t === 'number' && jsonType(value) === 'integer'))
    ? 'yes'
    : 'no';
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
