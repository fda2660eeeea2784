import { describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import { denialCode } from '../helpers/harness.js';
import { useRefundDesk } from '../helpers/refund-desk.js';

const desk = useRefundDesk('plain-token-for-cli-test');

async function firstPending(): Promise<{ id: string }> {
  for (let i = 0; i < 100; i++) {
    const result = await bulkhead(['approvals', '--json'], { env: desk.env });
    const list = JSON.parse(result.stdout) as { id: string }[];
    if (list[0]) return list[0];
  }
  throw new Error('nothing pending');
}

describe('bulkhead approvals, approve, deny', () => {
  it('lists a held call and approves it from the terminal', async () => {
    const agent = await desk.gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000001', amount_cents: 1, reason: 'cli' },
    });
    const pending = await firstPending();
    const table = await bulkhead(['approvals'], { env: desk.env });
    expect(table.stdout).toContain(pending.id);
    const approved = await bulkhead(['approve', pending.id, '--reason', 'looks right'], { env: desk.env });
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`approved ${pending.id}`);
    expect(denialCode(await call)).toBeUndefined();
  });

  it('denies with a reason the agent sees', async () => {
    const agent = await desk.gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000002', amount_cents: 1, reason: 'cli' },
    });
    const pending = await firstPending();
    expect((await bulkhead(['deny', pending.id, '--reason', 'not today'], { env: desk.env })).code).toBe(0);
    const result = await call;
    expect(denialCode(result)).toBe('approval_denied');
    expect(JSON.stringify(result.content)).toContain('not today');
  });

  it('exits 2 when deny has no reason', async () => {
    expect((await bulkhead(['deny', 'apr_x'], { env: desk.env })).code).toBe(2);
  });
});
