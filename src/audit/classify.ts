/**
 * Worst-case misuse of one MCP tool: what could an agent do by calling it with
 * the most hostile arguments possible? Read from what the server says about
 * it: name and description wording, parameter shapes, annotations.
 *
 * Annotations are the server's own claims. They can raise a risk
 * (destructiveHint, openWorldHint) but never lower one: a hostile or sloppy
 * server can put readOnlyHint on `drop_table`. A hint that contradicts the
 * wording is itself reported, since it misleads clients that trust hints.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

export const RISKS = [
  'destroys_data',
  'moves_money',
  'sends_data_out',
  'executes_code',
  'executes_sql',
  'writes_files',
  'reads_secrets',
  'reads_only',
] as const;
export type Risk = (typeof RISKS)[number];

export const RISK_LABEL: Record<Risk, string> = {
  destroys_data: 'destroys data',
  moves_money: 'moves money',
  sends_data_out: 'sends data out',
  executes_code: 'executes code',
  executes_sql: 'executes SQL',
  writes_files: 'writes files',
  reads_secrets: 'reads secrets',
  reads_only: 'reads only',
};

export interface Evidence {
  risk: Risk;
  source: 'wording' | 'parameter' | 'annotation';
  why: string;
}

/** A parameter whose shape lets a caller say anything. */
export interface LooseParameter {
  /** JSON-pointer-like path below the input schema, e.g. `options/where`. */
  path: string;
  shape: 'free_string' | 'open_object';
}

export interface Classification {
  /** Worst first (the order of RISKS). */
  risks: Risk[];
  evidence: Evidence[];
  loose: LooseParameter[];
  /** The top-level schema does not say additionalProperties: false. */
  openTopLevel: boolean;
  /** Hints that claim less than the wording shows (never used to lower a risk). */
  contradictions: string[];
}

const WORDING: [Risk, RegExp][] = [
  [
    'destroys_data',
    /\b(delete|remove|drop|destroy|purge|truncate|wipe|erase|revoke|terminate|kill|cancel|reset|overwrite|merge|force[- ]push)\w*/i,
  ],
  [
    'moves_money',
    /\b(refund|payment|pay|payout|charge|transfer funds|transfer money|wire|invoice|withdraw|purchase|buy|checkout)\w*/i,
  ],
  [
    'sends_data_out',
    /\b(send|e-?mail|publish|upload|webhook|notify|tweet|share with|forward|fetch(es)? (a |any )?url|http request|post(s|ed|ing)? (to|a|an|new|message|comment)|create (a |an )?(new )?(issue|comment|message|pull request))\w*/i,
  ],
  [
    'executes_code',
    /\b(exec|execute|eval|evaluate (code|javascript|python)|shell|bash|terminal command|run (a |the )?(command|script|code|program)|spawn|subprocess)\b|run_command|run_script|execute_command/i,
  ],
  [
    'executes_sql',
    /\b(sql|select statement|database query|run (a )?query)\b|run_sql|execute_sql|execute_query/i,
  ],
  ['writes_files', /\b(write|edit|create|move|rename|mkdir|save|update|patch|append|copy|insert|upsert)\w*/i],
  [
    'reads_secrets',
    /\b(secret|credential|password|api[_ -]?key|access token|private key|environment variable|env var|\.env\b|ssh key)\w*/i,
  ],
];

/** Names of free-form string parameters that carry code, SQL, paths or destinations. */
const PARAM_RISK: [RegExp, Risk][] = [
  [/^(sql|statement|sql_query)$/i, 'executes_sql'],
  [/^(command|cmd|script|code|expression|shell|program|js|python)$/i, 'executes_code'],
  [/^(url|uri|endpoint|webhook|host|hostname|to|recipient|recipients|email)$/i, 'sends_data_out'],
  [/^(path|file|filename|filepath|file_path|destination|target|dir|directory)$/i, 'writes_files'],
];
/** `query` is a search box in most tools and SQL in some: the wording decides. */
const QUERY_PARAM = /^(query|q)$/i;

type Schema = Record<string, unknown>;

function isConstrained(prop: Schema): boolean {
  return ['pattern', 'enum', 'const', 'maxLength', 'format'].some((k) => prop[k] !== undefined);
}

