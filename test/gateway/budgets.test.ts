/**
 * Invariant 5 for tool calls: a run never exceeds its cap, also with 100
 * calls racing, and also across two gateway replicas sharing PostgreSQL. The
 * upstream's own record counts what was executed.
 */
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../src/gateway/gateway.js';
import { loadPolicyFile } from '../../src/policy/load.js';
import {
  connectAgent,
  denialCode,
  exampleUpstream,
  recorded,
  startTestGateway,
  type TestGateway,
  tempDir,
} from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

const dir = tempDir();
const RECORD = join(dir, 'received.jsonl');
const ENV = { ORDERS_API_TOKEN: 'orders-token-budget-tests' };

function policy(store: string): string {
  return `
version: 1
store: ${store}
upstreams:
  orders:
${exampleUpstream('orders', { ORDERS_API_TOKEN: '{ secret: ORDERS_API_TOKEN }', ORDERS_DB: JSON.stringify(join(dir, 'orders.db')), BULKHEAD_RECORD: JSON.stringify(RECORD) })}
tools:
  orders:
    get_order_status: { class: read, arguments: { order_id: { pattern: "^ORD-[0-9]{6}$" } } }
    list_orders: { class: read, rate: 2/hour }
profiles:
  capped:
    tools: [orders__get_order_status, orders__list_orders]
    budgets: { tool_calls: 10, alert_at: [0.5, 0.8, 1] }
    loop_guard: { identical_calls: 1000 }
  per-tool:
    tools: [orders__get_order_status, orders__list_orders]
    budgets: { per_tool: { orders__get_order_status: { calls: 3 } } }
  replicas:
    tools: [orders__get_order_status]
    budgets: { tool_calls: 37 }
    loop_guard: { identical_calls: 1000 }
`;
}

/** Two gateway replicas sharing the store the policy names (PostgreSQL in these tests). */
async function startReplicas(policyText: string): Promise<[Gateway, Gateway]> {
  const dir = tempDir();
  writeFileSync(join(dir, 'policy.yaml'), policyText);
  const loaded = loadPolicyFile(join(dir, 'policy.yaml'));
  const start = (name: string) =>
    startGateway({
      loaded,
      port: 0,
      env: ENV,
      home: join(dir, name),
      logDestination: createWriteStream(join(dir, `${name}.log`)),
    });
  return Promise.all([start('a'), start('b')]);
}

const order = (i: number) => ({ order_id: `ORD-${String((i % 500) + 1).padStart(6, '0')}` });

describe('tool call budgets on one gateway', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(policy('{ sqlite: ./bulkhead.db }'), { dir, env: ENV });
  });
  afterAll(async () => {
    await gw?.close();
  });
  beforeEach(() => rmSync(RECORD, { force: true }));

  it('executes exactly the cap of 100 racing calls and ends the run as exhausted', async () => {
    const agent = await gw.agent('capped');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        agent.client.callTool({ name: 'orders__get_order_status', arguments: order(i) }),
      ),
    );
    expect(results.filter((r) => denialCode(r) === undefined)).toHaveLength(10);
    expect(recorded(RECORD)).toHaveLength(10);
    const run = await gw.gateway.runs.get(agent.runId);
    expect(run?.state).toBe('exhausted');
    expect(results.map(denialCode)).toContain('budget_exhausted');
  });

  it('raises one alert per threshold crossed', async () => {
    const agent = await gw.agent('capped');
    for (let i = 0; i < 12; i++)
      await agent.client.callTool({ name: 'orders__get_order_status', arguments: order(i) });
    const alerts = await gw.gateway.store.events.list({ runId: agent.runId, kind: 'budget.alert' });
    expect(alerts.map((a) => a.data.fraction).sort()).toEqual([0.5, 0.8, 1]);
  });

  it('caps one tool and leaves the others usable', async () => {
    const agent = await gw.agent('per-tool');
    const codes = [];
    for (let i = 0; i < 4; i++)
      codes.push(
        denialCode(await agent.client.callTool({ name: 'orders__get_order_status', arguments: order(i) })),
      );
    expect(codes).toEqual([undefined, undefined, undefined, 'budget_exhausted']);
    const other = await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: 1 } });
    expect(denialCode(other)).toBeUndefined();
    expect((await gw.gateway.runs.get(agent.runId))?.state).toBe('active');
  });

  it('rate-limits a tool with its token bucket', async () => {
    const agent = await gw.agent('per-tool');
    const codes = [];
    for (let i = 1; i <= 3; i++)
      codes.push(
        denialCode(await agent.client.callTool({ name: 'orders__list_orders', arguments: { limit: i } })),
      );
    expect(codes).toEqual([undefined, undefined, 'rate_limited']);
  });
});

describe('tool call budgets across two replicas on PostgreSQL', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('executes exactly the cap when 100 calls are split across two gateways', async () => {
    rmSync(RECORD, { force: true });
    const [a, b] = await startReplicas(policy(`{ postgres: { url: ${JSON.stringify(pg.url)} } }`));
    try {
      const { token, run } = await a.runs.create('replicas');
      const clients = await Promise.all([connectAgent(a.url, token), connectAgent(b.url, token)]);
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          (clients[i % 2] as (typeof clients)[number]).callTool({
            name: 'orders__get_order_status',
            arguments: order(i),
          }),
        ),
      );
      expect(results.filter((r) => denialCode(r) === undefined)).toHaveLength(37);
      expect(recorded(RECORD)).toHaveLength(37);
      expect((await b.runs.get(run.id))?.state).toBe('exhausted');
      await Promise.all(clients.map((c) => c.close()));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});

describe('kill across replicas', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 60_000);
  afterAll(() => pg?.stop());

  it('cancels an in-flight call on one replica when the run is killed through the other', async () => {
    const [a, b] = await startReplicas(
      policy(`{ postgres: { url: ${JSON.stringify(pg.url)} } }`)
        .replace(
          '      ORDERS_API_TOKEN: { secret: ORDERS_API_TOKEN }',
          "      ORDERS_API_TOKEN: { secret: ORDERS_API_TOKEN }\n      ORDERS_TEST_TOOLS: '1'",
        )
        .replace(
          '    list_orders: { class: read, rate: 2/hour }',
          '    list_orders: { class: read, rate: 2/hour }\n    slow_echo: { class: read }',
        )
        .replace(
          '  replicas:\n    tools: [orders__get_order_status]',
          '  replicas:\n    tools: [orders__get_order_status, orders__slow_echo]',
        ),
    );

    try {
      const { token, run } = await a.runs.create('replicas');
      const client = await connectAgent(b.url, token);
      const pending = client.callTool({ name: 'orders__slow_echo', arguments: { ms: 30_000, text: 'slow' } });
      await new Promise((r) => setTimeout(r, 300));
      await a.runs.end(run.id, 'killed', 'test');
      const started = Date.now();
      expect(denialCode(await pending)).toBe('run_not_active');
      expect(Date.now() - started).toBeLessThan(5_000);
      await client.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }, 60_000);
});
