import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, ROOT, recorded, serverArgs, tempDir, text, waitFor } from './test-support.js';

const TOKEN = 'orders-canary-7f3a9c1e5b2d4f6a';
const dirs: string[] = [];
const clients: Client[] = [];

function fresh(extra: Record<string, string> = {}) {
  const dir = tempDir();
  dirs.push(dir);
  const env = { ORDERS_API_TOKEN: TOKEN, ORDERS_DB: join(dir, 'orders.db'), ...extra };
  return { dir, env, record: join(dir, 'received.jsonl') };
}

async function start(env: Record<string, string>): Promise<Client> {
  const client = await connect('orders', env);
  clients.push(client);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  return client.callTool({ name, arguments: args });
}

async function count(client: Client, where = '1 = 1'): Promise<number> {
  const result = await call(client, 'run_sql', { sql: `SELECT count(*) AS n FROM orders WHERE ${where}` });
  return (JSON.parse(text(result)) as { n: number }[])[0]?.n ?? -1;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('orders server: data', () => {
  it('seeds 500 orders ORD-000001 to ORD-000500', async () => {
    const client = await start(fresh().env);
    expect(await count(client)).toBe(500);
    const ids = JSON.parse(
      text(await call(client, 'run_sql', { sql: 'SELECT min(id) AS lo, max(id) AS hi FROM orders' })),
    );
    expect(ids).toEqual([{ lo: 'ORD-000001', hi: 'ORD-000500' }]);
  });

  it('seeds the same orders on every machine', async () => {
    const sql = 'SELECT * FROM orders ORDER BY id';
    const a = text(await call(await start(fresh().env), 'run_sql', { sql }));
    const b = text(await call(await start(fresh().env), 'run_sql', { sql }));
    expect(a).toBe(b);
  });

  it('seeds customers, emails, statuses and amounts in their documented shapes', async () => {
    const client = await start(fresh().env);
    const rows = JSON.parse(text(await call(client, 'run_sql', { sql: 'SELECT * FROM orders' }))) as {
      customer_id: string;
      email: string;
      status: string;
      amount_cents: number;
    }[];
    for (const row of rows) {
      expect(row.customer_id).toMatch(/^CUS-\d{4}$/);
      expect(row.email).toBe(`customer${Number(row.customer_id.slice(4))}@example.com`);
      expect(['pending', 'shipped', 'delivered']).toContain(row.status);
      expect(Number.isInteger(row.amount_cents) && row.amount_cents > 0).toBe(true);
    }
  });

  it('does not seed again on restart, so a refund survives it', async () => {
    const { env } = fresh();
    const first = await start(env);
    await call(first, 'refund_order', { order_id: 'ORD-000007', amount_cents: 100, reason: 'late' });
    await call(first, 'delete_customer', { customer_id: 'CUS-0001' });
    const before = await count(first);
    await first.close();
    const second = await start(env);
    expect(await count(second)).toBe(before);
    expect(text(await call(second, 'get_order_status', { order_id: 'ORD-000007' }))).toContain('is refunded');
  });

  it('seeds once when two servers open a new file together', async () => {
    const { env } = fresh();
    const [a] = await Promise.all([start(env), start(env)]);
    expect(await count(a as Client)).toBe(500);
  });
});

describe('orders server: tools', () => {
  let client: Client;
  let dir: ReturnType<typeof fresh>;
  beforeAll(async () => {
    dir = fresh();
    client = await connect('orders', { ...dir.env, BULKHEAD_RECORD: dir.record });
  });
  afterAll(() => client.close());

  it('tells the status of an order as a sentence and as JSON', async () => {
    const out = text(await call(client, 'get_order_status', { order_id: 'ORD-000042' }));
    const [sentence, json] = out.split('\n');
    expect(sentence).toMatch(
      /^Order ORD-000042 is (pending|shipped|delivered): \d+ cents, customer CUS-\d{4}/,
    );
    expect(JSON.parse(json ?? '')).toMatchObject({ id: 'ORD-000042' });
  });

  it('answers an unknown order id with a plain "No order"', async () => {
    expect(text(await call(client, 'get_order_status', { order_id: 'ORD-000501' }))).toBe(
      'No order ORD-000501.',
    );
  });

  // This is why the policy pins order_id to ^ORD-[0-9]{6}$: called directly, the service is injectable.
  it('is injectable when called directly: a smuggled OR returns every order', async () => {
    const out = text(await call(client, 'get_order_status', { order_id: "ORD-000001' OR '1'='1" }));
    expect(out.match(/^Order ORD-\d{6} is /gm)).toHaveLength(500);
  });

  it('is injectable when called directly: a smuggled UNION reads the schema', async () => {
    const order_id =
      "nothing' UNION SELECT name, sql, 'x', 'pending', 0 FROM sqlite_master WHERE name = 'orders' --";
    expect(text(await call(client, 'get_order_status', { order_id }))).toContain('CREATE TABLE orders');
  });

  it('lists orders newest first, up to the limit', async () => {
    const out = text(await call(client, 'list_orders', { limit: 3 }));
    const rows = JSON.parse(out.split('\n')[1] ?? '') as { id: string }[];
    expect(rows.map((r) => r.id)).toEqual(['ORD-000500', 'ORD-000499', 'ORD-000498']);
  });

  it('lists only orders with the status asked for', async () => {
    const out = text(await call(client, 'list_orders', { status: 'shipped', limit: 100 }));
    const rows = JSON.parse(out.split('\n')[1] ?? '') as { status: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['shipped']));
  });

  it('refuses a list limit above 100', async () => {
    expect((await call(client, 'list_orders', { limit: 101 })).isError).toBe(true);
  });

  it('refunds an order once and marks it refunded', async () => {
    const args = { order_id: 'ORD-000010', amount_cents: 500, reason: 'damaged' };
    expect(text(await call(client, 'refund_order', args))).toBe('Refunded 500 cents on ORD-000010.');
    const again = await call(client, 'refund_order', args);
    expect(again.isError).toBe(true);
    expect(text(again)).toContain('already refunded');
    expect(text(await call(client, 'get_order_status', { order_id: 'ORD-000010' }))).toContain('is refunded');
  });

  it('refuses to refund more than the order total', async () => {
    const result = await call(client, 'refund_order', {
      order_id: 'ORD-000011',
      amount_cents: 10_000_000,
      reason: 'x',
    });
    expect(result.isError).toBe(true);
    expect(text(await call(client, 'get_order_status', { order_id: 'ORD-000011' }))).not.toContain(
      'is refunded',
    );
  });

  it('deletes every order of a customer', async () => {
    const owner = JSON.parse(
      text(await call(client, 'get_order_status', { order_id: 'ORD-000100' })).split('\n')[1] ?? '',
    );
    const customer = (owner as { customer_id: string }).customer_id;
    const before = await count(client, `customer_id = '${customer}'`);
    const out = text(await call(client, 'delete_customer', { customer_id: customer }));
    expect(out).toBe(`Deleted customer ${customer} and ${before} orders.`);
    expect(await count(client, `customer_id = '${customer}'`)).toBe(0);
  });

  it('runs any SQL statement, writes included', async () => {
    const out = text(
      await call(client, 'run_sql', { sql: "UPDATE orders SET status = 'pending' WHERE id = 'ORD-000003'" }),
    );
    expect(out).toBe('1 rows changed.');
  });

  it('annotates each tool with its hints', async () => {
    const { tools } = await client.listTools();
    const hints = Object.fromEntries(tools.map((t) => [t.name, t.annotations]));
    expect(hints.get_order_status).toMatchObject({
      readOnlyHint: true,
      destructiveHint: false,
      openWorldHint: false,
    });
    expect(hints.list_orders).toMatchObject({ readOnlyHint: true });
    expect(hints.refund_order).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(hints.delete_customer).toMatchObject({ destructiveHint: true });
    expect(hints.run_sql).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    for (const tool of tools) expect(tool.description?.length).toBeGreaterThan(20);
  });

  it('offers no test tool unless its switch is on', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['delete_customer', 'get_order_status', 'list_orders', 'refund_order', 'run_sql', 'whoami'].sort(),
    );
  });
});

