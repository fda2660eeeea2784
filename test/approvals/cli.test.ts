import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkhead } from '../helpers/cli.js';
import {
  denialCode,
  exampleUpstream,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const dir = tempDir();
const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: 'plain-token-for-cli-test', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')) })}
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

async function firstPending(): Promise<{ id: string }> {
  for (let i = 0; i < 100; i++) {
    const result = await bulkhead(['approvals', '--json'], { env });
    const list = JSON.parse(result.stdout) as { id: string }[];
    if (list[0]) return list[0];
  }
  throw new Error('nothing pending');
}

describe('bulkhead approvals, approve, deny', () => {
  it('lists a held call and approves it from the terminal', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000001', amount_cents: 1, reason: 'cli' },
    });
    const pending = await firstPending();
    const table = await bulkhead(['approvals'], { env });
    expect(table.stdout).toContain(pending.id);
    const approved = await bulkhead(['approve', pending.id, '--reason', 'looks right'], { env });
    expect(approved.code).toBe(0);
    expect(approved.stdout).toContain(`approved ${pending.id}`);
    expect(denialCode(await call)).toBeUndefined();
  });

  it('denies with a reason the agent sees', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000002', amount_cents: 1, reason: 'cli' },
    });
    const pending = await firstPending();
    expect((await bulkhead(['deny', pending.id, '--reason', 'not today'], { env })).code).toBe(0);
    const result = await call;
    expect(denialCode(result)).toBe('approval_denied');
    expect(JSON.stringify(result.content)).toContain('not today');
  });

  it('exits 2 when deny has no reason', async () => {
    expect((await bulkhead(['deny', 'apr_x'], { env })).code).toBe(2);
  });
});
