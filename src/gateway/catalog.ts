/**
 * The tool catalog: the tools an agent can see, one entry per exposed name,
 * built from what each upstream lists and what the policy allows. A tool the
 * policy does not name never gets an entry.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { cleanDefinition } from '../inspect/definition.js';
import type { InspectFinding } from '../inspect/index.js';
import { exposedName, type ToolRule } from '../policy/schema/index.js';
import { ajvRegExp } from '../util/linear-regexp.js';
import { type JsonSchema, tightenSchema } from './tighten.js';
import { useLinearUniqueItems } from './unique-items.js';

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

export interface CatalogTool {
  /** What the agent sees and calls: `<upstream>__<tool or rename>`. */
  readonly exposed: string;
  readonly upstream: string;
  /** The tool's name on its upstream. */
  readonly original: string;
  readonly rule: ToolRule;
  /**
   * The definition as the agent sees it: exposed name, tightened schema, policy description and
   * class hints, the upstream's other fields; every string cleaned of hidden characters and
   * secrets, forged `_meta` keys dropped.
   */
  readonly definition: Tool;
  /** The definition as the upstream listed it (for audit and pinning). */
  readonly upstreamDefinition: Tool;
  /** Compiled once: the tightened input schema. */
  readonly validate: ValidateFunction;
}

export interface CatalogProblem {
  upstream: string;
  tool: string;
  message: string;
}

export interface CatalogOptions {
  /** tools[upstream][tool] from the policy. */
  rules: Record<string, Record<string, ToolRule>>;
  /** Decides whether a (re)listed definition may be served, e.g. against pins. */
  admit?: (entry: CatalogTool) => { ok: true } | { ok: false; reason: string };
  onProblem?: (problem: CatalogProblem) => void;
  /** Scrubs secrets from every string of a served definition. */
  scrub?: (text: string) => string;
  /** What cleaning a served definition found (hidden characters, secrets, forged `_meta`). */
  onCleaned?: (entry: CatalogTool, findings: readonly InspectFinding[]) => void;
}

/** Compiled validators kept across re-listings (a few per tool a policy names). */
const MAX_VALIDATORS = 2048;

export class Catalog {
  private readonly byName = new Map<string, CatalogTool>();
  private readonly ajv = createAjv();
  /** Validators by the schema's text, least recently used first (see `compile`). */
  private readonly validators = new Map<string, { validate: ValidateFunction; schema: JsonSchema }>();
  private rules: CatalogOptions['rules'];
  private readonly scrub: (text: string) => string;

  constructor(private readonly options: CatalogOptions) {
    this.rules = options.rules;
    this.scrub = options.scrub ?? ((text) => text);
  }

  /**
   * New tool rules from a reloaded policy. The caller rebuilds every upstream
   * with `update` in the same synchronous step, so no call sees a mix.
   */
  setRules(rules: CatalogOptions['rules']): void {
    this.rules = rules;
  }

  /** Drops the entries of an upstream the policy no longer has. */
  removeUpstream(upstream: string): void {
    for (const [name, entry] of this.byName) if (entry.upstream === upstream) this.byName.delete(name);
  }

  /**
   * Replaces the entries of one upstream from its latest listing. Only tools
   * the policy names and exposes get an entry; a tool whose tightening would
   * widen the upstream schema is left out and reported.
   */
  update(upstream: string, tools: Tool[]): CatalogProblem[] {
    const problems: CatalogProblem[] = [];
    const report = (tool: string, message: string) => {
      const problem = { upstream, tool, message };
      problems.push(problem);
      this.options.onProblem?.(problem);
    };
    for (const [name, entry] of this.byName) if (entry.upstream === upstream) this.byName.delete(name);
    const rules = this.rules[upstream] ?? {};
    const listed = new Map(tools.map((t) => [t.name, t]));
    for (const [toolName, rule] of Object.entries(rules)) {
      if (!rule.expose) continue;
      const tool = listed.get(toolName);
      if (!tool) {
        report(toolName, 'the policy names this tool but the upstream does not list it');
        continue;
      }
      const tightened = tightenSchema(tool.inputSchema, rule);
      if (!tightened.ok) {
        for (const message of tightened.problems) report(toolName, message);
        continue;
      }
      let validate: ValidateFunction;
      try {
        validate = this.compile(tightened.schema);
      } catch (error) {
        report(toolName, `its input schema cannot be compiled: ${(error as Error).message}`);
        continue;
      }
      const exposed = exposedName(upstream, toolName, rule);
      const cleaned = cleanDefinition(servedDefinition(exposed, tool, rule, tightened.schema), this.scrub);
      const entry: CatalogTool = {
        exposed,
        upstream,
        original: toolName,
        rule,
        upstreamDefinition: tool,
        validate,
        definition: cleaned.definition,
      };
      const admitted = this.options.admit?.(entry) ?? { ok: true };
      if (!admitted.ok) {
        report(toolName, admitted.reason);
        continue;
      }
      if (cleaned.findings.length > 0) this.options.onCleaned?.(entry, cleaned.findings);
      this.byName.set(exposed, entry);
    }
    return problems;
  }

