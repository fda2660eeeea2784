/**
 * Held calls with the clients real agents use: the answer becomes a stream
 * the moment a call is held (so a client's 60 s "no answer yet" timer never
 * fires), progress keeps an SDK client that resets its timeout on progress
 * waiting, and a caller that goes away is seen in the plain-JSON mode too:
 * its approval is never executed with nobody there, and never twice.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHash } from '../../src/approvals/approval.js';
import {
  connectAgent,
  denialCode,
  exampleUpstream,
  MCP_HEADERS,
  rawSession,
  recorded,
  sessionHeaders,
  startTestGateway,
  type TestGateway,
  tempDir,
  text,
} from '../helpers/harness.js';

const dir = tempDir();
const RECORD = join(dir, 'received.jsonl');
const ENV = { ORDERS_API_TOKEN: 'orders-held-token-0001', ALICE: 'bho_alice-held-token-0001' };
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(
    `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: JSON.stringify(RECORD) })}
tools:
  orders:
    refund_order: { class: irreversible, approval: { approvers: [approver], timeout: 5m } }
    get_order_status: { class: read }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [orders__refund_order, orders__get_order_status]
`,
    { dir, env: ENV },
  );
});
afterAll(async () => {
  await gw?.close();
});

const refunds = (orderId: string) =>
  recorded(RECORD).filter(
    (r) => r.tool === 'refund_order' && (r.arguments as { order_id?: string }).order_id === orderId,
  );

async function until<T>(probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const pending = (runId: string) =>
  until(async () => (await gw.gateway.store.approvals.list({ state: 'pending', runId }))[0]);

async function approve(id: string, seen?: string): Promise<Response> {
  const approval = await gw.gateway.store.approvals.get(id);
  return fetch(`${gw.gateway.url}/api/approvals/${id}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ENV.ALICE}`, 'content-type': 'application/json' },
    body: JSON.stringify({ args_hash: seen ?? (approval ? runHash(approval) : '') }),
  });
}

function callBody(id: number, name: string, args: Record<string, unknown>, progressToken?: string) {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name, arguments: args, ...(progressToken ? { _meta: { progressToken } } : {}) },
  });
}

describe('the answer mode of a held call', () => {
  it('streams a held call at once (headers before any decision) while an ungated call stays plain JSON', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    const sid = await rawSession(gw.gateway.url, token);
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...sessionHeaders(sid) };

    const plain = await fetch(`${gw.gateway.url}/mcp`, {
      method: 'POST',
      headers,
      body: callBody(2, 'orders__get_order_status', { order_id: 'ORD-000001' }),
    });
    expect(plain.headers.get('content-type')).toContain('application/json');
    expect(await plain.text()).toContain('"result"');

    // fetch resolves once the headers are in: before anyone decides, so no client timer on
    // "no answer yet" (Claude Code's is 60 s) can fire while a human thinks.
    const held = await fetch(`${gw.gateway.url}/mcp`, {
      method: 'POST',
      headers,
      body: callBody(
        3,
        'orders__refund_order',
        { order_id: 'ORD-000002', amount_cents: 100, reason: 'stream' },
        'p1',
      ),
    });
    expect(held.headers.get('content-type')).toContain('text/event-stream');
    const approval = await pending(run.id);
    expect(approval.state).toBe('pending');
    expect((await approve(approval.id)).status).toBe(200);
    const events = (await held.text()).split('\n\n').filter((e) => e.includes('data:'));
    const last = JSON.parse(events.at(-1)?.split('data: ')[1] ?? '{}') as { id?: number; result?: unknown };
    expect(last.id).toBe(3);
    expect(text(last.result)).toContain('ORD-000002');
    expect(refunds('ORD-000002')).toHaveLength(1);
  });

  it('keeps an SDK client that resets its timeout on progress waiting past that timeout', async () => {
    const agent = await gw.agent('agent');
    const started = Date.now();
    const call = agent.client.callTool(
      { name: 'orders__refund_order', arguments: { order_id: 'ORD-000003', amount_cents: 100, reason: 'p' } },
      undefined,
      // Progress comes every 5 s; without it this 7 s timeout would end the call.
      { timeout: 7_000, resetTimeoutOnProgress: true, onprogress: () => undefined },
    );
    const approval = await pending(agent.runId);
    await new Promise((r) => setTimeout(r, 12_000));
    expect((await approve(approval.id)).status).toBe(200);
    const result = await call;
    expect(Date.now() - started).toBeGreaterThan(11_000);
    expect(denialCode(result)).toBeUndefined();
    expect(refunds('ORD-000003')).toHaveLength(1);
  }, 40_000);
});

describe('a held call whose caller went away (plain JSON mode)', () => {
  it('is not executed when approved with nobody waiting; an identical retry runs it once; a later one asks again', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    const sid = await rawSession(gw.gateway.url, token);
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}`, ...sessionHeaders(sid) };
    const args = { order_id: 'ORD-000004', amount_cents: 250, reason: 'gone' };
    const leaving = new AbortController();
    const first = fetch(`${gw.gateway.url}/mcp`, {
      method: 'POST',
      headers,
      body: callBody(2, 'orders__refund_order', args),
      signal: leaving.signal,
    }).then((r) => r.text());
    const approval = await pending(run.id);
    leaving.abort();
    await first.catch(() => undefined);

    // The gateway saw the caller leave: the approver is told nobody is waiting.
    await until(async () => (gw.gateway.approvals.waitingOn(approval.id) === 0 ? true : undefined));
    const view = (await (
      await fetch(`${gw.gateway.url}/api/approvals/${approval.id}`, {
        headers: { authorization: `Bearer ${ENV.ALICE}` },
      })
    ).json()) as { approval: { waiting: number; run_hash: string } };
    expect(view.approval.waiting).toBe(0);

    expect((await approve(approval.id, view.approval.run_hash)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1_500));
    // Approved, but nobody was there for the result: it did not run.
    expect(refunds('ORD-000004')).toHaveLength(0);
    expect((await gw.gateway.store.approvals.get(approval.id))?.state).toBe('approved');

    // The agent retries the identical call: it runs once, under the approval already given.
    const client = await connectAgent(gw.gateway.url, token);
    const retried = await client.callTool({ name: 'orders__refund_order', arguments: args });
    expect(denialCode(retried)).toBeUndefined();
    expect(refunds('ORD-000004')).toHaveLength(1);
    expect((await gw.gateway.store.approvals.get(approval.id))?.state).toBe('executed');

    // Once more: a new approval, and its approver is told the same call already ran.
    const again = client.callTool({ name: 'orders__refund_order', arguments: args });
    const second = await until(async () =>
      (await gw.gateway.store.approvals.list({ state: 'pending', runId: run.id })).find(
        (a) => a.id !== approval.id,
      ),
    );
    expect(second.why).toContain(`already ran under ${approval.id}`);
    // The approval is stored a moment before its caller is registered as waiting on it.
    await until(async () => (gw.gateway.approvals.waitingOn(second.id) === 1 ? true : undefined));
    const seen = (await (
      await fetch(`${gw.gateway.url}/api/approvals/${second.id}`, {
        headers: { authorization: `Bearer ${ENV.ALICE}` },
      })
    ).json()) as { approval: { identical: { id: string; state: string }[]; waiting: number } };
    expect(seen.approval.identical).toEqual([
      expect.objectContaining({ id: approval.id, state: 'executed' }),
    ]);
    expect(seen.approval.waiting).toBe(1);
    await fetch(`${gw.gateway.url}/api/approvals/${second.id}/deny`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.ALICE}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'already refunded' }),
    });
    expect(denialCode(await again)).toBe('approval_denied');
    expect(refunds('ORD-000004')).toHaveLength(1);
    await client.close();
  }, 40_000);

  it('an identical retry while the first caller is gone waits on the same approval, and it runs once', async () => {
    const { run, token } = await gw.gateway.runs.create('agent');
    const args = { order_id: 'ORD-000005', amount_cents: 300, reason: 'twice?' };
    const one = await connectAgent(gw.gateway.url, token);
    const gone = one.callTool({ name: 'orders__refund_order', arguments: args }).catch(() => 'closed');
    const approval = await pending(run.id);
    await one.close();
    await gone;
    await until(async () => (gw.gateway.approvals.waitingOn(approval.id) === 0 ? true : undefined));

    const two = await connectAgent(gw.gateway.url, token);
    const retry = two.callTool({ name: 'orders__refund_order', arguments: args });
    await until(async () => (gw.gateway.approvals.waitingOn(approval.id) === 1 ? true : undefined));
    expect(await gw.gateway.store.approvals.list({ runId: run.id })).toHaveLength(1);
    expect((await approve(approval.id)).status).toBe(200);
    expect(denialCode(await retry)).toBeUndefined();
    expect(refunds('ORD-000005')).toHaveLength(1);
    await two.close();
  }, 40_000);
});

describe('approving names the arguments the approver saw', () => {
  it('refuses an approval whose hash is not what would run, and one without a hash', async () => {
    const agent = await gw.agent('agent');
    const call = agent.client.callTool({
      name: 'orders__refund_order',
      arguments: { order_id: 'ORD-000006', amount_cents: 100, reason: 'hash' },
    });
    const approval = await pending(agent.runId);
    const stale = await approve(approval.id, 'a'.repeat(64));
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { message: string }).message).toContain('not the ones you saw');
    const missing = await fetch(`${gw.gateway.url}/api/approvals/${approval.id}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ENV.ALICE}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(missing.status).toBe(400);
    expect((await gw.gateway.store.approvals.get(approval.id))?.state).toBe('pending');
    expect((await approve(approval.id)).status).toBe(200);
    expect(denialCode(await call)).toBeUndefined();
  }, 30_000);
});
