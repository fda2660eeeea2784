/**
 * A run's tool-call cap across kill -9 of a single SQLite gateway, twice in a
 * row, each time with a call in flight: the unit a dead call took stays spent
 * (its upstream may have run it), nothing is counted twice, and after the
 * second restart the run can make exactly the calls left, then is exhausted.
 * The wall clock is not a reservation but an expiry: a run whose wall clock
 * ran out while its gateway was down is ended as `expired` by the next start.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, denialCode, recorded, tempDir } from '../helpers/harness.js';
import {
  api,
  createRun,
  type GatewayProcess,
  killAll,
  ORDERS_ENV,
  ordersSqlitePolicy,
  spawnGateway,
  waitFor,
} from './processes.js';

const CAP = 5;

function policy(dir: string): string {
  return ordersSqlitePolicy(
    dir,
    ['slow_echo', 'get_order_status'],
    `  agent:
    tools: [orders__slow_echo, orders__get_order_status]
    budgets: { tool_calls: ${CAP} }
  timed:
    tools: [orders__get_order_status]
    budgets: { wall_clock: 3s }
`,
  );
}

afterAll(killAll);

interface RunBody {
  run: { state: string; end_reason: string | null; usage: { dimension: string; used: number }[] };
  events: { kind: string; code: string | null }[];
}

async function runOf(g: GatewayProcess, id: string): Promise<RunBody> {
  return (await api<RunBody>(g.url, g.adminToken, `/api/runs/${id}`)).body;
}

const callsUsed = (body: RunBody) => body.run.usage.find((u) => u.dimension === 'tool_calls')?.used;

/** Starts a slow call of `text` and kills the gateway once the upstream received it. */
async function killMidCall(g: GatewayProcess, token: string, dir: string, text: string): Promise<void> {
  const agent = await connectAgent(g.url, token);
  const call = agent
    .callTool({ name: 'orders__slow_echo', arguments: { ms: 60_000, text } }, undefined, { timeout: 120_000 })
    .catch(() => 'cut');
  await waitFor(
    () => recorded(join(dir, 'received.jsonl')).some((r) => JSON.stringify(r.arguments).includes(text)),
    30_000,
    `${text} received`,
  );
  g.child.kill('SIGKILL');
  await g.exited;
  await Promise.all([call, agent.close().catch(() => undefined)]);
}

describe('a tool-call cap across two SIGKILLs of a single SQLite gateway', () => {
  it('keeps each dead call spent, once, and grants exactly what is left', async () => {
    const dir = tempDir('bulkhead-call-cap-');
    const yaml = policy(dir);
    const first = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    const { run_id, token } = await createRun(first.url, first.adminToken, 'agent');
    const early = await connectAgent(first.url, token);
    await early.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } });
    await early.close();
    await killMidCall(first, token, dir, 'first-cut');

    const second = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    expect(callsUsed(await runOf(second, run_id))).toBe(2);
    await killMidCall(second, token, dir, 'second-cut');

    const third = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    const after = await runOf(third, run_id);
    expect(after.run.state).toBe('active');
    expect(callsUsed(after)).toBe(3);
    expect(after.events.filter((e) => e.code === 'outcome_unknown')).toHaveLength(2);

    const agent = await connectAgent(third.url, token);
    const status = { name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } };
    const granted = [];
    for (let i = 0; i < CAP; i++) granted.push(denialCode(await agent.callTool(status)));
    await agent.close().catch(() => undefined);
    // Two left of five, then refused: the run is exhausted.
    expect(granted).toEqual([undefined, undefined, 'budget_exhausted', 'run_not_active', 'run_not_active']);
    const end = await runOf(third, run_id);
    expect(end.run.state).toBe('exhausted');
    expect(callsUsed(end)).toBe(CAP);
    const upstreamSaw = recorded(join(dir, 'received.jsonl')).length;
    expect(upstreamSaw).toBe(CAP);
  }, 180_000);

  it('ends a run whose wall clock ran out while its gateway was down', async () => {
    const dir = tempDir('bulkhead-wall-clock-');
    const yaml = policy(dir);
    const first = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    const { run_id, token } = await createRun(first.url, first.adminToken, 'timed');
    first.child.kill('SIGKILL');
    await first.exited;
    await new Promise((r) => setTimeout(r, 3_500));

    const second = await spawnGateway(dir, yaml, ORDERS_ENV).ready;
    const body = await runOf(second, run_id);
    expect(body.run.state).toBe('expired');
    // Its token no longer opens a session: no call of the run reaches the upstream.
    const refused = await connectAgent(second.url, token)
      .then((agent) =>
        agent.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } }),
      )
      .then((result) => denialCode(result) ?? 'answered')
      .catch(() => 'refused');
    expect(['refused', 'run_not_active']).toContain(refused);
    expect(recorded(join(dir, 'received.jsonl'))).toEqual([]);
  }, 120_000);
});
