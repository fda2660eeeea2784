/**
 * When a tool rule's approval applies. Conditions are data compared with
 * plain operators — never evaluated as code — so a policy cannot smuggle a
 * program into the gateway, and an agent's arguments cannot reach one.
 *
 * A list of conditions holds when any condition holds; the comparisons inside
 * one condition must all hold (`{ arg: amount, gte: 100, lte: 1000 }` is a
 * range). Fail closed: an argument that is missing, or of a type the
 * comparison cannot read, holds the call — an agent cannot skip a gate by
 * leaving out `amount` or sending it as the string "1e9".
 */
import type { ApprovalRule, ArgumentCondition } from '../policy/schema/index.js';
import { compileLinear, type LinearRegExp } from '../util/linear-regexp.js';

export function approvalApplies(
  rule: ApprovalRule,
  args: Record<string, unknown>,
  tainted: boolean,
): boolean {
  if (rule.when === 'always') return true;
  if (rule.when === 'tainted') return tainted;
  return rule.when.some((condition) => conditionHolds(condition, args));
}

/**
 * The value at `path`: a top-level argument name, or a JSON pointer (RFC 6901)
 * such as `/items/0/amount`. Only own properties are followed, so `__proto__`
 * or `constructor` never resolve to something the agent did not send.
 */
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

type Scalar = string | number | boolean;

const patterns = new WeakMap<ArgumentCondition, LinearRegExp>();

/** RE2 semantics, like every policy pattern: the policy schema refused any pattern RE2 cannot run. */
function pattern(c: ArgumentCondition & { matches: string }): LinearRegExp {
  let re = patterns.get(c);
  if (!re) {
    const compiled = compileLinear(c.matches);
    // Unreachable for a loaded policy; a pattern that cannot run counts as matching, which holds the call.
    re = compiled.ok ? compiled.regexp : { test: () => true, toString: () => c.matches };
    patterns.set(c, re);
  }
  return re;
}

export function conditionHolds(c: ArgumentCondition, args: Record<string, unknown>): boolean {
  const value = argumentAt(args, c.arg);
  const numeric = c.gt !== undefined || c.gte !== undefined || c.lt !== undefined || c.lte !== undefined;
  // Cannot be compared: hold the call rather than let it through unchecked.
  if (numeric && (typeof value !== 'number' || !Number.isFinite(value))) return true;
  if (c.matches !== undefined && typeof value !== 'string') return true;
  if (
    (c.eq !== undefined || c.ne !== undefined || c.in !== undefined) &&
    !['string', 'number', 'boolean'].includes(typeof value)
  )
    return true;
  const n = value as number;
  const v = value as Scalar;
  return (
    (c.gt === undefined || n > c.gt) &&
    (c.gte === undefined || n >= c.gte) &&
    (c.lt === undefined || n < c.lt) &&
    (c.lte === undefined || n <= c.lte) &&
    (c.eq === undefined || v === c.eq) &&
    (c.ne === undefined || v !== c.ne) &&
    (c.in === undefined || (c.in as Scalar[]).includes(v)) &&
    (c.matches === undefined || pattern(c as ArgumentCondition & { matches: string }).test(value as string))
  );
}
