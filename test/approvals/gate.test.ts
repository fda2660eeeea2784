/**
 * Invariant 3: a gated call runs only after approval of exactly those
 * arguments, at most once, also across a restart. The orders server records
 * every call it receives; the record is the proof of (non-)execution.
 */

import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runHash } from '../../src/approvals/approval.js';
import { signature } from '../../src/notify/notifier.js';
import {
  denialCode,
  exampleUpstream,
  recorded,
  startTestGateway,
  type TestGateway,
  tempDir,
  text,
} from '../helpers/harness.js';

const dir = tempDir();
const RECORD = join(dir, 'received.jsonl');
const ORDERS_TOKEN = 'orders-canary-token-3f9a1c7e55';
const ENV = {
  ORDERS_API_TOKEN: ORDERS_TOKEN,
  ALICE: 'bho_alice-token-for-tests-0001',
  BOB: 'bho_bob-token-for-tests-0002',
  CAROL: 'bho_carol-token-for-tests-0003',
  HOOK_KEY: 'webhook-signing-key-test-0004',
};

interface Hook {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
const hooks: Hook[] = [];
let receiver: Server;
let hookUrl = '';

function policy(): string {
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: JSON.stringify(RECORD), ORDERS_TEST_TOOLS: "'1'" })}
tools:
  orders:
    refund_order:
      class: irreversible
      approval: { approvers: [approver], timeout: 20s, allow_edit: true }
    delete_customer:
      class: irreversible
      approval: { approvers: [approver], quorum: 2, allow_edit: true }
    list_orders:
      class: read
      approval: { when: [{ arg: limit, gt: 50 }], approvers: [approver], timeout: 1s }
    slow_echo:
      class: irreversible
      approval: { approvers: [approver] }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
  bob: { token: { secret: BOB }, roles: [approver] }
  carol: { token: { secret: CAROL }, roles: [viewer] }
notifiers:
  hook: { type: webhook, url: ${JSON.stringify(hookUrl)}, signing_key: { secret: HOOK_KEY } }
profiles:
  agent:
    tools: [orders__refund_order, orders__delete_customer, orders__list_orders, orders__slow_echo]
    loop_guard: { identical_calls: 100 }
