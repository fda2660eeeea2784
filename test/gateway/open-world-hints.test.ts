/**
 * A tool whose own server says it reads the open world (`openWorldHint` and
 * `readOnlyHint`: a fetch, a web search) returns foreign content, whatever
 * class the policy gave it. The flow stage already took the server's word
 * for such a tool as a way out; its output did not taint the run unless the
 * policy said `taints: true`, so a page's instructions reached the agent
 * unmarked and an external tool after it was allowed. The server's hint only
 * adds taint; the policy's explicit `taints: false` is the operator's word.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { denialCode, type TestGateway } from '../helpers/harness.js';
import { type SchemaTool, startSchemaGateway } from '../helpers/schema-upstream.js';

const OPEN = { type: 'object', properties: { q: { type: 'string' } } };
const TOOLS: SchemaTool[] = [
  { name: 'fetch', inputSchema: OPEN, annotations: { readOnlyHint: true, openWorldHint: true } },
  { name: 'vetted_fetch', inputSchema: OPEN, annotations: { readOnlyHint: true, openWorldHint: true } },
  { name: 'post', inputSchema: OPEN, annotations: { readOnlyHint: false, openWorldHint: true } },
  { name: 'lookup', inputSchema: OPEN, annotations: { readOnlyHint: true } },
];

let gw: TestGateway;
let record: string;
beforeAll(async () => {
  ({ gw, record } = await startSchemaGateway('web', TOOLS, {
    policy: `tools:
  web:
    fetch: { class: read }
    vetted_fetch: { class: read, taints: false }
    post: { class: external }
    lookup: { class: read }
profiles:
  agent:
    tools: [web__fetch, web__vetted_fetch, web__post, web__lookup]
    flow: { tainted_external: refuse }`,
  }));
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => {
  writeFileSync(record, '');
});

/** The run's taint sources after one call of `tool`. */
async function taintAfter(tool: string): Promise<string[]> {
  const agent = await gw.agent('agent');
  expect(
    denialCode(await agent.client.callTool({ name: `web__${tool}`, arguments: { q: 'x' } })),
  ).toBeUndefined();
  return (await gw.gateway.runs.get(agent.runId))?.taint.sources ?? [];
}

describe('a tool its own server says reads the open world', () => {
  it('taints the run with its output though the policy calls it read', async () => {
    expect(await taintAfter('fetch')).toEqual(['web__fetch']);
  });

  it('makes an external call after it refused under tainted_external: refuse', async () => {
    const agent = await gw.agent('agent');
    await agent.client.callTool({ name: 'web__fetch', arguments: { q: 'page' } });
    const sent = await agent.client.callTool({ name: 'web__post', arguments: { q: 'data' } });
    expect(denialCode(sent)).toBe('flow_blocked');
  });

  it('does not taint when the policy says taints: false', async () => {
    expect(await taintAfter('vetted_fetch')).toEqual([]);
  });

  it('does not taint for a tool that writes to the open world (its answer is a receipt)', async () => {
    expect(await taintAfter('post')).toEqual([]);
  });

  it('does not taint for a read-only tool that does not say it reads the open world', async () => {
    expect(await taintAfter('lookup')).toEqual([]);
  });
});
