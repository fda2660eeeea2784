/**
 * The finding for one tool is about its EFFECTIVE blast radius: the raw worst
 * case, reduced only by what the policy really enforces (hidden from every
 * profile, gated by an approval, risky arguments tightened). Nothing the
 * server claims about itself reduces it. Without a policy (an ad-hoc audit of
 * one server) every tool counts as exposed, ungated and untightened.
 *
 * A poisoned definition an agent can see is at least high whatever else
 * holds: its instructions reach the model as soon as the tool is listed.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { exposedName, type Policy, type ToolClass } from '../policy/schema/index.js';
import { type Classification, classify, RISK_LABEL, type Risk } from './classify.js';
import { findPoisoning, type PoisonFinding } from './poisoning.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ToolFinding {
  upstream: string;
  tool: string;
  /** The name agents see; null when the policy does not expose it. */
  exposedAs: string | null;
  /** False for an ad-hoc audit with no policy: every tool then counts as exposed. */
  underPolicy: boolean;
  profiles: string[];
  /** 'always', 'conditional' (tainted or argument conditions), or null. */
  gate: 'always' | 'conditional' | null;
  /** Arguments the policy narrows with a pattern, enum, const or maxLength. */
  tightened: string[];
  /** Risky free-form arguments the policy leaves as they are. */
  untightened: string[];
  classification: Classification;
  /** The class the policy declares for it; the report shows this, and it floors the raw severity. */
  declaredClass: ToolClass | null;
  poisoning: PoisonFinding[];
  severity: Severity;
  /** The raw worst case, before the policy's mitigations. */
  rawSeverity: Severity;
  fixes: string[];
  /**
   * Why the gateway would keep this tool out of its catalog though the policy names it (its
   * schema too costly, a tightening that would widen it, …), with the gateway's stable codes.
   * Filled by `bulkhead audit --policy` (see withheld.ts); empty otherwise.
   */
  withheld: { code: string; message: string }[];
}

const BASE: Record<Risk, Severity> = {
  destroys_data: 'critical',
  moves_money: 'critical',
  executes_code: 'critical',
  executes_sql: 'critical',
  sends_data_out: 'high',
  reads_secrets: 'high',
  writes_files: 'medium',
  reads_only: 'low',
};

export function rank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function isSeverity(value: string): value is Severity {
  return (SEVERITIES as readonly string[]).includes(value);
}

/** Mitigations lower a finding, but never to info: a reachable tool is never nothing. */
function lower(severity: Severity, by: number): Severity {
  return SEVERITIES[Math.max(1, rank(severity) - by)] as Severity;
}

export function rawSeverity(classification: Classification): Severity {
  return classification.risks.map((r) => BASE[r]).sort((a, b) => rank(b) - rank(a))[0] ?? 'low';
}

/**
 * The least a declared class means: an operator who declared a tool
 * irreversible knows something the heuristics may not see, so the finding is
 * never milder than the declaration.
 */
const DECLARED_FLOOR: Record<ToolClass, Severity> = {
  read: 'low',
  write: 'medium',
  external: 'high',
  irreversible: 'critical',
};

export function assessTool(upstream: string, tool: Tool, policy?: Policy): ToolFinding {
  const classification = classify(tool);
  const rule = policy?.tools[upstream]?.[tool.name];
  const declaredClass = rule?.class ?? null;
  const heuristic = rawSeverity(classification);
  const floor = declaredClass ? DECLARED_FLOOR[declaredClass] : 'low';
  const raw = rank(floor) > rank(heuristic) ? floor : heuristic;
  const exposedAs = !policy ? tool.name : rule?.expose ? exposedName(upstream, tool.name, rule) : null;
  const profiles =
    policy && exposedAs
      ? Object.entries(policy.profiles)
          .filter(([, p]) => p.tools.includes(exposedAs))
          .map(([name]) => name)
      : [];
  const reachable = !policy || profiles.length > 0;
  const when = rule?.approval?.when;
  const gate = when === undefined ? null : when === 'always' ? 'always' : 'conditional';
  const tightened = Object.entries(rule?.arguments ?? {})
    .filter(([, t]) => [t.pattern, t.enum, t.const, t.maxLength].some((k) => k !== undefined))
    .map(([name]) => name);
  // Only the arguments that carried a risk matter for the finding.
  const risky = classification.evidence
    .filter((e) => e.source === 'parameter')
    .map((e) => /"([^"]+)"/.exec(e.why)?.[1] ?? '')
    .filter(Boolean);
  const untightened = risky.filter((p) => !tightened.includes(p.split('/')[0] ?? p));
  // A policy description replaces the upstream one: its hidden instructions never reach the agent.
  const poisoning = findPoisoning(tool).filter((p) => !(rule?.description && p.where === 'description'));

  const fixes: string[] = [];
  let severity: Severity;
  if (!reachable) {
    severity = 'info';
  } else {
    severity = raw;
    if (gate === 'always') severity = lower(severity, 2);
    else if (gate === 'conditional') severity = lower(severity, 1);
    if (risky.length > 0 && untightened.length === 0) severity = lower(severity, 1);
    const names = `${upstream}.${tool.name}`;
    for (const p of untightened)
      fixes.push(`tighten argument "${p}" with a pattern, enum or maxLength under tools.${names}.arguments`);
    if (
      classification.risks.some((r) => r === 'executes_code' || r === 'executes_sql') &&
      untightened.length > 0
    )
      fixes.push('split it into narrow tools that take ids and values, not code or SQL');
    if (rank(raw) >= rank('high') && gate !== 'always')
      fixes.push(
        gate
          ? 'gate it always (approval: always): the current condition can be avoided'
          : 'gate it with an approval (approval: always, or a condition on its arguments)',
      );
    if (rank(raw) >= rank('critical') && !gate)
      fixes.push('or hide it (expose: false) if no profile needs it');
    // Flow rules hold only what the policy calls a way out: a sender declared as something
    // milder lets a run that read private data send it unchecked.
    if (
      policy &&
      classification.risks.includes('sends_data_out') &&
      declaredClass !== 'external' &&
      rule?.taints !== true
    )
      fixes.push(
        `declare it class: external (tools.${names}): it looks like it sends data out, and flow rules hold only external tools after a run reads private data`,
      );
  }
  if (poisoning.length > 0) {
    if (reachable && rank(severity) < rank('high')) severity = 'high';
    else if (!reachable) severity = 'medium';
    fixes.unshift(
      'hide it, or replace its description in the policy (description:): the server ships hidden instructions',
    );
  }
  if (classification.contradictions.length > 0 && reachable)
    fixes.push(`do not trust this server's hints: ${classification.contradictions.join('; ')}`);
  return {
    upstream,
    tool: tool.name,
    exposedAs,
    underPolicy: policy !== undefined,
    profiles,
    gate,
    tightened,
    untightened,
    classification,
    declaredClass,
    poisoning,
    severity,
    rawSeverity: raw,
    fixes,
    withheld: [],
  };
}

/**
 * One line: the class the policy declares, then the risks the heuristics found, worst first.
 * "reads only" is left out when the policy declares the tool as more than a read.
 */
export function riskSummary(finding: ToolFinding): string {
  const declared = finding.declaredClass;
  const risks = finding.classification.risks
    .filter((r) => !(r === 'reads_only' && declared && declared !== 'read'))
    .map((r) => RISK_LABEL[r]);
  return [...(declared ? [`declared ${declared}`] : []), ...risks].join(', ');
}
