/**
 * A hostile upstream's result nested deeper than any recursive walk can follow (JSON.parse takes
 * any depth; JSON.stringify and every walk overflow at a few thousand): the agent gets the answer
 * with the nesting past the inspection's cap null, whatever the result's size, never the secret
 * at the bottom; the audit trail neither; and the gateway keeps serving.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, denialCode, ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

const TOOLS = ['in_structured', 'in_meta', 'in_block_meta', 'large'];

let gw: TestGateway;
let agent: Agent;
beforeAll(async () => {
  gw = await startTestGateway(`
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  deep:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(join(ROOT, 'test/fixtures/deep-server.mjs'))}]
tools:
  deep:
${TOOLS.map((t) => `    ${t}: { class: read, max_output: 2000000 }`).join('\n')}
    deep_schema: { class: read }
profiles:
  agent:
    tools: [${TOOLS.map((t) => `deep__${t}`).join(', ')}, deep__deep_schema]
`);
  agent = await gw.agent('agent');
});
afterAll(async () => {
  await gw?.close();
});

describe('a tool whose input schema nests 200,000 deep', () => {
  it("is withheld, and the upstream's other tools are served", async () => {
    const { tools } = await agent.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS.map((t) => `deep__${t}`).sort());
  });
});

describe('a result nested 200,000 deep', () => {
  for (const tool of TOOLS) {
    it(`from ${tool}: answered with the deep part cut, never the secret, and the gateway keeps serving`, async () => {
      const result = await agent.client.callTool({ name: `deep__${tool}`, arguments: {} }, undefined, {
        timeout: 30_000,
      });
      expect(denialCode(result), JSON.stringify(result).slice(0, 300)).toBeUndefined();
      expect(JSON.stringify(result)).not.toContain('deepsecretvalue');
      const events = await gw.gateway.store.events.list({ runId: agent.runId, limit: 1000 });
      for (const event of events) expect(JSON.stringify(event)).not.toContain('deepsecretvalue');
      const again = await agent.client.callTool({ name: 'deep__in_meta', arguments: {} });
      expect(denialCode(again)).toBeUndefined();
    }, 60_000);
  }
});
