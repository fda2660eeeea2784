/**
 * A notice a gateway was still trying to deliver when it was killed with SIGKILL (a budget
 * alert's, its webhook answering 503 until then) is delivered by the next start on the same store, with the same
 * `X-Bulkhead-Delivery` id, so a receiver can drop a repeat. Until 4 Dec notices lived only in
 * the gateway's memory: a crash lost every one not yet delivered. On SQLite and on PostgreSQL.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connectAgent, tempDir } from '../helpers/harness.js';
import {
  createRun,
  faultStores,
  killAll,
  ORDERS_ENV,
  ordersPolicy,
  spawnGateway,
  waitFor,
} from './processes.js';

const STORES = faultStores();
const servers: Server[] = [];
afterEach(async () => {
  await killAll();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});
afterAll(() => STORES.stop());

interface Hook {
  url: string;
  status: number;
  got: { headers: IncomingHttpHeaders; body: { kind: string; data: Record<string, unknown> } }[];
}

/** A webhook receiver answering every request with `hook.status`. */
async function receiver(): Promise<Hook> {
  const hook: Hook = { url: '', status: 503, got: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString();
    });
    req.on('end', () => {
      hook.got.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(hook.status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return hook;
}

function policy(dir: string, store: string, hookUrl: string): string {
  return ordersPolicy(
    dir,
    store,
    ['get_order_status'],
    `notifiers:
  hook: { type: webhook, url: ${JSON.stringify(hookUrl)}, events: [budget.alert] }
profiles:
  agent:
    tools: [orders__get_order_status]
    budgets: { tool_calls: 2, alert_at: [0.5] }
`,
  );
}

describe.each(STORES.cases)('a notice cut short by kill -9, on $name', ({ available, store }) => {
  it.runIf(available)(
    'is delivered by the next start, with the same delivery id',
    async () => {
      const hook = await receiver();
      const dir = tempDir('bulkhead-notice-crash-');
      const yaml = policy(dir, await store(), hook.url);
      const first = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
      const { run_id, token } = await createRun(first.url, first.adminToken, 'agent');
      // The first of two calls reaches half the budget: its alert's notice is refused with 503.
      const agent = await connectAgent(first.url, token);
      await agent.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } });
      await agent.close();
      await waitFor(() => hook.got.length > 0, 15_000, 'a first delivery attempt');
      first.child.kill('SIGKILL');
      await first.exited;
      const tried = hook.got[0];
      hook.status = 200;
      const before = hook.got.length;

      await spawnGateway(dir, yaml, ORDERS_ENV).ready;
      await waitFor(() => hook.got.length > before, 15_000, 'the notice delivered after the restart');
      const delivered = hook.got.slice(before);
      expect(delivered.map((d) => [d.body.kind, d.body.data.run_id])).toEqual([['budget.alert', run_id]]);
      expect(delivered[0]?.headers['x-bulkhead-delivery']).toBe(tried?.headers['x-bulkhead-delivery']);
    },
    120_000,
  );
});
