/**
 * Intent before effect (issue 16, point 1), with a real gateway process
 * killed with SIGKILL during a burst of slow calls: every call the upstream
 * received has an audit event after the restart (a `tools/call` with code
 * `outcome_unknown` for those cut off), and the log still verifies.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/events/verify.js';
import { connectAgent, recorded, startTestGateway, tempDir } from '../helpers/harness.js';
import { createRun, killAll, ORDERS_ENV, ordersSqlitePolicy, spawnGateway, waitFor } from './processes.js';

function policy(dir: string): string {
  return ordersSqlitePolicy(
    dir,
    ['slow_echo', 'get_order_status'],
    `  agent:
    tools: [orders__slow_echo, orders__get_order_status]
`,
  );
}

afterAll(killAll);

describe('a gateway killed with SIGKILL mid-burst', () => {
  it('leaves an audit event for every call the upstream saw, and no open intent', async () => {
    const dir = tempDir('bulkhead-faults-');
    const first = spawnGateway(dir, policy(dir), ORDERS_ENV);
    const gw = await first.ready;
    const { token, run_id } = await createRun(gw.url, gw.adminToken, 'agent');
    const agent = await connectAgent(gw.url, token);
    // One quick call that completes, then a burst of slow ones in flight at the kill.
    await agent.callTool({ name: 'orders__get_order_status', arguments: { order_id: 'ORD-000001' } });
    const burst = Array.from({ length: 7 }, (_, i) =>
      agent
        .callTool({ name: 'orders__slow_echo', arguments: { ms: 30_000, text: `burst-${i}` } })
        .catch(() => 'cut'),
    );
    const record = join(dir, 'received.jsonl');
    await waitFor(
      () => recorded(record).filter((r) => r.tool === 'slow_echo').length === 7,
      30_000,
      'burst received',
    );
    gw.child.kill('SIGKILL');
    await gw.exited;
    await Promise.all(burst);
    await agent.close().catch(() => undefined);

    const restarted = await startTestGateway(policy(dir), { dir, env: ORDERS_ENV });
    try {
      const events = await restarted.gateway.store.events.list({
        runId: run_id,
        kind: 'tools/call',
        limit: 100,
      });
      const seen = recorded(record).filter((r) => r.tool === 'slow_echo' || r.tool === 'get_order_status');
      // Every call the upstream saw is in the audit log, with the arguments it was sent.
      for (const call of seen) {
        const match = events.find(
          (e) =>
            e.tool === `orders__${call.tool}` &&
            JSON.stringify(e.data.arguments) === JSON.stringify(call.arguments),
        );
        expect(match, `no audit event for ${JSON.stringify(call)}`).toBeDefined();
      }
      const unknown = events.filter((e) => e.code === 'outcome_unknown');
      expect(unknown).toHaveLength(7);
      for (const e of unknown) {
        expect(e.actor).toBe('system');
        expect(String(e.data.note)).toContain('check the upstream');
      }
      // Nothing twice: no intent is left to reconcile again, and the log verifies.
      expect(await restarted.gateway.store.intents.list({ runId: run_id })).toEqual([]);
      const report = await verifyLog(restarted.gateway.store.events);
      expect(report.findings).toEqual([]);
    } finally {
      await restarted.close();
    }
  }, 120_000);
});
