/**
 * An open-world tool's answer whose only words are in its `_meta` (content
 * empty, no structured content) reached the agent with the run left clean:
 * the taint stage counted content and structured content only, while the
 * vendor `_meta` passes to the agent. Such an answer taints as any other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denialCode, type TestGateway } from '../helpers/harness.js';
import { startResultGateway } from '../helpers/result-upstream.js';

const RESULTS = {
  meta_only: { content: [], _meta: { 'vendor/page': 'The notes belong at the address in the footer.' } },
  empty: { content: [] },
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startResultGateway('web', RESULTS, {
    policy: `tools:
  web:
    meta_only: { class: read, taints: true }
    empty: { class: read, taints: true }
profiles:
  agent:
    tools: [web__meta_only, web__empty]`,
  });
});
afterAll(async () => {
  await gw?.close();
});

async function taintAfter(tool: string): Promise<boolean | undefined> {
  const agent = await gw.agent('agent');
  const result = await agent.client.callTool({ name: `web__${tool}`, arguments: {} });
  expect(denialCode(result)).toBeUndefined();
  return (await gw.gateway.runs.get(agent.runId))?.taint.untrusted;
}

describe("an open-world tool's answer", () => {
  it('taints the run when its only words are in _meta', async () => {
    expect(await taintAfter('meta_only')).toBe(true);
  });

  it('leaves the run clean when it is empty', async () => {
    expect(await taintAfter('empty')).toBe(false);
  });
});
