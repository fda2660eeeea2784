/**
 * The tool catalog: the tools an agent can see, one entry per exposed name,
 * built from what each upstream lists and what the policy allows. A tool the
 * policy does not name never gets an entry.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ValidateFunction } from 'ajv';
import type { ToolRule } from '../policy/schema/index.js';

export interface CatalogTool {
  /** What the agent sees and calls: `<upstream>__<tool or rename>`. */
  readonly exposed: string;
  readonly upstream: string;
  /** The tool's name on its upstream. */
  readonly original: string;
  readonly rule: ToolRule;
  /** The definition as the agent sees it: exposed name, tightened schema, policy description. */
  readonly definition: Tool;
  /** The definition as the upstream listed it (for audit and pinning). */
  readonly upstreamDefinition: Tool;
  /** Compiled once: the tightened input schema. */
  readonly validate: ValidateFunction;
}
