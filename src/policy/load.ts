/**
 * Loads a policy file: YAML with positions, validated against the schema.
 * Every problem is reported, each as `file:line:column: path: expected …, found …`,
 * so a person fixes the whole file in one pass. Nothing partial is returned.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { BulkheadError } from '../errors.js';
import { type Policy, policySchema } from './schema/index.js';

export interface PolicyIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class PolicyError extends BulkheadError {
  constructor(readonly issues: PolicyIssue[]) {
    super('policy_invalid', issues.map(formatIssue).join('\n'));
  }
}

export function formatIssue(issue: PolicyIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export interface LoadedPolicy {
  policy: Policy;
  /** Absolute path of the policy file. */
  file: string;
  /** Relative paths in the policy (store, cwd, secret files) resolve against this. */
  dir: string;
}

export function loadPolicyFile(file: string): LoadedPolicy {
  const absolute = resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw new BulkheadError('policy_unreadable', `${file}: cannot read the policy file`, { cause: error });
  }
  return { policy: parsePolicy(text, file), file: absolute, dir: dirname(absolute) };
}

/** Parses and validates policy text; `file` is only used in messages. */
export function parsePolicy(text: string, file = 'policy.yaml'): Policy {
  return parseYaml(policySchema, text, file);
}

/**
 * Parses YAML and validates it against a zod schema, reporting every problem
 * with its position (policy files, policy test files).
 */
export function parseYaml<S extends z.ZodType>(schema: S, text: string, file: string): z.output<S> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: yamlMessage(e.code, e.message) };
      }),
    );
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.flatMap((issue) => flatten(issue));
  throw new PolicyError(
    dedupe(
      issues.map((issue) => {
        const { node, key } = locate(
          doc.contents,
          issue.path,
          issue.code === 'unrecognized_keys' ? issue.keys : [],
        );
        const offset = (key ?? node)?.range?.[0] ?? 0;
        const pos = lines.linePos(offset);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: issue.path.map(String).join('.'),
          message: describe(issue, valueAt(doc.toJS(), issue.path)),
        };
      }),
    ),
  );
}

type Issue = z.core.$ZodIssue;

/** A union's issues are those of its closest branch: the one with fewest problems, deepest first. */
function flatten(issue: Issue): Issue[] {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [issue];
  const best =
    [...issue.errors]
      .sort((a, b) => score(a) - score(b))[0]
      ?.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue) ?? [];
  return best.length > 0 ? best.flatMap(flatten) : [issue];
}

function score(branch: readonly Issue[]): number {
  // Fewer issues is closer; a type mismatch at the branch root is the furthest.
  return branch.reduce((n, i) => n + (i.code === 'invalid_type' && i.path.length === 0 ? 100 : 1), 0);
}

function describe(issue: Issue, found: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return found === undefined
        ? `required: expected ${issue.expected}, found nothing`
        : `expected ${issue.expected}, found ${show(found)}`;
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, found ${show(found)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.message.replace(/^Invalid (input|string)(: )?/i, '') || issue.format}, found ${show(found)}`;
    case 'invalid_key':
      return `invalid key: ${issue.message}`;
    case 'too_small':
    case 'too_big':
      return `${issue.message.replace(/^Too (small|big): /, '')}, found ${show(found)}`;
    default: {
      // Cross-reference messages already quote what they found; scalar refinements say it here.
      const shown = show(found);
      const scalar = found !== null && typeof found !== 'object' && found !== undefined;
      return scalar && !issue.message.includes(String(found))
        ? `${issue.message}, found ${shown}`
        : issue.message;
    }
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** Finds the YAML node at a schema path; for unknown keys, the key itself. */
function locate(root: unknown, path: PropertyKey[], keys: string[]): { node: Node | undefined; key?: Node } {
  let node = root as Node | undefined;
  let lastKey: Node | undefined;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
      if (!pair) break; // a missing key: point at the mapping that lacks it
      lastKey = pair.key as Node;
      node = (pair.value as Node | null) ?? lastKey;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as Node | undefined;
      if (!item) break;
      node = item;
      lastKey = undefined;
    } else break;
  }
  if (keys.length > 0 && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && keys.includes(String(p.key.value)));
    if (pair) return { node, key: pair.key as Node };
  }
  // Scalars point at the value; a mapping problem points at its key line.
  return isScalar(node) || !lastKey ? { node } : { node, key: lastKey };
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0] ?? message;
  return code === 'DUPLICATE_KEY'
    ? 'duplicate key: each key may appear once'
    : `YAML: ${first.replace(/ at line.*$/, '')}`;
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = formatIssue(i);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Line and column of a path in policy text (for lint findings); the document start if not found. */
export function positionOf(text: string, path: (string | number)[]): { line: number; column: number } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const { node, key } = locate(doc.contents, path, []);
  const pos = lines.linePos((key ?? node)?.range?.[0] ?? 0);
  return { line: pos.line, column: pos.col };
}
