/**
 * An upstream's schema defaults are values its validator applies to what the
 * agent left out. The gateway applies them itself, before the tightened
 * schema is checked, so a default passes the policy's tightening, shows in an
 * approval and the audit trail, and reaches the upstream explicitly: the
 * upstream then has nothing left to fill. Checked without them, a left-out
 * `limit` slipped past a `maximum: 50` and ran with the upstream's 1000.
 *
 * Filled where a validator that applies defaults fills them: `properties`
 * reached through `$ref`, `allOf`, `then`/`else` (the one the `if` picks),
 * `dependentSchemas` and draft 7's `dependencies` (their key present), `patternProperties`,
 * `additionalProperties`, `items` (and draft 7's list form), `unevaluatedProperties` /
 * `unevaluatedItems` (schema-evaluated.ts), a left-out property's `$ref` target or union
 * branch (zod writes its defaults there), and inside an object that is itself a
 * default. In an `anyOf`/`oneOf`, the branch the value matches (schema-admits.ts):
 * pydantic's `Optional[Model]` and discriminated unions. ajv's own
 * `useDefaults` is off: with references compiled as functions it filled the
 * defaults of every `$ref` branch it tried, the failing ones too, and
 * forwarded keys the matching branch had already closed out.
 *
 * Refused (`invalid_arguments`, keyword `ambiguousDefault`) where no single
 * value follows: branches that may match and would fill the value differently,
 * an `if` the gateway cannot decide whose `then` and `else` differ, a tuple
 * (`prefixItems`) shorter than a position with a default (validators disagree
 * on filling it). Not filled, as no validator fills them: `not`, `if` itself,
 * `contains`, `propertyNames`.
 *
 * A `null` default is left out: schema generators write it for an optional
 * argument (`anyOf: [T, null], default: null`), where it says none was given;
 * filled in, it would fail a pattern the policy put on that argument.
 */
import { escapePointer } from '../pipeline/arguments-walk.js';
import { canonicalJson } from '../util/canonical.js';
import { admits, isRecord, type Work } from './schema-admits.js';
import { evaluatedBy, matchesPattern, type Place, tuple } from './schema-evaluated.js';
import type { JsonSchema } from './tighten.js';
import { DATA_KEYWORDS, resolvePointer } from './tighten-references.js';

/** Keywords whose members are schemas by name (a property called `default` is a schema there). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas', 'dependencies']);

export type Filled =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; pointer: string; reason: 'ambiguous' | 'short_tuple' | 'too_costly' };

/** Schema positions one call may visit while filling; past it the call is refused. */
export const MAX_FILL_STEPS = 100_000;
/** Passes after the first before the arguments must stop changing (each default may settle another). */
const MAX_FILL_ROUNDS = 4;
/** Nesting of schema positions (references and data levels together). */
const MAX_FILL_DEPTH = 256;

/** `args` with `schema`'s defaults applied (a copy; `args` is not changed). */
export function fillDefaults(schema: unknown, args: Record<string, unknown>): Filled {
  if (!isRecord(schema)) return { ok: true, value: args };
  const filler = new Filler(schema);
  if (!filler.hasDefault(schema)) return { ok: true, value: args };
  try {
    // Filled again until nothing changes, so the upstream is left nothing to fill: a default can
    // decide an `if` or a union that was judged before it was filled (`mode` defaulting to
    // "bulk" picks the `then` whose `limit` defaults to 1000).
    // A pass that filled nothing returned its input unchanged, so it is the fixed point; most calls
    // with defaults stop after one pass.
    let value: unknown = args;
    for (let pass = 0; pass <= MAX_FILL_ROUNDS; pass++) {
      filler.newRound();
      const next = filler.fill(schema, structuredClone(value), '', 0);
      if (filler.added === 0) return { ok: true, value: next as Record<string, unknown> };
      value = next;
    }
    return { ok: false, pointer: '', reason: 'ambiguous' };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, pointer: error.pointer, reason: error.reason };
    throw error;
  }
}

class Refusal {
  constructor(
    readonly pointer: string,
    readonly reason: 'ambiguous' | 'short_tuple' | 'too_costly',
  ) {}
}

/** Per compiled schema (kept by the validator cache): which of its nodes reach a default. */
const reachesDefault = new WeakMap<object, WeakMap<object, boolean>>();

class Filler {
  /** Defaults written this pass: none means the pass changed nothing. */
  added = 0;
  private steps = 0;
  /** What choosing branches may visit in all, as many again as filling (each visit is a step). */
  private readonly work: Work = { left: MAX_FILL_STEPS };

  /** Each pass has the whole budget: a call costs at most MAX_FILL_ROUNDS + 1 of them. */
  newRound(): void {
    this.added = 0;
    this.steps = 0;
    this.work.left = MAX_FILL_STEPS;
  }
  private readonly withDefault: WeakMap<object, boolean>;

