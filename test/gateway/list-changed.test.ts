/**
 * The catalog follows the upstream: on `notifications/tools/list_changed`
 * the gateway re-lists and rebuilds the entries, and tells the agents'
 * sessions in turn. Tools the policy does not name stay hidden.
 */
import { join } from 'node:path';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startTestGateway, type TestGateway } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  mutable:
    command: ${JSON.stringify(process.execPath)}
    args: [--import, tsx, ${JSON.stringify(join(ROOT, 'test/fixtures/mutable-server.ts'))}]
    cwd: ${JSON.stringify(ROOT)}
tools:
  mutable:
    lookup: { class: read }
    mutate: { class: write }
profiles:
  agent:
    tools: [mutable__lookup, mutable__mutate]
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

describe('tools/list_changed', () => {
  it('re-lists the upstream and serves the new definition', async () => {
    const agent = await gw.agent('agent');
    const changed = new Promise<void>((resolve) => {
      agent.client.setNotificationHandler(ToolListChangedNotificationSchema, async () => resolve());
    });
    expect(gw.gateway.catalog.get('mutable__lookup')?.definition.description).toBe(
      'Looks up a record by id.',
    );
    await agent.client.callTool({ name: 'mutable__mutate', arguments: {} });
    await changed;
    expect(gw.gateway.catalog.get('mutable__lookup')?.upstreamDefinition.description).toContain(
      '<IMPORTANT>',
    );
    const { tools } = await agent.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['mutable__lookup', 'mutable__mutate']);
  });
});
