/**
 * Invariant 6 (gateway side): after a kill no new call of the run is
 * forwarded and in-flight calls are cancelled at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denialCode, everythingUpstream, startTestGateway, type TestGateway } from '../helpers/harness.js';

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
${everythingUpstream()}
tools:
  everything:
    echo: { class: read }
    trigger-long-running-operation: { class: read, rename: slow }
profiles:
  agent:
    tools: [everything__echo, everything__slow]
    budgets: { wall_clock: 2s }
`;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(POLICY);
});
afterAll(async () => {
  await gw?.close();
});

describe('kill switch', () => {
  // The kill-to-cancel latency is measured in bench/kill.bench.ts; here: long before the upstream would finish.
  it('cancels an in-flight call at once instead of waiting for the upstream', async () => {
    const agent = await gw.agent('agent');
    const started = agent.client.callTool({
      name: 'everything__slow',
      arguments: { duration: 20, steps: 20 },
    });
    await new Promise((r) => setTimeout(r, 300));
    const killedAt = performance.now();
    await fetch(`${gw.gateway.url}/api/runs/${agent.runId}/kill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.gateway.localToken}` },
    });
    const result = await started;
    const elapsed = performance.now() - killedAt;
    expect(denialCode(result)).toBe('run_not_active');
    expect(elapsed).toBeLessThan(5_000);
  });

  it('refuses every later call of a killed run', async () => {
    const agent = await gw.agent('agent');
    await gw.gateway.runs.end(agent.runId, 'killed', 'test');
    const result = await agent.client.callTool({ name: 'everything__echo', arguments: { message: 'x' } });
    expect(denialCode(result)).toBe('run_not_active');
    const { tools } = await agent.client.listTools();
    expect(tools).toEqual([]);
  });

  it('kills every active run with kill-all', async () => {
    const a = await gw.agent('agent');
    const b = await gw.agent('agent');
    const response = await fetch(`${gw.gateway.url}/api/kill-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.gateway.localToken}` },
    });
    const { killed } = (await response.json()) as { killed: string[] };
    expect(killed).toEqual(expect.arrayContaining([a.runId, b.runId]));
    expect((await gw.gateway.runs.get(a.runId))?.state).toBe('killed');
  });

  it('expires a run at its wall clock and cancels its in-flight call', async () => {
    const agent = await gw.agent('agent');
    const result = await agent.client.callTool({
      name: 'everything__slow',
      arguments: { duration: 20, steps: 20 },
    });
    expect(denialCode(result)).toBe('run_not_active');
    expect((await gw.gateway.runs.get(agent.runId))?.state).toBe('expired');
  });
});