  constructor(private readonly root: JsonSchema) {
    const known = reachesDefault.get(root) ?? new WeakMap<object, boolean>();
    reachesDefault.set(root, known);
    this.withDefault = known;
  }

  fill(schema: unknown, value: unknown, pointer: string, depth: number): unknown {
    if (!isRecord(schema) || !this.hasDefault(schema)) return value;
    if (++this.steps > MAX_FILL_STEPS || depth > MAX_FILL_DEPTH) throw new Refusal(pointer, 'too_costly');
    let out = value;
    if (typeof schema.$ref === 'string') out = this.fill(this.target(schema.$ref), out, pointer, depth + 1);
    if (Array.isArray(schema.allOf))
      for (const part of schema.allOf) out = this.fill(part, out, pointer, depth + 1);
    if (Array.isArray(schema.anyOf)) out = this.choose(schema.anyOf, out, pointer, depth);
    if (Array.isArray(schema.oneOf)) out = this.choose(schema.oneOf, out, pointer, depth);
    if (schema.then !== undefined || schema.else !== undefined) {
      const picked = schema.if === undefined ? 'yes' : this.admits(schema.if, out, pointer);
      const then = schema.then ?? true;
      const otherwise = schema.else ?? true;
      if (picked === 'yes') out = this.fill(then, out, pointer, depth + 1);
      else if (picked === 'no') out = this.fill(otherwise, out, pointer, depth + 1);
      else out = this.choose([then, otherwise], out, pointer, depth);
    }
    if (isRecord(out)) this.fillObject(schema, out, pointer, depth);
    else if (Array.isArray(out)) this.fillArray(schema, out, pointer, depth);
    return out;
  }

  /**
   * Whether `schema` or anything it reaches (references followed) holds a default to fill. Each
   * answer comes from a walk of its own: a cycle's provisional "no", kept for the nodes inside it,
   * made a recursive schema's nested defaults look absent.
   */
  hasDefault(schema: unknown): boolean {
    if (!isRecord(schema)) return false;
    const known = this.withDefault.get(schema);
    if (known !== undefined) return known;
    const seen = new Set<object>();
    const stack: unknown[] = [schema];
    let found = false;
    while (stack.length > 0 && !found) {
      const node = stack.pop();
      if (!isRecord(node) || seen.has(node)) continue;
      seen.add(node);
      if (node.default !== undefined && node.default !== null) found = true;
      for (const [key, member] of Object.entries(node)) {
        if (DATA_KEYWORDS.has(key) || key === '$defs' || key === 'definitions') continue;
        if (key === '$ref' && typeof member === 'string') stack.push(this.target(member));
        else if (Array.isArray(member)) stack.push(...member);
        else if (SCHEMA_MAPS.has(key)) stack.push(...(isRecord(member) ? Object.values(member) : []));
        else stack.push(member);
      }
    }
    this.withDefault.set(schema, found);
    return found;
  }

