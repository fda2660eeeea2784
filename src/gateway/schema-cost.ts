/**
 * What an upstream schema may cost before the gateway compiles it. ajv
 * compiles on the event loop, and a listing (at start, and after every
 * `notifications/tools/list_changed`, which the upstream sends when it likes)
 * compiles every tool the policy names: a schema that costs seconds stalls
 * every agent's calls meanwhile. Measured with bench/schema-compile.bench.ts
 * (figures in DESIGN.md): a `$ref` costs about 2 ms to compile, a schema
 * node about 0.3 ms, properties of one object grow worse than linearly (1,000
 * took 0.6 s, 2,000 took 2.4 s, 5,000 overflowed the stack), a chain of 300
 * references overflowed it too, and 100 references to a 100-property
 * definition took 4.6 s while ajv inlined each one (it no longer does, see
 * catalog.ts). A schema past any limit here keeps its tool out, measured by
 * one iterative walk that stops at the first limit crossed: the walk itself
 * is bounded, however large the schema.
 */
import type { ToolRule } from '../policy/schema/index.js';

export const SCHEMA_LIMITS = {
  /** Objects and arrays in schema positions (data under `enum`, `const`, `default`, `examples` not counted). */
  nodes: 1_000,
  /** Nesting of those, the root at 0. */
  depth: 64,
  /** `$ref`s (each compiles to a function of its own and a call per use). */
  references: 64,
  /** Names in one `properties` (or `patternProperties`) map. */
  properties: 256,
  /** Values in all `enum`s together (each call compares against them). */
  enumValues: 10_000,
} as const;

/**
 * What the tightened schema may reach: hardening adds a reference to the closed value in every
 * untyped position that could be an array, one copy per referenced target it could not reach,
 * and exact entries for closed key families (tighten-maps.ts).
 */
export const TIGHTENED_LIMITS = {
  ...SCHEMA_LIMITS,
  nodes: SCHEMA_LIMITS.nodes * 3,
  references: SCHEMA_LIMITS.references * 3,
} as const;

export type SchemaLimits = { [K in keyof typeof SCHEMA_LIMITS]: number };

/** The limits for one tool: the defaults, raised where its rule's `schema_limits` says. */
export function limitsFor(raised: ToolRule['schema_limits']): {
  upstream: SchemaLimits;
  tightened: SchemaLimits;
} {
  if (!raised) return { upstream: SCHEMA_LIMITS, tightened: TIGHTENED_LIMITS };
  const upstream: SchemaLimits = {
    nodes: raised.nodes ?? SCHEMA_LIMITS.nodes,
    depth: SCHEMA_LIMITS.depth,
    references: raised.references ?? SCHEMA_LIMITS.references,
    properties: raised.properties ?? SCHEMA_LIMITS.properties,
    enumValues: raised.enum_values ?? SCHEMA_LIMITS.enumValues,
  };
  return {
    upstream,
    tightened: { ...upstream, nodes: upstream.nodes * 3, references: upstream.references * 3 },
  };
}

export type SchemaCost = { ok: true } | { ok: false; code: 'schema_too_costly'; message: string };

/** Keywords whose values are data, not schemas. */
const DATA = new Set(['enum', 'const', 'default', 'examples']);
/** Keywords holding a map of name → schema: the map is not a level of its own. */
const MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const NAME_MAPS = new Set(['properties', 'patternProperties']);

/** Walks `schema` until it is measured or a limit is crossed. */
export function measureSchema(schema: unknown, limits: SchemaLimits = SCHEMA_LIMITS): SchemaCost {
  const refuse = (what: string, limit: number): SchemaCost => ({
    ok: false,
    code: 'schema_too_costly',
    message: `the upstream schema has more than ${limit} ${what}: compiling it would hold the gateway (a tool you reviewed can raise its schema_limits)`,
  });
  let nodes = 0;
  let references = 0;
  let enumValues = 0;
  // Depth counts schema levels, as hardening does: a property is one level below its object.
  const stack: { value: unknown; depth: number }[] = [{ value: schema, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (value === null || typeof value !== 'object') continue;
    if (++nodes > limits.nodes) return refuse('schema nodes', limits.nodes);
    if (depth > limits.depth) return refuse('levels of nesting', limits.depth);
    if (Array.isArray(value)) {
      // A list of subschemas (allOf, prefixItems) is not a level either.
      for (const item of value) stack.push({ value: item, depth });
      continue;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && ++references > limits.references)
        return refuse('$ref references', limits.references);
      if (key === 'enum' && Array.isArray(child)) {
        enumValues += child.length;
        if (enumValues > limits.enumValues) return refuse('enum values', limits.enumValues);
      }
      if (DATA.has(key) || child === null || typeof child !== 'object') continue;
      if (MAPS.has(key) && !Array.isArray(child)) {
        const entries = Object.values(child);
        if (NAME_MAPS.has(key) && entries.length > limits.properties)
          return refuse(`names in one ${key}`, limits.properties);
        for (const entry of entries) stack.push({ value: entry, depth: depth + 1 });
        continue;
      }
      stack.push({ value: child, depth: depth + 1 });
    }
  }
  return { ok: true };
}
