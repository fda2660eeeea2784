/**
 * When a tool rule's approval applies. Conditions are data compared with
 * plain operators — never evaluated as code — and a condition on an argument
 * that is missing or of the wrong type holds the call (fail closed).
 */
import type { ApprovalRule, ArgumentCondition } from '../policy/schema/index.js';

export function approvalApplies(
  rule: ApprovalRule,
  args: Record<string, unknown>,
  tainted: boolean,
): boolean {
  if (rule.when === 'always') return true;
  if (rule.when === 'tainted') return tainted;
  return rule.when.some((condition) => holds(condition, args));
}

export function argumentAt(args: Record<string, unknown>, path: string): unknown {
  if (!path.startsWith('/')) return Object.hasOwn(args, path) ? args[path] : undefined;
  let current: unknown = args;
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function holds(c: ArgumentCondition, args: Record<string, unknown>): boolean {
  const value = argumentAt(args, c.arg);
  const numeric = c.gt !== undefined || c.gte !== undefined || c.lt !== undefined || c.lte !== undefined;
  // A numeric condition on a non-number cannot be checked: hold the call.
  if (numeric && typeof value !== 'number') return true;
  const n = value as number;
  if (c.gt !== undefined && n > c.gt) return true;
  if (c.gte !== undefined && n >= c.gte) return true;
  if (c.lt !== undefined && n < c.lt) return true;
  if (c.lte !== undefined && n <= c.lte) return true;
  if (c.eq !== undefined && value === c.eq) return true;
  if (c.ne !== undefined && value !== c.ne) return true;
  if (c.in !== undefined && c.in.includes(value as string | number)) return true;
  if (c.matches !== undefined) return typeof value !== 'string' || new RegExp(c.matches, 'u').test(value);
  return false;
}
