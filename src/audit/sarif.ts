/**
 * The audit as SARIF 2.1.0, for code-scanning tools. One rule per misuse
 * class plus one for tool poisoning; one result per tool at or above `low`
 * (info means no agent can reach it). Results point at the tool's rule in the
 * policy when there is one, so a scanner annotates the line to change.
 */
import { RISK_LABEL, RISKS, type Risk } from './classify.js';
import type { Severity, ToolFinding } from './effective.js';

export interface SarifLocation {
  /** Relative to the repository root, forward slashes. */
  uri: string;
  line: number;
  column: number;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note' | 'none'> = {
  critical: 'error',
  high: 'error',
  medium: 'warning',
  low: 'note',
  info: 'none',
};

/** GitHub code scanning reads a 0–10 security-severity from rule properties. */
const SECURITY_SEVERITY: Record<Risk, string> = {
  destroys_data: '9.0',
  moves_money: '9.0',
  executes_code: '9.5',
  executes_sql: '9.0',
  sends_data_out: '7.5',
  reads_secrets: '7.5',
  writes_files: '5.0',
  reads_only: '2.0',
};

const POISONING_RULE = 'tool-poisoning';

function ruleId(risk: Risk): string {
  return risk.replace(/_/g, '-');
}

export function sarifReport(
  findings: readonly ToolFinding[],
  locate: (finding: ToolFinding) => SarifLocation | undefined = () => undefined,
): Record<string, unknown> {
  const rules = [
    ...RISKS.map((risk) => ({
      id: ruleId(risk),
      name: `Tool${RISK_LABEL[risk].replace(/(^| )(\w)/g, (_, _s, c: string) => c.toUpperCase())}`,
      shortDescription: { text: `MCP tool whose worst-case misuse: ${RISK_LABEL[risk]}` },
      fullDescription: {
        text: `An agent calling this tool with hostile arguments could: ${RISK_LABEL[risk]}. The level reflects what the policy leaves reachable.`,
      },
      properties: { 'security-severity': SECURITY_SEVERITY[risk], tags: ['security', 'mcp'] },
    })),
    {
      id: POISONING_RULE,
      name: 'ToolPoisoning',
      shortDescription: { text: 'MCP tool definition carrying hidden instructions' },
      fullDescription: {
        text: 'The description or schema addresses the model, asks for files or secrets, shadows other tools, or hides text in invisible characters.',
      },
      properties: { 'security-severity': '8.0', tags: ['security', 'mcp', 'prompt-injection'] },
    },
  ];
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const results = findings
    .filter((f) => f.severity !== 'info')
    .map((f) => {
      const id = f.poisoning.length > 0 ? POISONING_RULE : ruleId(f.classification.risks[0] ?? 'reads_only');
      const where = locate(f);
      return {
        ruleId: id,
        ruleIndex: index.get(id) ?? 0,
        level: LEVEL[f.severity],
        message: {
          text: `${f.upstream}.${f.tool}: ${f.severity} (${f.classification.risks.map((r) => RISK_LABEL[r]).join(', ')}).${f.fixes.length ? ` Fix: ${f.fixes.join('; ')}.` : ''}`,
        },
        ...(where
          ? {
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: where.uri },
                    region: { startLine: where.line, startColumn: where.column },
                  },
                },
              ],
            }
          : {}),
        // Stable across runs, so a scanner tracks one tool's finding over time.
        partialFingerprints: { 'bulkheadTool/v1': `${f.upstream}/${f.tool}` },
        properties: {
          severity: f.severity,
          rawSeverity: f.rawSeverity,
          risks: f.classification.risks,
          profiles: f.profiles,
          gate: f.gate,
          poisoning: f.poisoning,
        },
      };
    });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'bulkhead-audit',
            informationUri: 'https://github.com/bulkhead/bulkhead/blob/main/docs/AUDIT.md',
            version: '0.1.0',
            rules,
          },
        },
        results,
      },
    ],
  };
}