/** Walks properties (and array items) to find free-form strings and open objects at any depth. */
function looseParameters(schema: Schema, prefix = ''): LooseParameter[] {
  const out: LooseParameter[] = [];
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, raw] of Object.entries(properties)) {
    if (!raw || typeof raw !== 'object') continue;
    const path = prefix ? `${prefix}/${name}` : name;
    const prop =
      raw.type === 'array' && raw.items && typeof raw.items === 'object' ? (raw.items as Schema) : raw;
    const types = Array.isArray(prop.type) ? prop.type : [prop.type];
    if (types.includes('string') && !isConstrained(prop)) out.push({ path, shape: 'free_string' });
    if (types.includes('object')) {
      const hasProps = prop.properties && Object.keys(prop.properties as Schema).length > 0;
      if (!hasProps || prop.additionalProperties !== false) out.push({ path, shape: 'open_object' });
      out.push(...looseParameters(prop, path));
    }
    // No type at all accepts anything, including a whole program.
    if (prop.type === undefined && !isConstrained(prop) && !prop.properties && !prop.anyOf && !prop.oneOf)
      out.push({ path, shape: 'open_object' });
  }
  return out;
}

function wordingText(tool: Tool): string {
  return `${tool.name.replace(/[_-]/g, ' ')} ${tool.name} ${tool.title ?? ''} ${tool.description ?? ''}`;
}

export function classify(tool: Tool): Classification {
  const evidence: Evidence[] = [];
  const add = (risk: Risk, source: Evidence['source'], why: string) => {
    if (!evidence.some((e) => e.risk === risk && e.source === source)) evidence.push({ risk, source, why });
  };
  const text = wordingText(tool);
  for (const [risk, pattern] of WORDING) {
    const match = pattern.exec(text);
    if (match) add(risk, 'wording', `"${match[0].trim()}"`);
  }

  const schema = (tool.inputSchema ?? {}) as Schema;
  const loose = looseParameters(schema);
  const mentionsSql = /\bsql\b|database|\btable\b|select\b/i.test(text);
  for (const param of loose) {
    if (param.shape !== 'free_string') continue;
    const leaf = param.path.split('/').pop() ?? param.path;
    let risk = PARAM_RISK.find(([pattern]) => pattern.test(leaf))?.[1];
    if (!risk && QUERY_PARAM.test(leaf) && mentionsSql) risk = 'executes_sql';
    // A free-form path on a tool that only reads is a read risk, not a write.
    if (risk === 'writes_files' && !evidence.some((e) => e.risk === 'writes_files')) risk = undefined;
    // A free-form address is a destination only on a tool that sends.
    if (risk === 'sends_data_out' && /^(to|recipient|recipients|email)$/i.test(leaf)) {
      if (!evidence.some((e) => e.risk === 'sends_data_out')) risk = undefined;
    }
    if (risk) add(risk, 'parameter', `free-form string "${param.path}" (no pattern, enum or maxLength)`);
  }

  const hints = tool.annotations;
  if (hints?.destructiveHint === true) add('destroys_data', 'annotation', 'destructiveHint: true');
  if (hints?.openWorldHint === true && !hints.readOnlyHint)
    add('sends_data_out', 'annotation', 'openWorldHint: true on a tool that is not read-only');

  const found = new Set(evidence.map((e) => e.risk));
  const contradictions: string[] = [];
  const harmful = [...found];
  if (hints?.readOnlyHint === true && harmful.length > 0)
    contradictions.push(`readOnlyHint: true, but it ${harmful.map((r) => RISK_LABEL[r]).join(', ')}`);
  if (hints?.destructiveHint === false && found.has('destroys_data'))
    contradictions.push('destructiveHint: false, but its wording destroys data');
  if (found.size === 0) {
    add(
      'reads_only',
      'wording',
      hints?.readOnlyHint ? 'readOnlyHint, and nothing suggests more' : 'nothing suggests side effects',
    );
    found.add('reads_only');
  }
  return {
    risks: RISKS.filter((r) => found.has(r)),
    evidence,
    loose,
    openTopLevel: schema.additionalProperties !== false,
    contradictions,
  };
}
