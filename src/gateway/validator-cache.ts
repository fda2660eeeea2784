/**
 * Compiled validators for tightened schemas, and what compiling may cost.
 * A re-listing (every `list_changed`) rebuilds an upstream's entries, and ajv
 * compiled each schema again and kept every schema object it was given: a
 * long chain of references cost it up to a second, and its cache only grew.
 * Unchanged schemas reuse their validator; the kept ones are bounded by count
 * and by the size of their text (an upstream that changes its schemas on
 * every listing, each up to schema-cost.ts's limits, cannot grow memory
 * without bound), the least recently used leaving ajv's cache too. And each
 * upstream has a compile budget: one that keeps sending new schemas is
 * refused (its tools kept out, `schema_compile_budget`) once it has used its
 * share of the event loop, rather than stalling every agent.
 */
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { ajvRegExp } from '../util/linear-regexp.js';
import type { JsonSchema } from './tighten.js';
import { useLinearUniqueItems } from './unique-items.js';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

export const CACHE_LIMITS = {
  /** Validators kept (a few per tool a policy names). */
  count: 2048,
  /** Characters of schema text kept, all validators together. */
  chars: 16 * 1024 * 1024,
} as const;

/**
 * Compile time one upstream may spend: a burst (a cold start of many tools), then a steady share
 * of one core. Past it a new schema is refused until the budget refills and the upstream is
 * listed again.
 */
export const COMPILE_BUDGET = { burstMs: 2_000, msPerSecond: 100 } as const;

export type Compiled =
  | { ok: true; validate: ValidateFunction }
  | { ok: false; code: 'schema_compile_budget' | 'schema_uncompilable'; message: string };

interface Kept {
  validate: ValidateFunction;
  schema: JsonSchema;
}

interface Bucket {
  level: number;
  at: number;
}

export class ValidatorCache {
  private readonly ajv = createAjv();
  /** By the schema's text, least recently used first. */
  private readonly kept = new Map<string, Kept>();
  private chars = 0;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: { count: number; chars: number } = CACHE_LIMITS,
    private readonly budget: { burstMs: number; msPerSecond: number } = COMPILE_BUDGET,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** The validator for `schema`, compiled on `upstream`'s budget unless it is already kept. */
  compile(upstream: string, schema: JsonSchema): Compiled {
    const key = JSON.stringify(schema);
    const hit = this.kept.get(key);
    if (hit) {
      this.kept.delete(key);
      this.kept.set(key, hit);
      return { ok: true, validate: hit.validate };
    }
    const bucket = this.refill(upstream);
    if (bucket.level <= 0)
      return {
        ok: false,
        code: 'schema_compile_budget',
        message: `the upstream sent new schemas faster than the gateway compiles them (${this.budget.msPerSecond} ms per second after a burst of ${this.budget.burstMs} ms); refused until it is listed again`,
      };
    const started = this.now();
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(schema);
    } catch (error) {
      return {
        ok: false,
        code: 'schema_uncompilable',
        message: `its input schema cannot be compiled: ${(error as Error).message}`,
      };
    } finally {
      bucket.level -= this.now() - started;
    }
    // What ajv keeps (and is told to forget on eviction): the schema as compiled.
    this.kept.set(key, { validate, schema });
    this.chars += key.length;
    this.evict();
    return { ok: true, validate };
  }

  /** Validators kept, and the characters of their schemas. */
  size(): { count: number; chars: number } {
    return { count: this.kept.size, chars: this.chars };
  }

  private evict(): void {
    while (this.kept.size > this.limits.count || (this.chars > this.limits.chars && this.kept.size > 1)) {
      const [oldest, entry] = this.kept.entries().next().value as [string, Kept];
      this.kept.delete(oldest);
      this.chars -= oldest.length;
      this.ajv.removeSchema(entry.schema);
    }
  }

  private refill(upstream: string): Bucket {
    const now = this.now();
    const bucket = this.buckets.get(upstream) ?? { level: this.budget.burstMs, at: now };
    bucket.level = Math.min(
      this.budget.burstMs,
      bucket.level + ((now - bucket.at) / 1000) * this.budget.msPerSecond,
    );
    bucket.at = now;
    this.buckets.set(upstream, bucket);
    return bucket;
  }
}

function createAjv(): Ajv2020 {
  // strict: false because upstream schemas use keywords ajv does not know; allErrors: false
  // stops at the first failure, so a hostile payload costs one error, not thousands.
  // strictNumbers is on by itself (strict: false turns it off): NaN and ±Infinity are not numbers.
  // Every `pattern` (policy's and upstream's) runs on RE2: linear time, whatever the input.
  // inlineRefs: false compiles each referenced schema once, as a function: inlined, 100
  // references to a 100-property definition took 4.6 s of CPU to compile (0.3 s now).
  const ajv = new Ajv2020({
    strict: false,
    strictNumbers: true,
    allErrors: false,
    coerceTypes: false,
    // Off: the upstream's defaults are filled before the schema is checked (schema-defaults.ts);
    // ajv filled those of every `$ref` branch it tried, failing ones included.
    useDefaults: false,
    inlineRefs: false,
    code: { regExp: ajvRegExp },
  });
  addFormats(ajv);
  useLinearUniqueItems(ajv);
  return ajv;
}
