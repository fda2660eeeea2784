/**
 * The tool catalog: the tools an agent can see, one entry per exposed name,
 * built from what each upstream lists and what the policy allows. A tool the
 * policy does not name never gets an entry.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ValidateFunction } from 'ajv';
import { cleanDefinition } from '../inspect/definition.js';
import type { InspectFinding } from '../inspect/index.js';
import { exposedName, type ToolRule } from '../policy/schema/index.js';
import { type TightenCode, tightenSchema } from './tighten.js';
import { type Compiled, ValidatorCache } from './validator-cache.js';

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

/** Why a tool the policy names is not served; stable, for logs, `bulkhead test` and scripts. */
export type CatalogProblemCode =
  | 'tool_not_listed'
  | TightenCode
  | Extract<Compiled, { ok: false }>['code']
  | 'definition_not_admitted';

export interface CatalogProblem {
  upstream: string;
  tool: string;
  code: CatalogProblemCode;
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

export class Catalog {
  private readonly byName = new Map<string, CatalogTool>();
  /** Validators kept across re-listings, and each upstream's compile budget. */
  private readonly validators = new ValidatorCache();
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
    const report = (tool: string, code: CatalogProblemCode, message: string) => {
      const problem = { upstream, tool, code, message };
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
        report(toolName, 'tool_not_listed', 'the policy names this tool but the upstream does not list it');
        continue;
      }
      const tightened = tightenSchema(tool.inputSchema, rule);
      if (!tightened.ok) {
        for (const message of tightened.problems) report(toolName, tightened.code, message);
        continue;
      }
      const compiled = this.validators.compile(upstream, tightened.schema);
      if (!compiled.ok) {
        report(toolName, compiled.code, compiled.message);
        continue;
      }
      const validate = compiled.validate;
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
        report(toolName, 'definition_not_admitted', admitted.reason);
        continue;
      }
      if (cleaned.findings.length > 0) this.options.onCleaned?.(entry, cleaned.findings);
      this.byName.set(exposed, entry);
    }
    return problems;
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
