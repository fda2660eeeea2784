/**
 * A large schema an operator reviewed can be admitted: `schema_limits` on its
 * tool rule raises the cost limits for that tool alone (within ceilings the
 * policy loader enforces), while the same schema under a rule that does not
 * raise them, or a sibling's, stays out with `schema_too_costly`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../src/policy/load.js';
import { denialCode, startTestGateway, type TestGateway } from '../helpers/harness.js';
import { type SchemaTool, schemaUpstream } from '../helpers/schema-upstream.js';

/** 300 properties: past the default 256 names in one map. */
const wide = (title: string): SchemaTool['inputSchema'] => ({
  type: 'object',
  title,
  properties: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, { type: 'string' }])),
});
const TOOLS: SchemaTool[] = [
  { name: 'reviewed', inputSchema: wide('reviewed') },
  { name: 'unreviewed', inputSchema: wide('unreviewed') },
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(`
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', TOOLS)}
tools:
  up:
    reviewed: { class: read, schema_limits: { properties: 400, nodes: 1500 } }
    unreviewed: { class: read }
profiles:
  agent:
    tools: [up__reviewed, up__unreviewed]
`);
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

describe('schema_limits on a tool rule', () => {
  it('admits the reviewed tool, closed as any other: its declared arguments pass, others do not', async () => {
    const agent = await gw.agent('agent');
    expect((await agent.client.listTools()).tools.map((t) => t.name)).toContain('up__reviewed');
    expect(
      denialCode(await agent.client.callTool({ name: 'up__reviewed', arguments: { p299: 'x' } })),
    ).toBeUndefined();
    expect(
      denialCode(await agent.client.callTool({ name: 'up__reviewed', arguments: { admin: true } })),
    ).toBe('invalid_arguments');
  });

  it('leaves the same schema out for a tool whose rule does not raise them', async () => {
    const agent = await gw.agent('agent');
    expect((await agent.client.listTools()).tools.map((t) => t.name)).not.toContain('up__unreviewed');
    expect(gw.readLog()).toMatch(/"tool":"unreviewed".*schema_too_costly/);
  });

  it('is refused at load past its ceiling, with the place in the file', () => {
    const text = `version: 1
store: { sqlite: ./x.db }
upstreams:
  up: { command: node }
tools:
  up:
    t: { class: read, schema_limits: { properties: 100000 } }
profiles:
  agent:
    tools: [up__t]
`;
    expect(() => parsePolicy(text, 'policy.yaml')).toThrow(/policy\.yaml:7:\d+.*schema_limits/s);
  });
});
