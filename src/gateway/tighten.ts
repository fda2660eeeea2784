/**
 * Tightening: the schema an agent's arguments must pass is the upstream's
 * schema narrowed by the policy. It is only ever narrowed: a rule that would
 * accept something the upstream does not (a longer maxLength, an enum value
 * the upstream lacks, an argument it does not have) is refused at load, so a
 * policy typo can never widen what reaches a server.
 *
 * Two passes over a copy of the upstream schema:
 * 1. the policy's tightening is merged in, addressing nested properties and
 *    array items as deep as the policy names them (`merge`);
 * 2. every level is hardened (`harden`): an object is closed (unknown keys
 *    refused) unless the policy keeps a declared map open, and a schema that
 *    uses string, number, array or object keywords without a `type` gets that
 *    type, so `{"$ne": null}` cannot pass where a pattern was meant to hold.
 */
import { randomBytes } from 'node:crypto';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ArgumentTightening, ToolRule } from '../policy/schema/index.js';
import { limitsFor, measureSchema, SCHEMA_LIMITS } from './schema-cost.js';
import { closeKeyFamilies, type KeyScope, quietCondition, scopeOf } from './tighten-maps.js';
import { followReferences, type Walk } from './tighten-references.js';

export type JsonSchema = Record<string, unknown>;

/**
 * Why a tool's schema is refused: `policy_widens` (the policy would accept what the upstream
 * does not), `schema_unsupported` (a reference the gateway cannot follow and harden),
 * `schema_too_costly` (past the limits of schema-cost.ts, before anything is compiled).
 */
export type TightenCode = 'policy_widens' | 'schema_unsupported' | 'schema_too_costly';

export type TightenResult =
  | { ok: true; schema: JsonSchema }
  | { ok: false; code: TightenCode; problems: string[] };

/** Deeper upstream schemas are refused (schema-cost.ts measures first; this guards the recursion). */
export const MAX_SCHEMA_DEPTH = SCHEMA_LIMITS.depth;

const NUMERIC_UPPER = ['maxLength', 'maximum', 'maxItems'] as const;
const NUMERIC_LOWER = ['minLength', 'minimum', 'minItems'] as const;

const STRING_KEYWORDS = ['pattern', 'minLength', 'maxLength', 'format'];
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
const ARRAY_KEYWORDS = ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains'];
const OBJECT_KEYWORDS = [
  'properties',
  'patternProperties',
  'required',
  'minProperties',
  'maxProperties',
  'propertyNames',
];
/** In-place applicators: their subschemas see the same value, so closing the node must account for them. */
const IN_PLACE = ['allOf', 'anyOf', 'oneOf', '$ref', '$dynamicRef', 'if', 'dependentSchemas'];

/**
 * What an array's items are when the upstream leaves them unconstrained (no `items`, or the rest of
 * a tuple): closed values, as an untyped property is. Any scalar passes; an object must be empty; an
 * array holds closed values again. A `$ref` to one definition added at the root keeps it finite.
 * Its name carries a salt drawn per process, so an upstream cannot declare a permissive
 * definition of the same name in a subschema whose `$id` would make the reference resolve to it.
 */
const CLOSED_VALUE = `bulkhead_closed_value_${randomBytes(6).toString('hex')}`;
const CLOSED_REF = `#/$defs/${CLOSED_VALUE}`;