`;
}

let gw: TestGateway;

async function api(
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  // An approval names the arguments the approver saw: here, the approval as stored right now.
  const approving = /^\/approvals\/([^/]+)\/approve$/.exec(path);
  if (approving && body && typeof body === 'object' && !('args_hash' in body)) {
    const seen = await gw.gateway.store.approvals.get(approving[1] as string);
    if (seen) body = { ...body, args_hash: runHash(seen) };
  }
  const response = await fetch(`${gw.gateway.url}/api${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function pendingFor(
  runId: string,
  count = 1,
): Promise<{ id: string; arguments: Record<string, unknown> }[]> {
  for (let i = 0; i < 200; i++) {
    const { json } = await api('/approvals?state=pending', ENV.ALICE);
    const mine = (
      json.approvals as { id: string; run_id: string; arguments: Record<string, unknown> }[]
    ).filter((a) => a.run_id === runId);
    if (mine.length >= count) return mine;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no pending approval appeared');
}

const refundCalls = () => recorded(RECORD).filter((r) => r.tool === 'refund_order');

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      hooks.push({ headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  gw = await startTestGateway(policy(), { dir, env: ENV });
});
afterAll(async () => {
  await gw?.close();
  receiver?.close();
});
beforeEach(() => rmSync(RECORD, { force: true }));

describe('holding and approving', () => {
  it('holds the call: the upstream sees nothing until a human approves, then exactly that call once', async () => {
    const agent = await gw.agent('agent');
    const args = { order_id: 'ORD-000010', amount_cents: 500, reason: 'damaged' };
    const call = agent.client.callTool({ name: 'orders__refund_order', arguments: args });
    const [approval] = await pendingFor(agent.runId);
    await new Promise((r) => setTimeout(r, 200));
    expect(refundCalls()).toEqual([]);
    const decided = await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, { reason: 'ok' });
    expect(decided.status).toBe(200);
    const result = await call;
    expect(denialCode(result)).toBeUndefined();
    expect(refundCalls()).toEqual([{ server: 'orders', tool: 'refund_order', arguments: args }]);
    const { json } = await api(`/approvals/${approval?.id}`, ENV.ALICE);
    expect((json.approval as { state: string }).state).toBe('executed');
  });

  it('does not release a call with other arguments', async () => {
    const agent = await gw.agent('agent');
    const a = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000011', amount_cents: 100, reason: 'a' },
    });
    const b = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000012', amount_cents: 99_999, reason: 'b' },
    });
    const pending = await pendingFor(agent.runId, 2);
    const forA = pending.find((p) => p.arguments.order_id === 'ORD-000011');
    const forB = pending.find((p) => p.arguments.order_id === 'ORD-000012');
    await api(`/approvals/${forA?.id}/approve`, ENV.ALICE, {});
    expect(denialCode(await a)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(refundCalls().map((c) => (c.arguments as { order_id: string }).order_id)).toEqual(['ORD-000011']);
    await api(`/approvals/${forB?.id}/deny`, ENV.ALICE, { reason: 'too much' });
    expect(denialCode(await b)).toBe('approval_denied');
    expect(refundCalls()).toHaveLength(1);
  });

  it('refuses to claim an approval for another run or tool', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000013', amount_cents: 1, reason: 'x' },
    });
    const [approval] = await pendingFor(agent.runId);
    await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {});
    await call;
    const store = gw.gateway.store.approvals;
    const row = await store.get(approval?.id as string);
    await store.transition(row?.id as string, ['executed'], 'approved');
    expect(
      await store.transition(row?.id as string, ['approved'], 'executing', {
        runId: 'run_other',
        tool: row?.tool as string,
        argsHash: row?.argsHash as string,
      }),
    ).toBeUndefined();
    expect(
      await store.transition(row?.id as string, ['approved'], 'executing', {
        runId: row?.runId as string,
        tool: 'orders__delete_customer',
        argsHash: row?.argsHash as string,
      }),
    ).toBeUndefined();
    const other = await gw.agent('agent');
    const replay = other.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000013', amount_cents: 1, reason: 'x' },
    });
    const [fresh] = await pendingFor(other.runId);
    expect(fresh?.id).not.toBe(approval?.id);
    await api(`/approvals/${fresh?.id}/deny`, ENV.ALICE, { reason: 'no' });
    expect(denialCode(await replay)).toBe('approval_denied');
  });

  it('executes once when two operators approve at the same instant', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000014', amount_cents: 5, reason: 'race' },
    });
    const [approval] = await pendingFor(agent.runId);
    const votes = await Promise.all([
      api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {}),
      api(`/approvals/${approval?.id}/approve`, ENV.BOB, {}),
    ]);
    expect(votes.map((v) => v.status).sort()).toEqual([200, 409]);
    await call;
    expect(refundCalls()).toHaveLength(1);
  });

  it('executes the edited arguments when an approver edits them, and records both', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000015', amount_cents: 90_000, reason: 'big' },
    });
    const [approval] = await pendingFor(agent.runId);
    const bad = await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {
      arguments: { order_id: 'ORD-000015', amount_cents: -1, reason: 'big' },
    });
    expect(bad.status).toBe(400);
    await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {
      arguments: { order_id: 'ORD-000015', amount_cents: 5_000, reason: 'big' },
    });
    await call;
    expect(refundCalls()[0]?.arguments).toEqual({
      order_id: 'ORD-000015',
      amount_cents: 5_000,
      reason: 'big',
    });
    const [event] = await gw.gateway.store.events.list({ runId: agent.runId, kind: 'approval.decided' });
    expect(event?.data).toMatchObject({
      original: { amount_cents: 90_000 },
      edited: { amount_cents: 5_000 },
    });
  });
});

describe('denying, timing out, cancelling', () => {
  it('returns approval_denied with the reason, scrubbed of secrets', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000020', amount_cents: 1, reason: 'x' },
    });
    const [approval] = await pendingFor(agent.runId);
    await api(`/approvals/${approval?.id}/deny`, ENV.ALICE, {
      reason: `policy says no (token ${ORDERS_TOKEN})`,
    });
    const result = await call;
    expect(denialCode(result)).toBe('approval_denied');
    expect(text(result)).toContain('policy says no');
    expect(text(result)).not.toContain(ORDERS_TOKEN);
    expect(refundCalls()).toEqual([]);
  });

  it('denies with approval_timeout when nobody decides in time, and the upstream sees nothing', async () => {
    const agent = await gw.agent('agent');
    const big = await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 60 } });
    expect(denialCode(big)).toBe('approval_timeout');
    expect(recorded(RECORD).filter((r) => r.tool === 'list_orders')).toEqual([]);
  });

  it('lets a call through unheld when the argument condition does not hold', async () => {
    const agent = await gw.agent('agent');
    const small = await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 5 } });
    expect(denialCode(small)).toBeUndefined();
    expect(await gw.gateway.store.approvals.list({ runId: agent.runId })).toEqual([]);
  });

  it('withdraws the approval when the client cancels', async () => {
    const agent = await gw.agent('agent');
    const controller = new AbortController();
    const call = agent.client
      .callTool(
        { name: 'orders__refund_order', arguments: { order_id: 'ORD-000021', amount_cents: 1, reason: 'x' } },
        undefined,
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    const [approval] = await pendingFor(agent.runId);
    controller.abort();
    await call;
    for (let i = 0; i < 100; i++) {
      if ((await gw.gateway.store.approvals.get(approval?.id as string))?.state === 'withdrawn') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await gw.gateway.store.approvals.get(approval?.id as string))?.state).toBe('withdrawn');
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {})).status).toBe(409);
  });

  it('keeps the approval open and stops waiting when the caller drops its HTTP connection', async () => {
    // Raw HTTP, so the connection itself closes (no notifications/cancelled is sent).
    const agent = await gw.agent('agent');
    const headers = {
      authorization: `Bearer ${agent.token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(`${gw.gateway.url}/mcp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });
    const session = init.headers.get('mcp-session-id') as string;
    await init.text();
    const withSession = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
    await fetch(`${gw.gateway.url}/mcp`, {
      method: 'POST',
      headers: withSession,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    }).then((r) => r.text());
    const controller = new AbortController();
    const call = fetch(`${gw.gateway.url}/mcp`, {
      method: 'POST',
      headers: withSession,
      signal: controller.signal,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: {
          name: 'orders__refund_order',
          arguments: { order_id: 'ORD-000022', amount_cents: 1, reason: 'dropped' },
        },
      }),
    })
      .then((r) => r.body?.getReader().read())
      .catch((e: unknown) => e);
    const [approval] = await pendingFor(agent.runId);
    controller.abort();
    await call;
    const left = async () =>
      (await gw.gateway.store.events.list({ runId: agent.runId, kind: 'approval.requested' })).find(
        (e) => e.code === 'caller_left' && e.data.approvalId === approval?.id,
      );
    for (let i = 0; i < 200 && !(await left()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await left()).toBeDefined();
    expect((await gw.gateway.store.approvals.get(approval?.id as string))?.state).toBe('pending');
    expect(refundCalls()).toHaveLength(0);
  });

  it('answers run_not_active when the run is killed while it waits', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000022', amount_cents: 1, reason: 'x' },
    });
    await pendingFor(agent.runId);
    await gw.gateway.runs.end(agent.runId, 'killed', 'test');
    expect(denialCode(await call)).toBe('run_not_active');
  });
});

