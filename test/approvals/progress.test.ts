/**
 * While a held call waits, a client that asked for progress hears from the
 * gateway, so it does not time out on a human. Progress needs the SSE answer
 * mode (`gateway.stream_responses: true`): a plain JSON answer has no channel
 * for notifications before the result.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  denialCode,
  exampleUpstream,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const dir = tempDir();
const ENV = { ORDERS_API_TOKEN: 'orders-progress-token-0001', ALICE: 'bho_alice-progress-token-0001' };
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    `
version: 1
gateway: { stream_responses: true }
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')) })}
tools:
  orders:
    refund_order: { class: irreversible, approval: { approvers: [approver] } }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [orders__refund_order]
`,
    { dir, env: ENV },
  );
});
afterAll(async () => {
  await gw?.close();
});

describe('progress while held', () => {
  it('sends MCP progress notifications to a waiting client that asked for them', async () => {
    const agent = await gw.agent('agent');
    const progress: { progress: number; message?: string }[] = [];
    const call = agent.client.callTool(
      { name: 'orders__refund_order', arguments: { order_id: 'ORD-000016', amount_cents: 1, reason: 'p' } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 60_000 },
    );
    let id: string | undefined;
    for (let i = 0; i < 200 && !id; i++) {
      id = (await gw.gateway.store.approvals.list({ state: 'pending', runId: agent.runId }))[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 25));
    }
    for (let i = 0; i < 200 && progress.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(progress[0]?.message).toContain('waiting for a human');
    await gw.gateway.approvals.decide(id as string, {
      operator: 'alice',
      decision: 'deny',
      reason: 'progress seen',
      at: Date.now(),
    });
    expect(denialCode(await call)).toBe('approval_denied');
  }, 30_000);
});