export function tightenSchema(upstream: Tool['inputSchema'], rule: ToolRule): TightenResult {
  // Measured before anything walks or copies it: a hostile schema can be huge.
  const limits = limitsFor(rule.schema_limits);
  const before = measureSchema(upstream, limits.upstream);
  if (!before.ok) return { ok: false, code: before.code, problems: [before.message] };
  const base = structuredClone(upstream) as JsonSchema;
  delete base.$schema;
  base.type = 'object';
  const problems: string[] = [];
  const open = new WeakSet<JsonSchema>();
  merge(base, { properties: rule.arguments }, '', problems, open);
  if (problems.length > 0) return { ok: false, code: 'policy_widens', problems };
  const walk: Walk = { open, problems, visited: new WeakSet(), root: base };
  const hardened = harden(base, 'value', 0, walk);
  if (problems.length === 0) followReferences(walk, (node) => harden(node, 'branch', 0, walk), CLOSED_VALUE);
  if (problems.length > 0) return { ok: false, code: 'schema_unsupported', problems };
  if (JSON.stringify(hardened).includes(CLOSED_REF)) {
    const defs = isSchema(hardened.$defs) ? hardened.$defs : {};
    hardened.$defs = {
      ...defs,
      [CLOSED_VALUE]: { additionalProperties: false, items: { $ref: CLOSED_REF } },
    };
  }
  // Hardening adds copies of references and exact entries: what ajv compiles is measured too.
  const after = measureSchema(hardened, limits.tightened);
  if (!after.ok) return { ok: false, code: after.code, problems: [after.message] };
  return { ok: true, schema: hardened };
}

/** Merges one tightening into one schema node, in place. `path` names it for problems: `a.b[]`. */
function merge(
  node: JsonSchema,
  tight: ArgumentTightening,
  path: string,
  problems: string[],
  open: WeakSet<JsonSchema>,
): void {
  const where = `argument "${path}"`;
  for (const key of NUMERIC_UPPER) {
    const value = tight[key];
    if (value === undefined) continue;
    const existing = node[key];
    if (typeof existing === 'number' && value > existing) {
      problems.push(`${where}: ${key} ${value} would widen the upstream's ${key} ${existing}`);
    }
    node[key] = typeof existing === 'number' ? Math.min(existing, value) : value;
  }
  for (const key of NUMERIC_LOWER) {
    const value = tight[key];
    if (value === undefined) continue;
    const existing = node[key];
    if (typeof existing === 'number' && value < existing) {
      problems.push(`${where}: ${key} ${value} would widen the upstream's ${key} ${existing}`);
    }
    node[key] = typeof existing === 'number' ? Math.max(existing, value) : value;
  }
  const upstreamEnum = node.enum as unknown[] | undefined;
  const allowed = tight.enum ?? (tight.const !== undefined ? [tight.const] : undefined);
  if (allowed) {
    const extra = Array.isArray(upstreamEnum) ? allowed.filter((v) => !upstreamEnum.includes(v)) : [];
    if (extra.length > 0) {
      problems.push(`${where}: enum values ${JSON.stringify(extra)} are not accepted by the upstream`);
    }
    if (node.const !== undefined && !allowed.includes(node.const as never)) {
      problems.push(`${where}: the upstream accepts only ${JSON.stringify(node.const)}`);
    }
    node.enum = allowed;
    delete node.const;
  }
  if (tight.pattern !== undefined) {
    if (typeof node.pattern === 'string' && node.pattern !== tight.pattern) {
      // Both must hold: keep the upstream's pattern and add ours beside it.
      node.allOf = [...((node.allOf as JsonSchema[] | undefined) ?? []), { pattern: tight.pattern }];
    } else {
      node.pattern = tight.pattern;
    }
  }
  narrowType(node, impliedByTightening(tight), where, problems);

  if (tight.additional_properties === true) {
    if (node.additionalProperties === false) {
      problems.push(`${where}: additional_properties true would widen the upstream's closed object`);
    } else {
      open.add(node);
    }
  }
  if (tight.properties) {
    const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
    for (const [name, child] of Object.entries(tight.properties)) {
      const childPath = path ? `${path}.${name}` : name;
      const target = Object.hasOwn(properties, name) ? properties[name] : undefined;
      if (!isSchema(target)) {
        problems.push(
          path
            ? `argument "${childPath}" is not in the upstream schema; a policy cannot add properties`
            : `argument "${name}" is not in the upstream schema; a policy cannot add arguments`,
        );
        continue;
      }
      merge(target, child, childPath, problems, open);
      if (child.required) required.add(name);
    }
    if (required.size > 0) node.required = [...required];
  }
  if (tight.items) {
    const itemsPath = `${path}[]`;
    if (node.prefixItems !== undefined || Array.isArray(node.items)) {
      problems.push(
        `argument "${itemsPath}": the upstream declares a tuple; its items cannot be addressed as one`,
      );
    } else {
      if (node.items === undefined || node.items === true) node.items = {};
      if (isSchema(node.items)) merge(node.items, tight.items, itemsPath, problems, open);
      else problems.push(`argument "${itemsPath}": the upstream accepts no items`);
    }
  }
}

