/**
 * Key families that admit any name (see tighten.ts). Closing an object with
 * `additionalProperties: false` refuses only keys no `patternProperties`
 * pattern matches, and `unevaluatedProperties: false` only keys no applied
 * subschema evaluated: a catch-all pattern (`.*`, `^`, `''`, `[\s\S]*`, `.`,
 * `^[a-z]+$`), a branch whose `additionalProperties` or
 * `unevaluatedProperties` is a schema, or an `if` whose annotations count,
 * let `admin: true` or `$where` through a closed object.
 *
 * The rule: a family that admits a name an agent would inject is a map, and
 * a map is closed unless the policy keeps it open (`additional_properties:
 * true`), as an upstream's `additionalProperties` map already is. Closing it
 * keeps what it says about the names the upstream does declare: its schema is
 * re-attached to each declared name it covered (an exact `^name$` entry), so
 * a constraint the upstream put on declared keys through the family still
 * holds, and no other name is admitted.
 */
import { randomBytes } from 'node:crypto';
import { compileLinear, type LinearRegExp } from '../util/linear-regexp.js';
import { resolvePointer } from './tighten-references.js';

type JsonSchema = Record<string, unknown>;

/** Where the keys a node may close over come from, and whether the policy keeps them open. */
export interface KeyScope {
  /** Every name the value's schema declares in `properties`, here or in an applied branch. */
  names: () => ReadonlySet<string>;
  open: boolean;
}

/**
 * Names an attacker would add. A pattern matching any of them admits arbitrary
 * keys; the salted one catches families written to dodge a fixed list.
 */
const PROBES = ['', 'admin', 'isAdmin', 'role', 'url', 'x', 'Z', '$where', '_', '0', 'a b', salted()];