describe('orders server: credential', () => {
  it('refuses to start without ORDERS_API_TOKEN and says which variable is missing', () => {
    const { dir } = fresh();
    const child = spawnSync(process.execPath, serverArgs('orders'), {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ORDERS_DB: join(dir, 'orders.db') },
      input: '',
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(child.status).toBe(1);
    expect(child.stderr).toContain('ORDERS_API_TOKEN is not set');
  });

  it('whoami shows a fingerprint of the token and never the token', async () => {
    const client = await start(fresh().env);
    const out = text(await call(client, 'whoami'));
    expect(out).not.toContain(TOKEN);
    const fingerprint = createHash('sha256').update(TOKEN).digest('hex').slice(0, 8);
    expect(JSON.parse(out)).toMatchObject({ token_fingerprint: fingerprint });
  });

  it('whoami lists the names of the variables it was given, and no other', async () => {
    const client = await start(fresh({ EXTRA_FOR_TEST: 'x' }).env);
    const { env } = JSON.parse(text(await call(client, 'whoami'))) as { env: string[] };
    expect(env).toEqual(expect.arrayContaining(['EXTRA_FOR_TEST', 'ORDERS_API_TOKEN', 'ORDERS_DB']));
    // The parent's variables stay out unless passed: the SDK passes only a short default list (PATH, HOME...).
    expect(env).not.toContain('VITEST');
    expect([...env].sort()).toEqual(env);
  });
});

describe('orders server: recording', () => {
  it('records each tools/call with its arguments as one JSON line', async () => {
    const { env, record } = fresh();
    const client = await start({ ...env, BULKHEAD_RECORD: record });
    await call(client, 'get_order_status', { order_id: 'ORD-000042' });
    await call(client, 'list_orders', { limit: 2 });
    expect(recorded(record)).toEqual([
      { server: 'orders', tool: 'get_order_status', arguments: { order_id: 'ORD-000042' } },
      { server: 'orders', tool: 'list_orders', arguments: { limit: 2 } },
    ]);
  });

  it('records a call even when the server then rejects its arguments', async () => {
    const { env, record } = fresh();
    const client = await start({ ...env, BULKHEAD_RECORD: record });
    const result = await call(client, 'get_order_status', { order_id: 1, extra: true });
    expect(result.isError).toBe(true);
    expect(recorded(record)).toEqual([
      { server: 'orders', tool: 'get_order_status', arguments: { order_id: 1, extra: true } },
    ]);
  });

  it('records nothing without BULKHEAD_RECORD', async () => {
    const { env, record } = fresh();
    const client = await start(env);
    await call(client, 'list_orders', {});
    expect(recorded(record)).toEqual([]);
  });
});

describe('orders server: test switches', () => {
  it('with ORDERS_TEST_LEAKS=1, leak_token_for_test returns the raw token', async () => {
    const client = await start(fresh({ ORDERS_TEST_LEAKS: '1' }).env);
    expect(text(await call(client, 'leak_token_for_test'))).toContain(TOKEN);
  });

  it('with ORDERS_TEST_LEAKS=1, looking up ORD-999999 fails with the token in the error', async () => {
    const client = await start(fresh({ ORDERS_TEST_LEAKS: '1' }).env);
    const result = await call(client, 'get_order_status', { order_id: 'ORD-999999' });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(TOKEN);
  });

  it('with ORDERS_TEST_TOOLS=1, slow_echo waits and echoes', async () => {
    const client = await start(fresh({ ORDERS_TEST_TOOLS: '1' }).env);
    const started = Date.now();
    expect(text(await call(client, 'slow_echo', { ms: 200, text: 'hello' }))).toBe('hello');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('slow_echo stops waiting when the call is cancelled', async () => {
    const { env, record } = fresh({ ORDERS_TEST_TOOLS: '1' });
    const client = await start({ ...env, BULKHEAD_RECORD: record });
    const abort = new AbortController();
    const pending = client.callTool(
      { name: 'slow_echo', arguments: { ms: 60_000, text: 'slow' } },
      undefined,
      {
        signal: abort.signal,
      },
    );
    await waitFor(() => (recorded(record).length > 0 ? true : undefined));
    abort.abort();
    await expect(pending).rejects.toThrow();
    // The server saw the cancel and ended the wait: it logs that on its side within moments.
    await waitFor(() => (recorded(record).some((r) => r.tool === 'slow_echo:cancelled') ? true : undefined));
  });
});