type Position = 'value' | 'branch';

/**
 * Hardens one node and everything below it, returning the node. A `value`
 * node is where an actual argument value sits (the root, a property, items);
 * a `branch` is a subschema applied to the same value (allOf/anyOf/oneOf,
 * then/else, $defs reached through $ref): closing a branch would refuse the
 * keys its siblings declare, so the value node closes with
 * `unevaluatedProperties`, which sees through them. `not` and `if` are left
 * as written: narrowing inside a negation would widen what passes.
 */
function harden(
  node: JsonSchema,
  position: Position,
  depth: number,
  walk: Walk,
  inherited?: KeyScope,
): JsonSchema {
  const { open, problems } = walk;
  // The closed-value reference added below is already what it should be.
  if (node.$ref === CLOSED_REF) return node;
  if (depth > MAX_SCHEMA_DEPTH) {
    if (!problems.includes(TOO_DEEP)) problems.push(TOO_DEEP);
    return node;
  }
  walk.visited.add(node);
  const next = depth + 1;
  const value = (child: unknown) => {
    if (isSchema(child)) harden(child, 'value', next, walk);
  };
  // A value's branches close over the names the whole value declares; a definition, reached
  // from wherever, over its own.
  const scope = position === 'branch' && inherited ? inherited : scopeOf(node, walk.root, open.has(node));
  const branch = (child: unknown) => {
    if (isSchema(child)) harden(child, 'branch', next, walk, scope);
  };
  const definition = (child: unknown) => {
    if (isSchema(child)) harden(child, 'branch', next, walk);
  };
  const each = (list: unknown, fn: (child: unknown) => void) => {
    if (Array.isArray(list)) list.forEach(fn);
  };
  const eachValue = (map: unknown, fn: (child: unknown) => void) => {
    if (isSchema(map)) Object.values(map).forEach(fn);
  };

  if (node.type === undefined && node.enum === undefined && node.const === undefined) {
    const implied = impliedByKeywords(node);
    if (implied.length === 1) node.type = implied[0];
    else if (implied.length > 1) node.type = implied;
  }
  const inPlace = IN_PLACE.some((k) => node[k] !== undefined);
  if (position === 'branch' && !open.has(node)) {
    // A branch's `additionalProperties: true` (or `{}`) marks every key evaluated, and the value
    // node's `unevaluatedProperties: false` then lets any extra key through: it says nothing, so
    // it goes. A map schema is a key family: closed over the declared names (tighten-maps.ts).
    for (const key of ['additionalProperties', 'unevaluatedProperties'] as const)
      if (acceptsAnything(node[key])) delete node[key];
  }
  closeKeyFamilies(node, scope, position === 'branch' || inPlace);
  quietCondition(node, scope);
  if (position === 'value' && !open.has(node) && mayBeObject(node)) {
    if (inPlace) {
      // Keys declared by allOf/anyOf/$ref branches count; anything else is refused.
      if (node.additionalProperties !== false) delete node.additionalProperties;
      node.unevaluatedProperties = false;
    } else {
      node.additionalProperties = false;
    }
  }
  if (position === 'branch') {
    // Maps a branch still has are ones the policy keeps open: their values are closed.
    value(node.additionalProperties);
    value(node.unevaluatedProperties);
  }

  // A `true` property schema accepts anything, objects included: it becomes `{}`, then hardened.
  for (const map of [node.properties, node.patternProperties]) {
    if (!isSchema(map)) continue;
    for (const [key, child] of Object.entries(map)) {
      if (child === true) map[key] = {};
      value(map[key]);
    }
  }
  if (Array.isArray(node.items) && node.prefixItems === undefined) {
    // Draft 7's tuple form, which a 2020-12 validator refuses to compile: the same tuple in
    // today's words, so the tool is served and its rest closed like any tuple's.
    node.prefixItems = node.items;
    if (node.additionalItems === undefined) delete node.items;
    else node.items = node.additionalItems;
    delete node.additionalItems;
  }
  if (node.items === true) node.items = {};
  // An array position with no `items` (or a tuple's rest) holds closed values, not anything.
  if (position === 'value' && node.items === undefined && !open.has(node) && mayBeArray(node))
    node.items = { $ref: CLOSED_REF };
  if (open.has(node)) value(node.additionalProperties);
  if (Array.isArray(node.items)) each(node.items, value);
  else value(node.items);
  each(node.prefixItems, value);
  value(node.additionalItems);
  value(node.unevaluatedItems);
  value(node.contains);
  each(node.allOf, branch);
  each(node.anyOf, branch);
  each(node.oneOf, branch);
  branch(node.then);
  branch(node.else);
  eachValue(node.dependentSchemas, branch);
  eachValue(node.$defs, definition);
  eachValue(node.definitions, definition);
  return node;
}

