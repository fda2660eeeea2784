/**
 * The audit for people: findings grouped by severity, worst first, each with
 * its evidence, how the policy treats it, and the fix. Colour only when the
 * stream is a terminal and NO_COLOR is unset (https://no-color.org), so
 * piped or captured output stays plain text.
 */
import { RISK_LABEL } from './classify.js';
import type { Listed } from './connect.js';
import { rank, riskSummary, SEVERITIES, type Severity, type ToolFinding } from './effective.js';

export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}

const COLOUR: Record<Severity, string> = { critical: '1;31', high: '31', medium: '33', low: '36', info: '2' };

function exposure(f: ToolFinding): string {
  if (!f.underPolicy) return 'no policy: counted as exposed, ungated';
  if (f.profiles.length === 0) return 'not exposed to any profile';
  const parts = [`exposed as ${f.exposedAs} to ${f.profiles.join(', ')}`];
  parts.push(f.gate ? `gated (${f.gate})` : 'not gated');
  if (f.tightened.length) parts.push(`tightened: ${f.tightened.join(', ')}`);
  return parts.join('; ');
}

export function textReport(
  findings: readonly ToolFinding[],
  options: { colour: boolean; failures?: readonly Listed[] },
): string {
  const paint = (severity: Severity, s: string) =>
    options.colour ? `\x1b[${COLOUR[severity]}m${s}\x1b[0m` : s;
  const lines: string[] = [];
  for (const severity of [...SEVERITIES].reverse()) {
    const group = findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    lines.push(paint(severity, `${severity.toUpperCase()} (${group.length})`));
    for (const f of group) {
      lines.push(`  ${f.upstream}.${f.tool}: ${riskSummary(f)} (worst case ${f.rawSeverity})`);
      lines.push(`      policy: ${exposure(f)}`);
      for (const e of f.classification.evidence)
        lines.push(`      evidence: ${RISK_LABEL[e.risk]} (${e.source}): ${e.why}`);
      for (const c of f.classification.contradictions) lines.push(`      misleading hint: ${c}`);
      for (const p of f.poisoning) lines.push(`      poisoning: ${p.kind} in ${p.where}: ${p.detail}`);
      for (const w of f.withheld) lines.push(`      withheld by the gateway (${w.code}): ${w.message}`);
      if (severity !== 'info') for (const fix of f.fixes) lines.push(`      fix: ${fix}`);
    }
    lines.push('');
  }
  for (const failed of options.failures ?? [])
    if (failed.error) lines.push(`could not list ${failed.upstream}: ${failed.error}`);
  const counts = [...SEVERITIES]
    .reverse()
    .map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`);
  lines.push(`${findings.length} tools: ${counts.join(', ')}`);
  return lines.join('\n');
}

export function atOrAbove(findings: readonly ToolFinding[], threshold: Severity): ToolFinding[] {
  return findings.filter((f) => rank(f.severity) >= rank(threshold));
}

/** The `--json` shape: stable keys, one object per tool, plus the upstreams that failed. */
export function jsonReport(findings: readonly ToolFinding[], failures: readonly Listed[] = []): unknown {
  return {
    findings: findings.map((f) => ({
      upstream: f.upstream,
      tool: f.tool,
      severity: f.severity,
      raw_severity: f.rawSeverity,
      class: f.declaredClass,
      risks: f.classification.risks,
      evidence: f.classification.evidence,
      loose_parameters: f.classification.loose,
      misleading_hints: f.classification.contradictions,
      poisoning: f.poisoning,
      policy: {
        applied: f.underPolicy,
        exposed_as: f.exposedAs,
        profiles: f.profiles,
        gate: f.gate,
        tightened: f.tightened,
        untightened: f.untightened,
        withheld: f.withheld,
      },
      fixes: f.fixes,
    })),
    failed_upstreams: failures.filter((l) => l.error).map((l) => ({ upstream: l.upstream, error: l.error })),
  };
}
