import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { assessTool } from './effective.js';
import { sarifReport } from './sarif.js';

interface Sarif {
  version: string;
  $schema: string;
  runs: {
    tool: { driver: { name: string; rules: { id: string }[] } };
    results: {
      ruleId: string;
      ruleIndex: number;
      level: string;
      message: { text: string };
      locations?: {
        physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
      }[];
    }[];
  }[];
}

const sql = assessTool('db', {
  name: 'run_sql',
  description: 'Runs SQL.',
  inputSchema: { type: 'object', properties: { sql: { type: 'string' } } },
} as Tool);

describe('SARIF report', () => {
  it('has the SARIF 2.1.0 top-level shape', () => {
    const s = sarifReport([sql]) as unknown as Sarif;
    expect(s.version).toBe('2.1.0');
    expect(s.$schema).toMatch(/sarif-2\.1\.0/);
    expect(s.runs[0]?.tool.driver.name).toBe('bulkhead-audit');
  });

  it('points every result at a rule that exists, by id and index', () => {
    const run = (sarifReport([sql]) as unknown as Sarif).runs[0];
    for (const r of run?.results ?? []) expect(run?.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId);
  });

  it('maps critical to level error with the misuse class as rule', () => {
    const r = (sarifReport([sql]) as unknown as Sarif).runs[0]?.results[0];
    expect(r?.level).toBe('error');
    expect(r?.ruleId).toBe('executes-sql');
  });

  it('locates a result in the policy when a locator is given', () => {
    const s = sarifReport([sql], () => ({ uri: 'policy.yaml', line: 12, column: 5 })) as unknown as Sarif;
    const loc = s.runs[0]?.results[0]?.locations?.[0]?.physicalLocation;
    expect(loc?.artifactLocation.uri).toBe('policy.yaml');
    expect(loc?.region.startLine).toBe(12);
  });

  it('leaves out tools no agent can reach (info)', () => {
    const hidden = { ...sql, severity: 'info' as const };
    expect((sarifReport([hidden]) as unknown as Sarif).runs[0]?.results).toEqual([]);
  });
});
