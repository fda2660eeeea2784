import { describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { useRefundDesk } from '../helpers/refund-desk.js';

const desk = useRefundDesk('plain-token-for-views-test');

describe('bulkhead approvals', () => {
  it('shows every argument, uncut, and the differing amount first', async () => {
    const reason = `customer reported damage in transit; photos attached to the ticket ${'x'.repeat(80)} end-of-reason`;
    const agent = await desk.gw.agent('agent');
    const calls = [1500, 45000].map((amount_cents) =>
      agent.client.callTool({
        name: 'orders__refund_order',
        arguments: { order_id: 'ORD-000042', reason, amount_cents },
      }),
    );
    for (let i = 0; i < 200; i++) {
      if ((await desk.gw.gateway.store.approvals.list({ state: 'pending' })).length >= 2) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const out = (await bulkhead(['approvals'], { env: desk.env })).stdout;
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
    for (const a of await desk.gw.gateway.store.approvals.list({ state: 'pending' }))
      await desk.gw.gateway.approvals.decide(a.id, {
        operator: 'local',
        decision: 'deny',
        reason: 'test',
        at: Date.now(),
      });
    await Promise.all(calls);
  });
});
