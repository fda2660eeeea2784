/**
 * `bulkhead audit --policy` says which tools the gateway would keep out of
 * its catalog, and why, with the code the gateway logs: a schema past the
 * cost limits (`schema_too_costly`), a policy rule that would widen the
 * upstream (`policy_widens`). The real `bulkhead` executable against a real
 * stdio upstream (test/fixtures/schema-server.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { tempDir } from '../helpers/harness.js';
import { type SchemaTool, schemaUpstream } from '../helpers/schema-upstream.js';

/** A chain of 150 references: past the 64 the gateway compiles. */
function chain(n: number): Record<string, unknown> {
  const $defs: Record<string, unknown> = { [`d${n}`]: { type: 'string' } };
  for (let i = 0; i < n; i++)
    $defs[`d${i}`] = { type: 'object', properties: { x: { $ref: `#/$defs/d${i + 1}` } } };
  return { type: 'object', properties: { f: { $ref: '#/$defs/d0' } }, $defs };
}

const TOOLS: SchemaTool[] = [
  { name: 'costly', inputSchema: chain(150) },
  { name: 'widened', inputSchema: { type: 'object', properties: { q: { type: 'string', maxLength: 10 } } } },
  { name: 'fine', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } },
];

function policy(dir: string): string {
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    `version: 1
upstreams:
${schemaUpstream('up', TOOLS)}
tools:
  up:
    costly: { class: read }
    widened: { class: read, arguments: { q: { maxLength: 50 } } }
    fine: { class: read }
profiles:
  agent:
    tools: [up__costly, up__widened, up__fine]
`,
  );
  return file;
}

describe('bulkhead audit --policy and tools the gateway would withhold', () => {
  it('reports each with the gateway code, in JSON and in text', async () => {
    const file = policy(tempDir());
    const json = await bulkhead(['audit', '--policy', file, '--json', '--fail-on', 'critical']);
    const findings = JSON.parse(json.stdout).findings as {
      tool: string;
      policy: { withheld: { code: string }[] };
    }[];
    const withheld = Object.fromEntries(findings.map((f) => [f.tool, f.policy.withheld.map((w) => w.code)]));
    expect(withheld).toEqual({ costly: ['schema_too_costly'], widened: ['policy_widens'], fine: [] });
    const text = await bulkhead(['audit', '--policy', file, '--fail-on', 'critical']);
    expect(text.stdout).toMatch(
      /up\.costly:[\s\S]*withheld by the gateway \(schema_too_costly\): .*64 \$ref/,
    );
    expect(text.stdout).toMatch(/withheld by the gateway \(policy_widens\): argument "q": maxLength 50/);
  }, 60_000);
});
