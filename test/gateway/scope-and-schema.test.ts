/**
 * Invariants 1 and 2, attacked through the real gateway with the SDK client:
 * hidden tools are never listed nor reachable, whatever name is tried, and
 * arguments that fail the tightened schema never reach the upstream. The
 * orders server records every call it receives; the record is the proof.
 */

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Agent,
  denialCode,
  exampleUpstream,
  rawPost,
  rawSession,
  recorded,
  sessionHeaders,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';

const dir = tempDir();
const RECORD = join(dir, 'received.jsonl');

const POLICY = `
version: 1
store: { sqlite: ./bulkhead.db }
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: JSON.stringify(RECORD) })}
tools:
  orders:
    get_order_status:
      class: read
      arguments:
        order_id: { pattern: "^ORD-[0-9]{6}$" }
    list_orders:
      class: read
      arguments:
        limit: { maximum: 20 }
        status: { enum: [pending, shipped] }
    run_sql: { class: write, expose: false }
    delete_customer: { class: irreversible }
profiles:
  agent:
    tools: [orders__get_order_status, orders__list_orders]
  admin:
    tools: [orders__get_order_status, orders__delete_customer]
`;

let gw: TestGateway;
let agent: Agent;

beforeAll(async () => {
  gw = await startTestGateway(POLICY, { dir, env: { ORDERS_API_TOKEN: 'orders-token-for-tests-1234' } });
  agent = await gw.agent('agent');
});
afterAll(async () => {
  await gw?.close();
});
beforeEach(() => rmSync(RECORD, { force: true }));

