/**
 * Operator views show the whole truth (issue 13, point 7): `bulkhead
 * approvals` prints every argument of every held call, never cut, with the
 * fields that differ between held calls of the same tool first.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { exampleUpstream, startTestGateway, type TestGateway, tempDir } from '../helpers/harness.js';

const dir = tempDir();
const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: 'plain-token-for-views-test', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')) })}
tools:
  orders:
    refund_order: { class: irreversible, approval: { approvers: [admin] } }
profiles:
  agent:
    tools: [orders__refund_order]
`;

let gw: TestGateway;
let env: Record<string, string>;
beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir });
  env = { BULKHEAD_HOME: join(dir, 'home'), BULKHEAD_GATEWAY: gw.gateway.url };
});
afterAll(async () => {
  await gw?.close();
});

describe('bulkhead approvals', () => {
  it('shows every argument, uncut, and the differing amount first', async () => {
    const reason = `customer reported damage in transit; photos attached to the ticket ${'x'.repeat(80)} end-of-reason`;
    const agent = await gw.agent('agent');
    const calls = [1500, 45000].map((amount_cents) =>
      agent.client.callTool({
        name: 'orders__refund_order',
        arguments: { order_id: 'ORD-000042', reason, amount_cents },
      }),
    );
    for (let i = 0; i < 200; i++) {
      if ((await gw.gateway.store.approvals.list({ state: 'pending' })).length >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const out = (await bulkhead(['approvals'], { env })).stdout;
    // Long values wrap onto indented lines; joined back, nothing is missing.
    const flat = out
      .split('\n')
      .map((l) => l.trim())
      .join('');
    expect(flat).toContain(JSON.stringify(reason));
    expect(out).toContain('45000');
    expect(out).toContain('1500');
    const lines = out.split('\n');
    const amount = lines.findIndex((l) => l.includes('* /amount_cents'));
    const order = lines.findIndex((l) => l.includes('/order_id'));
    expect(amount).toBeGreaterThan(-1);
    expect(amount).toBeLessThan(order);
    for (const a of await gw.gateway.store.approvals.list({ state: 'pending' }))
      await gw.gateway.approvals.decide(a.id, {
        operator: 'local',
        decision: 'deny',
        reason: 'test',
        at: Date.now(),
      });
    await Promise.all(calls);
  });
});
