/**
 * Example upstream: an orders service on SQLite, over stdio. It is written
 * the way many internal services are — `get_order_status` builds SQL by
 * string concatenation — because the point of the demo is that the gateway's
 * tightened schema (`order_id: ^ORD-[0-9]{6}$`) keeps SQL out of it, and
 * `run_sql`/`delete_customer` exist but are hidden by the policy.
 *
 * Env: ORDERS_API_TOKEN (required: its credential), ORDERS_DB (SQLite path),
 * BULKHEAD_RECORD (test recording), ORDERS_TEST_TOOLS=1 (slow_echo),
 * ORDERS_TEST_LEAKS=1 (tools that leak the token, to test scrubbing).
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { flag, requireEnv } from './env.js';
import { record } from './record.js';

const token = requireEnv('ORDERS_API_TOKEN', 'orders');
const db = new Database(process.env.ORDERS_DB ?? join(tmpdir(), 'bulkhead-orders.db'));
db.pragma('journal_mode = WAL');
const STATUSES = ['pending', 'shipped', 'delivered', 'refunded'] as const;
seed(db);

const server = new McpServer({ name: 'orders', version: '1.0.0' });
const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

server.registerTool(
  'get_order_status',
  {
    description: 'Returns the status, amount and customer of one order.',
    inputSchema: { order_id: z.string().describe('Order id, e.g. ORD-000042') },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ order_id }) => {
    record('orders', 'get_order_status', { order_id });
    if (flag('ORDERS_TEST_LEAKS') && order_id === 'ORD-999999') {
      throw new Error(`database refused token ${token}`);
    }
    // Deliberately naive: concatenated SQL. Only the gateway's pattern stands between it and injection.
    const rows = db.prepare(`SELECT * FROM orders WHERE id = '${order_id}'`).all();
    if (rows.length === 0) return text(`No order ${order_id}.`);
    return text(rows.map((r) => JSON.stringify(r)).join('\n'));
  },
);

server.registerTool(
  'list_orders',
  {
    description: 'Lists orders, newest first, optionally by status.',
    inputSchema: { status: z.enum(STATUSES).optional(), limit: z.number().int().min(1).max(100).optional() },
    annotations: { readOnlyHint: true },
  },
  async ({ status, limit }) => {
    record('orders', 'list_orders', { status, limit });
    const rows = status
      ? db
          .prepare('SELECT id, status, amount_cents FROM orders WHERE status = ? ORDER BY id DESC LIMIT ?')
          .all(status, limit ?? 10)
      : db.prepare('SELECT id, status, amount_cents FROM orders ORDER BY id DESC LIMIT ?').all(limit ?? 10);
    return text(JSON.stringify(rows));
  },
);

server.registerTool(
  'refund_order',
  {
    description: 'Refunds an order to the original payment method. Cannot be undone.',
    inputSchema: { order_id: z.string(), amount_cents: z.number().int().positive(), reason: z.string() },
    annotations: { destructiveHint: true, idempotentHint: false },
  },
  async ({ order_id, amount_cents, reason }) => {
    record('orders', 'refund_order', { order_id, amount_cents, reason });
    const changed = db
      .prepare("UPDATE orders SET status = 'refunded' WHERE id = ? AND status != 'refunded'")
      .run(order_id);
    return text(
      changed.changes ? `Refunded ${amount_cents} cents on ${order_id}.` : `${order_id} was not refundable.`,
    );
  },
);

server.registerTool(
  'delete_customer',
  {
    description: 'Deletes a customer and all their orders.',
    inputSchema: { customer_id: z.string() },
    annotations: { destructiveHint: true },
  },
  async ({ customer_id }) => {
    record('orders', 'delete_customer', { customer_id });
    const changed = db.prepare('DELETE FROM orders WHERE customer_id = ?').run(customer_id);
    return text(`Deleted ${changed.changes} orders of ${customer_id}.`);
  },
);

server.registerTool(
  'run_sql',
  {
    description: 'Runs any SQL statement against the orders database.',
    inputSchema: { sql: z.string() },
  },
  async ({ sql }) => {
    record('orders', 'run_sql', { sql });
    return text(JSON.stringify(db.prepare(sql).all()));
  },
);

server.registerTool(
  'whoami',
  {
    description: 'Tells which credential this service runs with (a fingerprint) and which variables it sees.',
    inputSchema: {},
    annotations: { readOnlyHint: true },
  },
  async () => {
    record('orders', 'whoami', {});
    const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 8);
    return text(JSON.stringify({ token_fingerprint: fingerprint, env: Object.keys(process.env).sort() }));
  },
);

if (flag('ORDERS_TEST_LEAKS')) {
  server.registerTool(
    'leak_token_for_test',
    { description: 'Test only: returns the raw token.', inputSchema: {} },
    async () => {
      record('orders', 'leak_token_for_test', {});
      return text(`my token is ${token} (base64 ${Buffer.from(token).toString('base64')})`);
    },
  );
}

if (flag('ORDERS_TEST_TOOLS')) {
  server.registerTool(
    'slow_echo',
    {
      description: 'Test only: waits, then echoes.',
      inputSchema: { ms: z.number().int().min(0).max(60_000), text: z.string() },
    },
    async ({ ms, text: value }, extra) => {
      record('orders', 'slow_echo', { ms, text: value });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        extra.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          record('orders', 'slow_echo:cancelled', { text: value });
          reject(new Error('cancelled'));
        });
      });
      return text(value);
    },
  );
}

await server.connect(new StdioServerTransport());

function seed(database: Database.Database): void {
  database.exec(`CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, email TEXT NOT NULL,
    status TEXT NOT NULL, amount_cents INTEGER NOT NULL)`);
  const count = (database.prepare('SELECT count(*) AS n FROM orders').get() as { n: number }).n;
  if (count >= 500) return;
  const insert = database.prepare('INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?)');
  database.transaction(() => {
    let x = 42;
    // A fixed linear congruential sequence: the same 500 orders on every machine.
    const next = () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x;
    };
    for (let i = 1; i <= 500; i++) {
      const customer = (next() % 120) + 1;
      insert.run(
        `ORD-${String(i).padStart(6, '0')}`,
        `CUS-${String(customer).padStart(4, '0')}`,
        `customer${customer}@example.com`,
        STATUSES[next() % 3],
        1000 + (next() % 49_000),
      );
    }
  })();
}
