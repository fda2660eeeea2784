/** Audit output: a report for people (grouped by severity), JSON, and SARIF 2.1.0 for code scanning. */
import { rank, SEVERITIES, type Severity, type ToolFinding } from './effective.js';

export function textReport(findings: ToolFinding[], colour: boolean): string {
  const paint = (severity: Severity, s: string) => {
    if (!colour) return s;
    const code = { critical: 31, high: 31, medium: 33, low: 36, info: 2 }[severity];
    return `\x1b[${code}m${s}\x1b[0m`;
  };
  const lines: string[] = [];
  for (const severity of [...SEVERITIES].reverse()) {
    const group = findings.filter((f) => f.severity === severity);
    if (group.length === 0) continue;
    lines.push(paint(severity, `${severity.toUpperCase()} (${group.length})`));
    for (const f of group) {
      const exposure = f.profiles.length
        ? `exposed to ${f.profiles.join(', ')}${f.gated ? ', gated' : ''}`
        : 'not exposed';
      lines.push(
        `  ${f.upstream}.${f.tool}  ${f.classification.risks.join(', ')}  (${exposure}; worst case ${f.rawSeverity})`,
      );
      for (const e of f.classification.evidence.slice(0, 3))
        lines.push(`      evidence: ${e.risk}: ${e.why}`);
      for (const p of f.poisoning) lines.push(`      poisoning: ${p.where}: ${p.kind}: ${p.detail}`);
      for (const fix of f.fixes) lines.push(`      fix: ${fix}`);
    }
  }
  const counts = SEVERITIES.map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`).reverse();
  lines.push('', `${findings.length} tools: ${counts.join(', ')}`);
  return lines.join('\n');
}

export function atOrAbove(findings: ToolFinding[], threshold: Severity): ToolFinding[] {
  return findings.filter((f) => rank(f.severity) >= rank(threshold));
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note' | 'none'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'none',
};

export function sarifReport(findings: ToolFinding[], policyFile: string | null): unknown {
  const rules = [...new Set(findings.flatMap((f) => f.classification.risks))].map((risk) => ({
    id: risk,
    name: risk,
    shortDescription: { text: `MCP tool whose worst-case misuse ${risk.replace(/_/g, ' ')}` },
  }));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'bulkhead audit', rules } },
        results: findings
          .filter((f) => f.severity !== 'info')
          .map((f) => ({
            ruleId: f.classification.risks[0] ?? 'reads_only',
            level: SARIF_LEVEL[f.severity],
            message: {
              text: `${f.upstream}.${f.tool}: ${f.severity} (${f.classification.risks.join(', ')}). ${f.fixes.join('; ')}`,
            },
            ...(policyFile
              ? { locations: [{ physicalLocation: { artifactLocation: { uri: policyFile } } }] }
              : {}),
            properties: {
              severity: f.severity,
              profiles: f.profiles,
              gated: f.gated,
              poisoning: f.poisoning,
            },
          })),
      },
    ],
  };
}