describe('invariant 1: a tool outside the profile does not exist', () => {
  it('lists only the profile tools', async () => {
    const { tools } = await agent.client.listTools();
    expect(tools.map((t) => t.name)).toEqual(['orders__get_order_status', 'orders__list_orders']);
  });

  it('does not list a tool exposed to another profile', async () => {
    const { tools } = await agent.client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('orders__delete_customer');
  });

  const guesses = [
    'orders__run_sql',
    'run_sql',
    'ORDERS__RUN_SQL',
    'Orders__Run_Sql',
    'orders__delete_customer',
    'delete_customer',
    'orders.run_sql',
    'orders/run_sql',
    ' orders__run_sql',
    'orders__run_sql ',
    'orders__run_sql\u0000',
    'orders__run\u200bsql',
    'оrders__run_sql', // Cyrillic о
    'orders__get_order_status/../run_sql',
    '__proto__',
    'constructor',
    'orders__',
    '',
    'x'.repeat(10_000),
  ];
  for (const name of guesses) {
    it(`refuses ${JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}…(${name.length})` : name)} and sends nothing upstream`, async () => {
      const result = await agent.client.callTool({
        name,
        arguments: { sql: 'DELETE FROM orders', customer_id: 'CUS-0001' },
      });
      expect(denialCode(result)).toBe('tool_not_in_scope');
      expect(recorded(RECORD)).toEqual([]);
    });
  }

  it('answers a hidden tool exactly as a tool that never existed', async () => {
    const hidden = await agent.client.callTool({ name: 'orders__run_sql', arguments: {} });
    const absent = await agent.client.callTool({ name: 'orders__no_such_tool', arguments: {} });
    expect(hidden.content).toEqual(absent.content);
  });

  it('lets another profile reach the tool its policy gives it', async () => {
    const admin = await gw.agent('admin');
    const result = await admin.client.callTool({
      name: 'orders__delete_customer',
      arguments: { customer_id: 'CUS-9999' },
    });
    expect(denialCode(result)).toBeUndefined();
    expect(recorded(RECORD)).toEqual([
      { server: 'orders', tool: 'delete_customer', arguments: { customer_id: 'CUS-9999' } },
    ]);
  });
});

describe('invariant 2: no upstream receives arguments that fail the tightened schema', () => {
  const hostile: [string, Record<string, unknown>][] = [
    ['SQL in a patterned string', { order_id: "ORD-000001' OR '1'='1" }],
    ['a UNION smuggled after a valid prefix', { order_id: "ORD-000001' UNION SELECT * FROM orders--" }],
    ['an extra property', { order_id: 'ORD-000001', debug: true }],
    [
      'a constructor.prototype key',
      { order_id: 'ORD-000001', constructor: { prototype: { isAdmin: true } } },
    ],
    ['a trailing newline', { order_id: 'ORD-000001\n' }],
    ['a NUL byte', { order_id: 'ORD-000001\u0000DROP' }],
    ['Unicode digits', { order_id: 'ORD-٠٠٠٠٠١' }],
    ['a zero-width joiner', { order_id: 'ORD-000\u200d001' }],
    ['a control character', { order_id: 'ORD-00000\u00081' }],
    ['type confusion: number', { order_id: 1 }],
    ['type confusion: object', { order_id: { $gt: '' } }],
    ['type confusion: array', { order_id: ['ORD-000001'] }],
    ['type confusion: null', { order_id: null }],
    ['a missing required argument', {}],
  ];
  for (const [name, args] of hostile) {
    it(`refuses ${name} before the upstream`, async () => {
      const result = await agent.client.callTool({ name: 'orders__get_order_status', arguments: args });
      expect(denialCode(result)).toBe('invalid_arguments');
      expect(recorded(RECORD)).toEqual([]);
    });
  }

  // The SDK's request parsing drops a top-level "__proto__" key before the pipeline; the
  // gateway sees the raw message first and refuses the call rather than forward an altered one.
  it('refuses a __proto__ key sent raw, forwards nothing, and pollutes no prototype', async () => {
    const sid = await rawSession(gw.gateway.url, agent.token);
    const body =
      '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"orders__get_order_status","arguments":{"order_id":"ORD-000001","__proto__":{"isAdmin":true}}}}';
    const response = await rawPost(gw.gateway.url, agent.token, body, sessionHeaders(sid));
    expect(response.body).toContain('invalid_arguments');
    expect(recorded(RECORD)).toEqual([]);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('refuses a value outside a narrowed enum', async () => {
    const result = await agent.client.callTool({
      name: 'orders__list_orders',
      arguments: { status: 'refunded' },
    });
    expect(denialCode(result)).toBe('invalid_arguments');
    expect(recorded(RECORD)).toEqual([]);
  });

  it('refuses a number above the narrowed maximum', async () => {
    const result = await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 21 } });
    expect(denialCode(result)).toBe('invalid_arguments');
    expect(recorded(RECORD)).toEqual([]);
  });

  it('refuses nesting 10,000 levels deep (sent raw: no SDK client can serialize it) and keeps serving', async () => {
    const sid = await rawSession(gw.gateway.url, agent.token);
    const deep = `${'['.repeat(10_000)}"x"${']'.repeat(10_000)}`;
    const body = `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"orders__get_order_status","arguments":{"order_id":"ORD-000001","deep":${deep}}}}`;
    const response = await rawPost(gw.gateway.url, agent.token, body, sessionHeaders(sid));
    expect(response.body).toContain('invalid_arguments');
    expect(recorded(RECORD)).toEqual([]);
    const after = await agent.client.callTool({
      name: 'orders__get_order_status',
      arguments: { order_id: 'ORD-000007' },
    });
    expect(denialCode(after)).toBeUndefined();
  });

  it('refuses a 10 MB string at the door (413) and keeps serving', async () => {
    const error = await agent.client
      .callTool({ name: 'orders__get_order_status', arguments: { order_id: 'O'.repeat(10 * 1024 * 1024) } })
      .catch((e: unknown) => e);
    expect(String(error)).toMatch(/413|too large|Payload/i);
    expect(recorded(RECORD)).toEqual([]);
  });

  it('delivers exactly the validated arguments when they pass', async () => {
    rmSync(RECORD, { force: true });
    const result = await agent.client.callTool({
      name: 'orders__get_order_status',
      arguments: { order_id: 'ORD-000042' },
    });
    expect(denialCode(result)).toBeUndefined();
    expect(recorded(RECORD)).toEqual([
      { server: 'orders', tool: 'get_order_status', arguments: { order_id: 'ORD-000042' } },
    ]);
  });

  it('exposes the tightened schema to the agent', async () => {
    const { tools } = await agent.client.listTools();
    const schema = tools.find((t) => t.name === 'orders__get_order_status')?.inputSchema as Record<
      string,
      unknown
    >;
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties).toMatchObject({ order_id: { type: 'string', pattern: '^ORD-[0-9]{6}$' } });
  });
});