  private fillObject(
    schema: JsonSchema,
    value: Record<string, unknown>,
    pointer: string,
    depth: number,
  ): void {
    const properties = isRecord(schema.properties) ? schema.properties : {};
    for (const [name, member] of Object.entries(properties)) {
      if (Object.hasOwn(value, name) || !this.hasDefault(member)) continue;
      const found = this.absentDefault(member, `${pointer}/${escapePointer(name)}`, depth + 1);
      if (!found.found) continue;
      this.added++;
      // defineProperty: a property named `__proto__` must not reach the prototype setter.
      Object.defineProperty(value, name, {
        value: structuredClone(found.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    const patternProperties = isRecord(schema.patternProperties) ? schema.patternProperties : {};
    // Draft 7's `dependencies` holds the same schemas (and lists of names, which fill nothing).
    const dependent = {
      ...(isRecord(schema.dependencies) ? schema.dependencies : {}),
      ...(isRecord(schema.dependentSchemas) ? schema.dependentSchemas : {}),
    };
    for (const name of Object.keys(value)) {
      const at = `${pointer}/${escapePointer(name)}`;
      let matched = Object.hasOwn(properties, name);
      if (matched) value[name] = this.fill(properties[name], value[name], at, depth + 1);
      for (const [source, member] of Object.entries(patternProperties)) {
        if (!matchesPattern(source, name)) continue;
        matched = true;
        value[name] = this.fill(member, value[name], at, depth + 1);
      }
      if (!matched && schema.additionalProperties !== undefined)
        value[name] = this.fill(schema.additionalProperties, value[name], at, depth + 1);
      else if (!matched) value[name] = this.fillUnevaluated(schema, value, { key: name }, at, depth);
      if (Object.hasOwn(dependent, name)) this.fill(dependent[name], value, pointer, depth + 1);
    }
  }

  private fillArray(schema: JsonSchema, value: unknown[], pointer: string, depth: number): void {
    // Draft 7 writes a tuple as `items: [...]`, the rest under `additionalItems`.
    const prefix = tuple(schema);
    const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
    for (let i = 0; i < value.length; i++) {
      const at = `${pointer}/${i}`;
      if (i < prefix.length) value[i] = this.fill(prefix[i], value[i], at, depth + 1);
      else if (rest !== undefined) value[i] = this.fill(rest, value[i], at, depth + 1);
      else value[i] = this.fillUnevaluated(schema, value, { index: i }, at, depth);
    }
    for (let i = value.length; i < prefix.length; i++) {
      if (this.hasDefault(prefix[i]) && this.absentDefault(prefix[i], `${pointer}/${i}`, depth + 1).found)
        throw new Refusal(pointer, 'short_tuple');
    }
  }

  /**
   * A member no keyword of this node evaluated, filled by `unevaluatedProperties` /
   * `unevaluatedItems` when nothing applied in place (a reference, a branch taken) evaluated it.
   */
  private fillUnevaluated(
    schema: JsonSchema,
    container: Record<string, unknown> | unknown[],
    place: Place,
    pointer: string,
    depth: number,
  ): unknown {
    const member = 'key' in place ? container[place.key as never] : container[place.index as never];
    const unevaluated = 'key' in place ? schema.unevaluatedProperties : schema.unevaluatedItems;
    if (!this.hasDefault(unevaluated)) return member;
    const evaluated = evaluatedBy(schema, container, place, this.root, this.work);
    if (this.work.left < 0) throw new Refusal(pointer, 'too_costly');
    if (evaluated === 'unknown') throw new Refusal(pointer, 'ambiguous');
    return evaluated === 'no' ? this.fill(unevaluated, member, pointer, depth + 1) : member;
  }

  /**
   * The default a validator gives a left-out member: its own (the outermost wrapper fills first;
   * `null` is "none given"), else the one its reference, `allOf` members and union branches
   * declare. zod writes `.meta({ id })` as `{ $ref }` with the default at the target, and
   * `.default(x).nullable()` as `anyOf: [{ default: x }, { type: 'null' }]`, and fills both.
   * Different defaults there have no single value: refused.
   */
  private absentDefault(
    schema: unknown,
    pointer: string,
    depth: number,
  ): { found: false } | { found: true; value: unknown } {
    if (!isRecord(schema)) return { found: false };
    if (schema.default !== undefined)
      return schema.default === null ? { found: false } : { found: true, value: schema.default };
    // Only a walk inward counts: a default of its own is what every filled property costs already.
    if (++this.steps > MAX_FILL_STEPS || depth > MAX_FILL_DEPTH) throw new Refusal(pointer, 'too_costly');
    const inner: unknown[] = [];
    if (typeof schema.$ref === 'string') inner.push(this.target(schema.$ref));
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const parts = schema[key];
      if (Array.isArray(parts)) inner.push(...parts);
    }
    let found: { found: true; value: unknown; text: string } | undefined;
    for (const part of inner) {
      if (!this.hasDefault(part)) continue;
      const next = this.absentDefault(part, pointer, depth + 1);
      if (!next.found) continue;
      const text = canonicalJson(next.value);
      if (found === undefined) found = { ...next, text };
      else if (found.text !== text) throw new Refusal(pointer, 'ambiguous');
    }
    return found === undefined ? { found: false } : { found: true, value: found.value };
  }

  /** The value filled by whichever branches may match: refused when they would fill it differently. */
  private choose(branches: unknown[], value: unknown, pointer: string, depth: number): unknown {
    const possible = branches.filter((branch) => this.admits(branch, value, pointer) !== 'no');
    if (!possible.some((branch) => this.hasDefault(branch))) return value;
    // Each branch fills a copy of the value: a copy costs a step per KiB of it (200 branches over
    // a 2 MiB argument took 3 s; over the largest message, memory in gigabytes).
    const cost = Math.ceil(canonicalJson(value).length / 1024);
    let chosen: unknown;
    let chosenText: string | undefined;
    for (const branch of possible) {
      this.steps += cost;
      if (this.steps > MAX_FILL_STEPS) throw new Refusal(pointer, 'too_costly');
      const result = this.fill(branch, structuredClone(value), pointer, depth + 1);
      const text = canonicalJson(result);
      if (chosenText === undefined) [chosen, chosenText] = [result, text];
      else if (text !== chosenText) throw new Refusal(pointer, 'ambiguous');
    }
    return chosen;
  }

  private admits(schema: unknown, value: unknown, pointer: string): ReturnType<typeof admits> {
    const answer = admits(schema, value, this.root, this.work);
    if (this.work.left < 0) throw new Refusal(pointer, 'too_costly');
    return answer;
  }

  private target(ref: string): JsonSchema | undefined {
    return resolvePointer(this.root, ref);
  }
}