  /**
   * A re-listing (every `list_changed`) rebuilds an upstream's entries, and ajv compiled each
   * schema again and kept every schema object it was given: a long chain of references costs it
   * up to a second, and the cache only grew. Unchanged schemas reuse their validator; at most
   * MAX_VALIDATORS are kept, the least recently used leaving ajv's cache too.
   */
  private compile(schema: JsonSchema): ValidateFunction {
    const key = JSON.stringify(schema);
    const kept = this.validators.get(key);
    if (kept) {
      this.validators.delete(key);
      this.validators.set(key, kept);
      return kept.validate;
    }
    const validate = this.ajv.compile(schema);
    this.validators.set(key, { validate, schema });
    if (this.validators.size > MAX_VALIDATORS) {
      const [oldest, entry] = this.validators.entries().next().value as [string, { schema: JsonSchema }];
      this.validators.delete(oldest);
      this.ajv.removeSchema(entry.schema);
    }
    return validate;
  }

  /** Exact lookup: no case folding, no prefix matching, no fallback to upstream names. */
  get(name: string): CatalogTool | undefined {
    return this.byName.get(name);
  }

  /** The tools one profile may see, in the profile's order. */
  forProfile(tools: readonly string[]): CatalogTool[] {
    return tools.map((name) => this.byName.get(name)).filter((t): t is CatalogTool => t !== undefined);
  }

  all(): CatalogTool[] {
    return [...this.byName.values()];
  }
}

/**
 * Every field of the upstream's definition that a client may show its model, with the gateway's
 * own name, schema, description and hints in place of the upstream's. `execution` (task support)
 * is left out: the gateway runs calls itself and does not offer tasks.
 */
function servedDefinition(exposed: string, tool: Tool, rule: ToolRule, schema: unknown): Tool {
  return {
    name: exposed,
    ...(tool.title !== undefined ? { title: tool.title } : {}),
    description: rule.description ?? tool.description ?? '',
    inputSchema: schema as Tool['inputSchema'],
    ...(tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
    annotations: annotationsFor(tool, rule),
    ...(tool.icons ? { icons: tool.icons } : {}),
    ...(tool._meta ? { _meta: tool._meta } : {}),
  };
}

/** The policy's class is what the agent is told; server hints never overrule it. */
function annotationsFor(tool: Tool, rule: ToolRule): NonNullable<Tool['annotations']> {
  return {
    ...(tool.annotations?.title ? { title: tool.annotations.title } : {}),
    readOnlyHint: rule.class === 'read',
    destructiveHint: rule.class === 'irreversible',
    openWorldHint: rule.class === 'external' || rule.taints === true,
  };
}

function createAjv(): Ajv2020 {
  // strict: false because upstream schemas use keywords ajv does not know; allErrors: false
  // stops at the first failure, so a hostile payload costs one error, not thousands.
  // strictNumbers is on by itself (strict: false turns it off): NaN and ±Infinity are not numbers.
  // Every `pattern` (policy's and upstream's) runs on RE2: linear time, whatever the input.
  const ajv = new Ajv2020({
    strict: false,
    strictNumbers: true,
    allErrors: false,
    coerceTypes: false,
    useDefaults: false,
    code: { regExp: ajvRegExp },
  });
  addFormats(ajv);
  useLinearUniqueItems(ajv);
  return ajv;
}
