/**
 * An upstream that floods `notifications/tools/list_changed` (thousands in a
 * burst) must not make the gateway re-list it, rebuild its catalog and
 * notify every session as many times (nor tell every agent session its
 * resources changed as many times): re-listings of one upstream coalesce,
 * one running, at most one per 50 ms, and one more queued, which still sees
 * the last change.
 * The upstream (test/fixtures/schema-server.ts) counts the `tools/list`
 * requests it receives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denialCode, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';
import { type SchemaTool, schemaUpstream } from '../helpers/schema-upstream.js';

const FLOOD = 3000;
const EMPTY = { type: 'object', properties: {} };
const LOOKUP: SchemaTool = { name: 'lookup', description: 'Looks up.', inputSchema: EMPTY };
const TOOLS: SchemaTool[] = [
  { name: 'flood', inputSchema: EMPTY },
  { name: 'swap', inputSchema: EMPTY },
  LOOKUP,
];
const SWAPPED: SchemaTool[] = [...TOOLS.slice(0, 2), { ...LOOKUP, description: 'Looks up, changed.' }];

let gw: TestGateway;
let lists: string;
beforeAll(async () => {
  const dir = tempDir();
  lists = join(dir, 'lists.txt');
  writeFileSync(lists, '');
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
${schemaUpstream('up', TOOLS, { flood: { count: FLOOD, lists }, swap: SWAPPED })}
tools:
  up:
    flood: { class: read }
    swap: { class: read }
    lookup: { class: read }
profiles:
  agent:
    tools: [up__flood, up__swap, up__lookup]
    loop_guard: { identical_calls: 100 }
    resources: [{ upstream: up, uris: ["note://*"] }]
`,
    { dir },
  );
});
afterAll(async () => {
  await gw?.close();
});

const listed = () => readFileSync(lists, 'utf8').split('\n').filter(Boolean).length;

describe('a flood of tools/list_changed', () => {
  it('is answered by a few re-listings, not one per notification', async () => {
    const agent = await gw.agent('agent');
    let told = 0;
    agent.client.setNotificationHandler(ResourceListChangedNotificationSchema, async () => {
      told++;
    });
    const validator = gw.gateway.catalog.get('up__lookup')?.validate;
    expect(validator).toBeDefined();
    const before = listed();
    const sentAt = performance.now();
    const result = await agent.client.callTool({ name: 'up__flood', arguments: {} });
    // The upstream sends the whole flood before its answer (one ordered stdio stream), so the
    // notifications arrived within the call: one re-listing per 50 ms of it at most, one
    // running and one queued. On a quiet machine that is under 10; a loaded one stretches the
    // call (CI at load 14 saw 11–12), never toward one per notification.
    const bound = Math.max(10, 2 + Math.ceil((performance.now() - sentAt) / 50));
    expect(denialCode(result)).toBeUndefined();
    // Let the notifications land and what they started finish.
    await new Promise((r) => setTimeout(r, 1500));
    expect(listed() - before).toBeLessThanOrEqual(bound);
    expect(bound).toBeLessThan(FLOOD / 10);
    // The agent's session is told resources changed a few times, not once per notification.
    expect(told).toBeGreaterThan(0);
    expect(told).toBeLessThanOrEqual(bound);
    expect(denialCode(await agent.client.callTool({ name: 'up__lookup', arguments: {} }))).toBeUndefined();
    // Re-listed, the unchanged schema kept its compiled validator (ajv compiled it again each time).
    expect(gw.gateway.catalog.get('up__lookup')?.validate).toBe(validator);
  });

  it('still serves the last change', async () => {
    const agent = await gw.agent('agent');
    await agent.client.callTool({ name: 'up__swap', arguments: {} });
    for (let i = 0; i < 200; i++) {
      const tools = (await agent.client.listTools()).tools;
      if (tools.find((t) => t.name === 'up__lookup')?.description === 'Looks up, changed.') return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the change never showed');
  });
});