const TOO_DEEP = `the upstream schema is nested deeper than ${MAX_SCHEMA_DEPTH} levels`;

/** A schema that accepts every value: `true`, or an object with no keyword. */
function acceptsAnything(schema: unknown): boolean {
  return schema === true || (isSchema(schema) && Object.keys(schema).length === 0);
}

/** An untyped node, or one whose type allows objects. */
function mayBeObject(node: JsonSchema): boolean {
  const type = node.type;
  if (type === undefined) return node.enum === undefined && node.const === undefined;
  return type === 'object' || (Array.isArray(type) && type.includes('object'));
}

/** An untyped node, or one whose type allows arrays. */
function mayBeArray(node: JsonSchema): boolean {
  const type = node.type;
  if (type === undefined) return node.enum === undefined && node.const === undefined;
  return type === 'array' || (Array.isArray(type) && type.includes('array'));
}

function impliedByKeywords(node: JsonSchema): string[] {
  const has = (keys: string[]) => keys.some((k) => node[k] !== undefined);
  return [
    ...(has(STRING_KEYWORDS) ? ['string'] : []),
    ...(has(NUMBER_KEYWORDS) ? ['number'] : []),
    ...(has(ARRAY_KEYWORDS) ? ['array'] : []),
    ...(has(OBJECT_KEYWORDS) ? ['object'] : []),
  ];
}

function impliedByTightening(tight: ArgumentTightening): string[] {
  const types: string[] = [];
  if (tight.pattern !== undefined || tight.minLength !== undefined || tight.maxLength !== undefined)
    types.push('string');
  if (tight.minimum !== undefined || tight.maximum !== undefined) types.push('number');
  if (tight.items !== undefined || tight.minItems !== undefined || tight.maxItems !== undefined)
    types.push('array');
  if (tight.properties !== undefined || tight.additional_properties !== undefined) types.push('object');
  return types;
}

/**
 * The node's type becomes what the policy's keywords imply, intersected with
 * what the upstream declares (an upstream `integer` stays `integer` under a
 * policy `maximum`). An empty intersection is a policy mistake, reported.
 */
function narrowType(node: JsonSchema, wanted: string[], where: string, problems: string[]): void {
  if (wanted.length === 0) return;
  const declared = node.type === undefined ? undefined : ([] as string[]).concat(node.type as string);
  if (!declared) {
    node.type = wanted.length === 1 ? wanted[0] : wanted;
    return;
  }
  const kept = declared.filter((t) => wanted.includes(t) || (t === 'integer' && wanted.includes('number')));
  if (kept.length === 0) {
    problems.push(
      `${where}: its keywords apply to ${wanted.join(' or ')} values but the upstream declares ${declared.join(' or ')}`,
    );
    return;
  }
  node.type = kept.length === 1 ? kept[0] : kept;
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
