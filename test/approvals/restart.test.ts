/**
 * Invariants 3 and 9 across restarts: a pending approval survives a gateway
 * restart and stays decidable; an identical retry then runs once. A gateway
 * that dies while an approved call is executing leaves it `outcome_unknown`,
 * and nothing runs it again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHash } from '../../src/approvals/approval.js';
import {
  connectAgent,
  denialCode,
  exampleUpstream,
  ROOT,
  recorded,
  startTestGateway,
  tempDir,
} from '../helpers/harness.js';

const ENV = { ORDERS_API_TOKEN: 'orders-token-restart-tests', ALICE: 'bho_alice-restart-token-0001' };

function policy(dir: string): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: JSON.stringify(join(dir, 'received.jsonl')), ORDERS_TEST_TOOLS: "'1'" })}
tools:
  orders:
    refund_order: { class: irreversible, approval: { approvers: [approver] } }
    slow_echo: { class: irreversible, approval: { approvers: [approver] } }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [orders__refund_order, orders__slow_echo]
`;
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('approvals across a restart', () => {
  it('keeps a pending approval decidable after a restart, and an identical retry runs once', async () => {
    const dir = tempDir();
    const first = await startTestGateway(policy(dir), { dir, env: ENV });
    const { run, token } = await first.gateway.runs.create('agent');
    const agent = await connectAgent(first.gateway.url, token);
    const args = { order_id: 'ORD-000030', amount_cents: 700, reason: 'late' };
    const held = agent.callTool({ name: 'orders__refund_order', arguments: args }).catch(() => 'gone');
    const approval = await waitFor(
      async () => (await first.gateway.store.approvals.list({ state: 'pending', runId: run.id }))[0],
    );
    await first.close();
    await held;

    const second = await startTestGateway(policy(dir), { dir, env: ENV });
    try {
      const response = await fetch(`${second.gateway.url}/api/approvals/${approval.id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ENV.ALICE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ args_hash: runHash(approval) }),
      });
      expect(response.status).toBe(200);
      const retry = await connectAgent(second.gateway.url, token);
      expect(
        denialCode(await retry.callTool({ name: 'orders__refund_order', arguments: args })),
      ).toBeUndefined();
      const again = retry.callTool({ name: 'orders__refund_order', arguments: args });
      const next = await waitFor(
        async () => (await second.gateway.store.approvals.list({ state: 'pending', runId: run.id }))[0],
      );
      expect(next.id).not.toBe(approval.id);
      await second.gateway.approvals.decide(next.id, {
        operator: 'alice',
        decision: 'deny',
        reason: 'once is enough',
        at: Date.now(),
      });
      expect(denialCode(await again)).toBe('approval_denied');
      expect(recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'refund_order')).toHaveLength(1);
      await retry.close();
    } finally {
      await second.close();
    }
  }, 60_000);

  it('lets an identical retry after a restart wait on the approval opened before it, not open a second', async () => {
    const dir = tempDir();
    const first = await startTestGateway(policy(dir), { dir, env: ENV });
    const { run, token } = await first.gateway.runs.create('agent');
    const agent = await connectAgent(first.gateway.url, token);
    const args = { order_id: 'ORD-000031', amount_cents: 300, reason: 'late' };
    const held = agent.callTool({ name: 'orders__refund_order', arguments: args }).catch(() => 'gone');
    const approval = await waitFor(
      async () => (await first.gateway.store.approvals.list({ state: 'pending', runId: run.id }))[0],
    );
    await first.close();
    await held;

    const second = await startTestGateway(policy(dir), { dir, env: ENV });
    try {
      const retry = await connectAgent(second.gateway.url, token);
      const call = retry.callTool({ name: 'orders__refund_order', arguments: args });
      await new Promise((r) => setTimeout(r, 300));
      expect((await second.gateway.store.approvals.list({ runId: run.id })).map((a) => a.id)).toEqual([
        approval.id,
      ]);
      await second.gateway.approvals.decide(approval.id, {
        operator: 'alice',
        decision: 'approve',
        reason: null,
        at: Date.now(),
      });
      expect(denialCode(await call)).toBeUndefined();
      expect(recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'refund_order')).toHaveLength(1);
      await retry.close();
    } finally {
      await second.close();
    }
  }, 60_000);

  it('marks a call that was executing when the gateway crashed outcome_unknown, and never re-runs it', async () => {
    const dir = tempDir();
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, policy(dir));
    const home = join(dir, 'home');
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin/bulkhead.js'), 'gateway', '--policy', file, '--port', '0'],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...ENV,
          BULKHEAD_HOME: home,
          BULKHEAD_FROM_SOURCE: '1',
          BULKHEAD_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], 30_000);
    const adminToken = (await import('node:fs'))
      .readFileSync(join(home, `gateway-${new URL(url).port}.token`), 'utf8')
      .trim();
    const created = await (
      await fetch(`${url}/api/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ profile: 'agent' }),
      })
    ).json();
    const agent = await connectAgent(url, (created as { token: string }).token);
    const args = { ms: 30_000, text: 'irreversible side effect' };
    const call = agent.callTool({ name: 'orders__slow_echo', arguments: args }).catch(() => 'gone');
    const pending = await waitFor(async () => {
      const list = (await (
        await fetch(`${url}/api/approvals?state=pending`, {
          headers: { authorization: `Bearer ${ENV.ALICE}` },
        })
      ).json()) as {
        approvals: { id: string; run_hash: string }[];
      };
      return list.approvals[0];
    });
    await fetch(`${url}/api/approvals/${pending.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ args_hash: pending.run_hash }),
    });
    const record = join(dir, 'received.jsonl');
    await waitFor(() => (recorded(record).some((r) => r.tool === 'slow_echo') ? true : undefined));
    child.kill('SIGKILL');
    await call;

    const restarted = await startTestGateway(policy(dir), { dir, env: ENV });
    try {
      expect((await restarted.gateway.store.approvals.get(pending.id))?.state).toBe('outcome_unknown');
      const [event] = await restarted.gateway.store.events.list({
        kind: 'approval.executed',
        code: 'outcome_unknown',
      });
      expect(event?.data.approvalId).toBe(pending.id);
      // An identical retry asks a human again; it does not reuse the unknown one.
      const retry = await connectAgent(restarted.gateway.url, (created as { token: string }).token);
      const again = retry.callTool({ name: 'orders__slow_echo', arguments: args });
      const fresh = await waitFor(
        async () => (await restarted.gateway.store.approvals.list({ state: 'pending' }))[0],
      );
      expect(fresh.id).not.toBe(pending.id);
      // ... and that human is told the same action may already have happened.
      expect(fresh.why).toContain(`${pending.id} may already have run`);
      await restarted.gateway.approvals.decide(fresh.id, {
        operator: 'alice',
        decision: 'deny',
        reason: 'checked',
        at: Date.now(),
      });
      expect(denialCode(await again)).toBe('approval_denied');
      expect(recorded(record).filter((r) => r.tool === 'slow_echo')).toHaveLength(1);
      await retry.close();
    } finally {
      await restarted.close();
    }
  }, 90_000);
});
