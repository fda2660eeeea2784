/**
 * Worst-case misuse of one MCP tool, from what the server says about it: its
 * name and description wording, its parameter shapes, and its annotations.
 * Annotations are the server's own hints: they can raise a risk
 * (destructiveHint, openWorldHint) but never lower one, since a hostile or
 * sloppy server can claim readOnlyHint on anything.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

export const RISKS = [
  'destroys_data',
  'moves_money',
  'sends_data_out',
  'executes_code',
  'writes_files',
  'reads_secrets',
  'reads_only',
] as const;
export type Risk = (typeof RISKS)[number];

export interface Evidence {
  risk: Risk;
  why: string;
}

const WORDING: [Risk, RegExp][] = [
  [
    'destroys_data',
    /\b(delete|remove|drop|destroy|purge|truncate|wipe|erase|revoke|terminate|kill|cancel|reset|overwrite|merge|force)\w*/i,
  ],
  ['moves_money', /\b(refund|payment|pay|charge|transfer|invoice|payout|withdraw|purchase|billing)\w*/i],
  [
    'sends_data_out',
    /\b(send|e-?mail|publish|upload|webhook|notify|tweet|post(s|ed|ing)? (to|a|an|new)|share with|forward|create (a |an )?(new )?issue)\w*/i,
  ],
  [
    'executes_code',
    /\b(exec|execute|run|eval|shell|command|script|sql|query)\b|run_sql|execute_sql|run_command/i,
  ],
  ['writes_files', /\b(write|edit|create|move|rename|mkdir|save|update|patch|append|copy)\w*/i],
  ['reads_secrets', /\b(secret|credential|password|token|api[_ -]?key|env|environment|ssh|private key)\w*/i],
];

/** Parameter names that, free-form, let the caller say anything. */
const DANGEROUS_PARAMS =
  /^(sql|query|statement|command|cmd|script|code|expression|path|file|filename|url|uri|endpoint|host)$/i;

export interface Classification {
  risks: Risk[];
  evidence: Evidence[];
  /** Free-form parameters: strings without pattern, enum or maxLength, named like commands or paths. */
  looseParameters: string[];
  openObject: boolean;
}

export function classify(tool: Tool): Classification {
  const evidence: Evidence[] = [];
  const text = `${tool.name.replace(/[_-]/g, ' ')} ${tool.name} ${tool.title ?? ''} ${tool.description ?? ''}`;
  for (const [risk, pattern] of WORDING) {
    const match = pattern.exec(text);
    if (match) evidence.push({ risk, why: `wording: "${match[0]}"` });
  }
  const a = tool.annotations;
  if (a?.destructiveHint === true)
    evidence.push({ risk: 'destroys_data', why: 'annotation destructiveHint' });
  if (a?.openWorldHint === true) evidence.push({ risk: 'sends_data_out', why: 'annotation openWorldHint' });
  const schema = tool.inputSchema as {
    properties?: Record<string, Record<string, unknown>>;
    additionalProperties?: unknown;
  };
  const looseParameters: string[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const constrained =
      prop.pattern !== undefined ||
      prop.enum !== undefined ||
      prop.const !== undefined ||
      prop.maxLength !== undefined;
    if (prop.type === 'string' && !constrained && DANGEROUS_PARAMS.test(name)) {
      looseParameters.push(name);
      const risk: Risk = /sql|query|statement|command|cmd|script|code|expression/i.test(name)
        ? 'executes_code'
        : /url|uri|endpoint|host/i.test(name)
          ? 'sends_data_out'
          : 'writes_files';
      // A free-form path on a tool that only reads is a read risk, not a write.
      if (risk !== 'writes_files' || evidence.some((e) => e.risk === 'writes_files')) {
        evidence.push({ risk, why: `free-form parameter "${name}"` });
      }
    }
  }
  const openObject = schema.additionalProperties !== false;
  const risks = [...new Set(evidence.map((e) => e.risk))];
  // readOnlyHint is recorded but cannot remove anything found above.
  if (risks.length === 0) {
    evidence.push({
      risk: 'reads_only',
      why: a?.readOnlyHint
        ? 'annotation readOnlyHint, and nothing suggests more'
        : 'nothing suggests side effects',
    });
    risks.push('reads_only');
  }
  return { risks, evidence, looseParameters, openObject };
}