describe('who may decide', () => {
  it('counts a quorum approver once, and needs a second distinct one', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__delete_customer',
      arguments: { customer_id: 'CUS-0099' },
    });
    const [approval] = await pendingFor(agent.runId);
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {})).status).toBe(200);
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {})).status).toBe(409);
    await new Promise((r) => setTimeout(r, 200));
    expect(recorded(RECORD).filter((r) => r.tool === 'delete_customer')).toEqual([]);
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.BOB, {})).status).toBe(200);
    expect(denialCode(await call)).toBeUndefined();
    expect(recorded(RECORD).filter((r) => r.tool === 'delete_customer')).toHaveLength(1);
  });

  it('refuses an operator without one of the rule approver roles (403)', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000023', amount_cents: 1, reason: 'x' },
    });
    const [approval] = await pendingFor(agent.runId);
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.CAROL, {})).status).toBe(403);
    expect((await gw.gateway.store.approvals.get(approval?.id as string))?.votes).toEqual([]);
    await api(`/approvals/${approval?.id}/deny`, ENV.ALICE, { reason: 'cleanup' });
    await call;
  });

  it('refuses the run token of the agent itself (401): an agent cannot approve its own call', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000024', amount_cents: 1, reason: 'x' },
    });
    const [approval] = await pendingFor(agent.runId);
    expect((await api(`/approvals/${approval?.id}/approve`, agent.token, {})).status).toBe(401);
    expect((await gw.gateway.store.approvals.get(approval?.id as string))?.state).toBe('pending');
    await api(`/approvals/${approval?.id}/deny`, ENV.ALICE, { reason: 'cleanup' });
    await call;
  });

  it('refuses an edit from the second approver of a quorum, so the arguments run are the ones both saw', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__delete_customer',
      arguments: { customer_id: 'CUS-0098' },
    });
    const [approval] = await pendingFor(agent.runId);
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.ALICE, {})).status).toBe(200);
    const swap = await api(`/approvals/${approval?.id}/approve`, ENV.BOB, {
      arguments: { customer_id: 'CUS-0001' },
    });
    expect(swap.status).toBe(409);
    expect((await api(`/approvals/${approval?.id}/approve`, ENV.BOB, {})).status).toBe(200);
    expect(denialCode(await call)).toBeUndefined();
    expect(
      recorded(RECORD)
        .filter((r) => r.tool === 'delete_customer')
        .map((r) => r.arguments),
    ).toEqual([{ customer_id: 'CUS-0098' }]);
  });
});

describe('notifications', () => {
  it('sends signed webhooks for a request and its decision, with no secret in them', async () => {
    await gw.gateway.notifier.drain();
    expect(hooks.length).toBeGreaterThan(0);
    for (const hook of hooks) {
      const timestamp = hook.headers['x-bulkhead-timestamp'] as string;
      expect(hook.headers['x-bulkhead-signature']).toBe(signature(ENV.HOOK_KEY, timestamp, hook.body));
      for (const secret of Object.values(ENV)) expect(hook.body).not.toContain(secret);
    }
    const kinds = hooks.map((h) => (JSON.parse(h.body) as { kind: string }).kind);
    expect(kinds).toEqual(expect.arrayContaining(['approval.requested', 'approval.decided']));
    expect((JSON.parse(hooks[0]?.body as string) as { link: string }).link).toMatch(/\/ui\/approvals\/apr_/);
  });
});
