/**
 * Example upstream: an orders service on SQLite, over stdio.
 *
 * It is written the way many internal services are: `get_order_status` builds
 * its SQL by string concatenation, and `run_sql` and `delete_customer` exist.
 * That is the point of the demo — the service trusts its caller, and the
 * gateway is what keeps SQL out of `order_id` (the policy's tightened pattern
 * `^ORD-[0-9]{6}$`) and the dangerous tools out of the agent's reach
 * (`expose: false`).
 *
 * Env:
 *   ORDERS_API_TOKEN   required; this upstream's own credential, injected by the gateway
 *   ORDERS_DB          SQLite file (default: bulkhead-orders.db in the temp dir)
 *   BULKHEAD_RECORD    file to record every tools/call received (see record.ts)
 *   ORDERS_TEST_LEAKS  "1": tools that leak the credential (see orders-test-tools.ts)
 *   ORDERS_TEST_TOOLS  "1": slow_echo (see orders-test-tools.ts)
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { flag, requireEnv } from './env.js';
import { type Order, openOrdersDb, STATUSES } from './orders-db.js';
import { LEAKING_ORDER_ID, registerLeakTools, registerSlowEcho } from './orders-test-tools.js';
import { recordToolCalls } from './record.js';

const token = requireEnv('ORDERS_API_TOKEN', 'orders');
const leaks = flag('ORDERS_TEST_LEAKS');
const db = openOrdersDb(process.env.ORDERS_DB ?? join(tmpdir(), 'bulkhead-orders.db'));
const server = new McpServer({ name: 'orders', version: '1.0.0' });

const reply = (text: string) => ({ content: [{ type: 'text' as const, text }] });
const failure = (text: string) => ({ ...reply(text), isError: true });
const describeOrder = (o: Order) =>
  `Order ${o.id} is ${o.status}: ${o.amount_cents} cents, customer ${o.customer_id} (${o.email}).`;

server.registerTool(
  'get_order_status',
  {
    title: 'Get order status',
    // Wording is evidence: bulkhead's tool audit reads descriptions, so naming the status "refunded" here
    // would mark a read as moving money. Each description says only what its tool does.
    description: 'Looks up one order by its id and returns its current status, amount in cents and customer.',
    inputSchema: { order_id: z.string().describe('The order id, e.g. ORD-000042') },
    annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ order_id }) => {
    if (leaks && order_id === LEAKING_ORDER_ID) {
      // Test only: an upstream error that carries the credential, for the gateway's scrubber to catch.
      throw new Error(`orders database refused the connection for token ${token}`);
    }
    // DELIBERATELY INJECTABLE: order_id is pasted into the SQL, so `ORD-000001' OR '1'='1` returns
    // every order and a UNION can read any table. Do not fix this here: the demo shows the gateway's
    // tightened pattern ^ORD-[0-9]{6}$ refusing such an id before it ever reaches this line.
    const rows = db.prepare(`SELECT * FROM orders WHERE id = '${order_id}'`).all() as Order[];
    if (rows.length === 0) return reply(`No order ${order_id}.`);
    return reply(
      `${rows.map(describeOrder).join('\n')}\n${JSON.stringify(rows.length === 1 ? rows[0] : rows)}`,
    );
  },
);

server.registerTool(
  'list_orders',
  {
    title: 'List orders',
    description: 'Lists the most recent orders, newest first, optionally only those with one status.',
    inputSchema: {
      status: z.enum(STATUSES).optional().describe('Only orders with this status'),
      limit: z.number().int().min(1).max(100).optional().describe('How many orders to return (default 10)'),
    },
    annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ status, limit = 10 }) => {
    const rows = status
      ? db.prepare('SELECT * FROM orders WHERE status = ? ORDER BY id DESC LIMIT ?').all(status, limit)
      : db.prepare('SELECT * FROM orders ORDER BY id DESC LIMIT ?').all(limit);
    return reply(`${rows.length} orders.\n${JSON.stringify(rows)}`);
  },
);

server.registerTool(
  'refund_order',
  {
    title: 'Refund an order',
    description:
      'Refunds an order to the original payment method and marks it refunded. Money leaves the company: this cannot be undone.',
    inputSchema: {
      order_id: z.string().describe('The order to refund, e.g. ORD-000042'),
      amount_cents: z
        .number()
        .int()
        .positive()
        .describe('Amount to refund in cents, at most the order total'),
      reason: z.string().min(1).describe('Why the customer is refunded; kept with the refund'),
    },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  },
  async ({ order_id, amount_cents, reason }) => {
    // One transaction: two refunds of the same order racing each other cannot both pass the check.
    return db
      .transaction(() => {
        const order = db.prepare('SELECT * FROM orders WHERE id = ?').get(order_id) as Order | undefined;
        if (!order) return failure(`No order ${order_id}.`);
        if (order.status === 'refunded') return failure(`${order_id} is already refunded.`);
        if (amount_cents > order.amount_cents) {
          return failure(`${order_id} totals ${order.amount_cents} cents; cannot refund ${amount_cents}.`);
        }
        db.prepare("UPDATE orders SET status = 'refunded' WHERE id = ?").run(order_id);
        db.prepare('INSERT INTO refunds (order_id, amount_cents, reason, at) VALUES (?, ?, ?, ?)').run(
          order_id,
          amount_cents,
          reason,
          new Date().toISOString(),
        );
        return reply(`Refunded ${amount_cents} cents on ${order_id}.`);
      })
      .immediate();
  },
);

server.registerTool(
  'delete_customer',
  {
    title: 'Delete a customer',
    description: 'Permanently deletes a customer and every order they placed.',
    inputSchema: { customer_id: z.string().describe('The customer id, e.g. CUS-0042') },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  },
  async ({ customer_id }) => {
    const { changes } = db.prepare('DELETE FROM orders WHERE customer_id = ?').run(customer_id);
    return reply(`Deleted customer ${customer_id} and ${changes} orders.`);
  },
);

server.registerTool(
  'run_sql',
  {
    title: 'Run SQL',
    description:
      'Runs one SQL statement of any kind against the orders database and returns its rows or change count.',
    inputSchema: { sql: z.string().describe('One SQL statement') },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  },
  async ({ sql }) => {
    const statement = db.prepare(sql);
    if (statement.reader) return reply(JSON.stringify(statement.all()));
    return reply(`${statement.run().changes} rows changed.`);
  },
);

server.registerTool(
  'whoami',
  {
    title: 'Who am I',
    description:
      'Tells which credential this service runs with (a short fingerprint, never the credential) and the names of the environment variables it can see.',
    inputSchema: {},
    annotations: { readOnlyHint: true, destructiveHint: false, openWorldHint: false },
  },
  async () => {
    // Names only, never values: tests compare them to prove the gateway's own environment stays out.
    const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 8);
    return reply(JSON.stringify({ token_fingerprint: fingerprint, env: Object.keys(process.env).sort() }));
  },
);

if (leaks) registerLeakTools(server, token);
if (flag('ORDERS_TEST_TOOLS')) registerSlowEcho(server);

const transport = new StdioServerTransport();
recordToolCalls(transport, 'orders');
await server.connect(transport);
