/**
 * What the gateway would withhold: the audit runs each listed definition
 * through the gateway's own catalog (tightening, the schema cost limits,
 * compiling), so a tool the policy names but the gateway would keep out is
 * reported with the same stable code the gateway logs (`schema_too_costly`,
 * `policy_widens`, `schema_unsupported`, `schema_uncompilable`,
 * `schema_compile_budget`), not found out later from a gateway log.
 */
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { Catalog, type CatalogProblem } from '../gateway/catalog.js';
import type { Policy } from '../policy/schema/index.js';
import type { ToolFinding } from './effective.js';

export function markWithheld(
  findings: ToolFinding[],
  listed: readonly { upstream: string; tools: Tool[]; error?: string }[],
  policy: Policy,
): void {
  const problems: CatalogProblem[] = [];
  const catalog = new Catalog({ rules: policy.tools, onProblem: (p) => problems.push(p) });
  for (const l of listed) if (!l.error) catalog.update(l.upstream, l.tools);
  for (const p of problems) {
    const finding = findings.find((f) => f.upstream === p.upstream && f.tool === p.tool);
    if (!finding) continue;
    finding.withheld.push({ code: p.code, message: p.message });
    finding.fixes.push(`the gateway keeps it out (${p.code}): ${p.message}`);
  }
}
