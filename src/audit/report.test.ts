import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { assessTool } from './effective.js';
import { atOrAbove, jsonReport, textReport, useColour } from './report.js';

const findings = [
  assessTool('db', {
    name: 'run_sql',
    description: 'Runs SQL.',
    inputSchema: { type: 'object', properties: { sql: { type: 'string' } } },
  } as Tool),
  assessTool('db', { name: 'get_status', description: 'Returns a status.', inputSchema: { type: 'object' } }),
];

describe('audit report', () => {
  it('groups findings by severity, worst first', () => {
    const text = textReport(findings, { colour: false });
    expect(text.indexOf('CRITICAL (1)')).toBeLessThan(text.indexOf('LOW (1)'));
  });

  it('shows evidence and a fix under each tool', () => {
    const text = textReport(findings, { colour: false });
    expect(text).toMatch(/evidence: executes SQL \(parameter\): free-form string "sql"/);
    expect(text).toMatch(/fix: tighten argument "sql"/);
  });

  it('writes no escape codes without colour', () => {
    expect(textReport(findings, { colour: false })).not.toContain('\x1b[');
  });

  it('colours only a terminal with NO_COLOR unset', () => {
    expect(useColour({ isTTY: true }, {})).toBe(true);
    expect(useColour({ isTTY: false }, {})).toBe(false);
    expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  });

  it('selects findings at or above a threshold', () => {
    expect(atOrAbove(findings, 'high').map((f) => f.tool)).toEqual(['run_sql']);
  });

  it('lists failed upstreams in the JSON report', () => {
    const json = jsonReport(findings, [{ upstream: 'mail', tools: [], error: 'spawn ENOENT' }]) as {
      failed_upstreams: unknown[];
    };
    expect(json.failed_upstreams).toEqual([{ upstream: 'mail', error: 'spawn ENOENT' }]);
  });
});
