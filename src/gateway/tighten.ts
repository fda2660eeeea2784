/**
 * Tightening: the schema an agent's arguments must pass is the upstream's
 * schema narrowed by the policy. It is only ever narrowed: a rule that would
 * accept something the upstream does not (a longer maxLength, an enum value
 * the upstream lacks, an argument it does not have) is refused at load, so a
 * policy typo can never widen what reaches a server.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ArgumentTightening, ToolRule } from '../policy/schema/index.js';

export type JsonSchema = Record<string, unknown>;

export type TightenResult = { ok: true; schema: JsonSchema } | { ok: false; problems: string[] };

const NUMERIC_UPPER = ['maxLength', 'maximum', 'maxItems'] as const;
const NUMERIC_LOWER = ['minLength', 'minimum'] as const;

export function tightenSchema(upstream: Tool['inputSchema'], rule: ToolRule): TightenResult {
  const base = structuredClone(upstream) as JsonSchema;
  delete base.$schema;
  const properties = { ...((base.properties as Record<string, JsonSchema> | undefined) ?? {}) };
  const required = new Set((base.required as string[] | undefined) ?? []);
  const problems: string[] = [];

  for (const [arg, tight] of Object.entries(rule.arguments)) {
    const original = properties[arg];
    if (!original) {
      problems.push(`argument "${arg}" is not in the upstream schema; a policy cannot add arguments`);
      continue;
    }
    const merged = mergeProperty(arg, original, tight, problems);
    properties[arg] = merged;
    if (tight.required) required.add(arg);
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    schema: {
      ...base,
      type: 'object',
      properties,
      ...(required.size > 0 ? { required: [...required] } : {}),
      // Unknown arguments are refused: a smuggled key never reaches the upstream.
      additionalProperties: false,
    },
  };
}

function mergeProperty(
  arg: string,
  original: JsonSchema,
  tight: ArgumentTightening,
  problems: string[],
): JsonSchema {
  const merged: JsonSchema = { ...original };
  for (const key of NUMERIC_UPPER) {
    const value = tight[key];
    if (value === undefined) continue;
    const existing = original[key];
    if (typeof existing === 'number' && value > existing) {
      problems.push(`argument "${arg}": ${key} ${value} would widen the upstream's ${key} ${existing}`);
    }
    merged[key] = typeof existing === 'number' ? Math.min(existing, value) : value;
  }
  for (const key of NUMERIC_LOWER) {
    const value = tight[key];
    if (value === undefined) continue;
    const existing = original[key];
    if (typeof existing === 'number' && value < existing) {
      problems.push(`argument "${arg}": ${key} ${value} would widen the upstream's ${key} ${existing}`);
    }
    merged[key] = typeof existing === 'number' ? Math.max(existing, value) : value;
  }
  const upstreamEnum = original.enum as unknown[] | undefined;
  const allowed = tight.enum ?? (tight.const !== undefined ? [tight.const] : undefined);
  if (allowed) {
    const extra = upstreamEnum ? allowed.filter((v) => !upstreamEnum.includes(v)) : [];
    if (extra.length > 0) {
      problems.push(
        `argument "${arg}": enum values ${JSON.stringify(extra)} are not accepted by the upstream`,
      );
    }
    merged.enum = allowed;
    delete merged.const;
  }
  if (tight.pattern !== undefined) {
    if (typeof original.pattern === 'string' && original.pattern !== tight.pattern) {
      // Both must hold: keep the upstream's pattern and add ours beside it.
      merged.allOf = [...((original.allOf as JsonSchema[] | undefined) ?? []), { pattern: tight.pattern }];
    } else {
      merged.pattern = tight.pattern;
    }
  }
  return merged;
}