function salted(): string {
  return [...randomBytes(12)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
}

/** Applicators whose subschemas see the same value, followed to collect declared names. */
const BRANCH_LISTS = ['allOf', 'anyOf', 'oneOf'] as const;
const BRANCH_ONES = ['then', 'else'] as const;

/** The compiled pattern, or undefined when RE2 cannot run it (ajv then refuses the tool). */
function compiled(pattern: string): LinearRegExp | undefined {
  const result = compileLinear(pattern, 'u');
  return result.ok ? result.regexp : undefined;
}

export function isCatchAll(pattern: string): boolean {
  const re = compiled(pattern);
  return re !== undefined && PROBES.some((probe) => re.test(probe));
}

/** A scope for a value node: its own declared names, computed once and only when asked for. */
export function scopeOf(node: JsonSchema, root: JsonSchema, open: boolean): KeyScope {
  let names: Set<string> | undefined;
  return { open, names: () => (names ??= declaredNames(node, root)) };
}

/**
 * Names `properties` declare in `node` and in every branch applied to the same value (allOf,
 * anyOf, oneOf, then, else, dependentSchemas, local `$ref`s): the keys a closed value accepts.
 */
export function declaredNames(node: JsonSchema, root: JsonSchema): Set<string> {
  const names = new Set<string>();
  const seen = new Set<JsonSchema>();
  const stack = [node];
  while (stack.length > 0) {
    const at = stack.pop() as JsonSchema;
    if (seen.has(at)) continue;
    seen.add(at);
    if (isSchema(at.properties)) for (const name of Object.keys(at.properties)) names.add(name);
    const push = (child: unknown) => {
      if (isSchema(child)) stack.push(child);
    };
    for (const key of BRANCH_LISTS) if (Array.isArray(at[key])) (at[key] as unknown[]).forEach(push);
    for (const key of BRANCH_ONES) push(at[key]);
    if (isSchema(at.dependentSchemas)) Object.values(at.dependentSchemas).forEach(push);
    if (typeof at.$ref === 'string') push(resolvePointer(root, at.$ref));
  }
  return names;
}

/**
 * Closes the key families of one node, in place. Catch-all patterns become exact entries for the
 * declared names they matched; with `maps`, a schema-valued `additionalProperties` or
 * `unevaluatedProperties` (which, in a branch, evaluates every key for the value's
 * `unevaluatedProperties: false`) becomes exact entries for the declared names it covered.
 */
export function closeKeyFamilies(node: JsonSchema, scope: KeyScope, maps: boolean): void {
  if (scope.open) return;
  const patterns = isSchema(node.patternProperties) ? node.patternProperties : undefined;
  if (patterns) {
    for (const [pattern, schema] of Object.entries(patterns)) {
      if (!isCatchAll(pattern)) continue;
      delete patterns[pattern];
      // `true` or `{}` says nothing about the declared keys: nothing to keep.
      if (acceptsAnything(schema)) continue;
      const re = compiled(pattern);
      for (const name of scope.names()) if (re?.test(name)) addExact(node, name, schema);
    }
  }
  if (!maps) return;
  for (const key of ['additionalProperties', 'unevaluatedProperties'] as const) {
    const map = node[key];
    if (map === false || map === undefined) continue;
    delete node[key];
    if (acceptsAnything(map)) continue;
    const own = isSchema(node.properties) ? node.properties : {};
    const families = Object.keys(isSchema(node.patternProperties) ? node.patternProperties : {})
      .map(compiled)
      .filter((re): re is LinearRegExp => re !== undefined);
    for (const name of scope.names()) {
      if (Object.hasOwn(own, name) || families.some((re) => re.test(name))) continue;
      addExact(node, name, map);
    }
  }
}

/**
 * An `if` is applied to the value, and its annotations count when it passes: `if:
 * {additionalProperties: true}` marked every key evaluated. Hardening inside `if` would change
 * the condition, so when its subtree can evaluate keys beyond declared names it is wrapped in
 * `not: {not: ...}`, which passes and fails exactly as before and yields no annotations.
 */
export function quietCondition(node: JsonSchema, scope: KeyScope): void {
  if (scope.open || !isSchema(node.if) || !evaluatesBeyondNames(node.if)) return;
  node.if = { not: { not: node.if } };
}

function evaluatesBeyondNames(schema: JsonSchema): boolean {
  const stack: unknown[] = [schema];
  while (stack.length > 0) {
    const at = stack.pop();
    if (Array.isArray(at)) {
      stack.push(...at);
      continue;
    }
    if (!isSchema(at)) continue;
    if (at.patternProperties !== undefined || at.$ref !== undefined || at.$dynamicRef !== undefined)
      return true;
    for (const key of ['additionalProperties', 'unevaluatedProperties'])
      if (at[key] !== undefined && at[key] !== false) return true;
    for (const [key, child] of Object.entries(at))
      if (key !== 'not' && key !== 'enum' && key !== 'const') stack.push(child);
  }
  return false;
}

/** Adds `^name$` → schema (a copy), both holding where an entry of that pattern already exists. */
function addExact(node: JsonSchema, name: string, schema: unknown): void {
  const patterns = (isSchema(node.patternProperties) ? node.patternProperties : {}) as JsonSchema;
  node.patternProperties = patterns;
  const pattern = exactPattern(name);
  const copy = structuredClone(schema);
  const existing = patterns[pattern];
  patterns[pattern] = existing === undefined ? copy : { allOf: [existing, copy] };
}

/** `^name$` with every character outside [A-Za-z0-9_] written as `\u{…}` (valid under ajv's `u` flag and RE2). */
export function exactPattern(name: string): string {
  let out = '^';
  for (const char of name)
    out += /[A-Za-z0-9_]/.test(char) ? char : `\\u{${(char.codePointAt(0) as number).toString(16)}}`;
  return `${out}$`;
}

function acceptsAnything(schema: unknown): boolean {
  return schema === true || (isSchema(schema) && Object.keys(schema).length === 0);
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
