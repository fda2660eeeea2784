/**
 * The finding for one tool is about its effective blast radius: the raw
 * worst case, reduced only by what the policy really does (hidden, gated,
 * arguments tightened). Poisoned definitions are high whatever else holds.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { exposedName, type Policy } from '../policy/schema/index.js';
import { type Classification, classify, type Risk } from './classify.js';
import { findPoisoning, type PoisonFinding } from './poisoning.js';

export const SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ToolFinding {
  upstream: string;
  tool: string;
  exposedAs: string | null;
  profiles: string[];
  gated: boolean;
  tightened: string[];
  classification: Classification;
  poisoning: PoisonFinding[];
  severity: Severity;
  /** The raw worst case, before the policy's mitigations. */
  rawSeverity: Severity;
  fixes: string[];
}

const BASE: Record<Risk, Severity> = {
  destroys_data: 'critical',
  moves_money: 'critical',
  executes_code: 'critical',
  sends_data_out: 'high',
  reads_secrets: 'high',
  writes_files: 'medium',
  reads_only: 'low',
};

export function rank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

function lower(severity: Severity, by: number): Severity {
  return SEVERITIES[Math.max(1, rank(severity) - by)] as Severity;
}

export function assessTool(upstream: string, tool: Tool, policy?: Policy): ToolFinding {
  const classification = classify(tool);
  const poisoning = findPoisoning(tool);
  const rawSeverity = classification.risks.map((r) => BASE[r]).sort((a, b) => rank(b) - rank(a))[0] ?? 'low';
  const rule = policy?.tools[upstream]?.[tool.name];
  const exposedAs = rule?.expose ? exposedName(upstream, tool.name, rule) : null;
  const profiles =
    exposedAs && policy
      ? Object.entries(policy.profiles)
          .filter(([, p]) => p.tools.includes(exposedAs))
          .map(([n]) => n)
      : [];
  const gated = rule?.approval !== undefined;
  const tightened = Object.entries(rule?.arguments ?? {})
    .filter(
      ([, t]) =>
        t.pattern !== undefined || t.enum !== undefined || t.const !== undefined || t.maxLength !== undefined,
    )
    .map(([name]) => name);
  const fixes: string[] = [];
  let severity: Severity;
  if (policy && profiles.length === 0) {
    severity = poisoning.length ? 'medium' : 'info';
  } else {
    severity = rawSeverity;
    const loose = classification.looseParameters.filter((p) => !tightened.includes(p));
    if (gated) severity = lower(severity, 2);
    else if (rank(rawSeverity) >= rank('high'))
      fixes.push('gate it with an approval (approval: always, or a condition)');
    if (classification.looseParameters.length > 0 && loose.length === 0) severity = lower(severity, 1);
    for (const p of loose) fixes.push(`tighten argument "${p}" with a pattern, enum or maxLength`);
    if (classification.risks.includes('executes_code') && loose.length > 0)
      fixes.push('split it into narrow tools that take ids, not code');
    if (rank(rawSeverity) >= rank('critical') && !gated)
      fixes.push('or hide it (expose: false) if no profile needs it');
  }
  if (poisoning.length > 0) {
    severity = rank(severity) < rank('high') && profiles.length > 0 ? 'high' : severity;
    fixes.unshift(
      'override its description in the policy (description:) or hide it: the server ships hidden instructions',
    );
  }
  return {
    upstream,
    tool: tool.name,
    exposedAs,
    profiles,
    gated,
    tightened,
    classification,
    poisoning,
    severity,
    rawSeverity,
    fixes,
  };
}
