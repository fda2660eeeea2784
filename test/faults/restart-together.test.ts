/**
 * Two replicas restarting at once (issue 16, point 1), on a real PostgreSQL:
 * replica A (a real process) is killed with SIGKILL with two slow calls in
 * flight, one of them an approved irreversible call; then two replicas start
 * at the same moment and both reconcile. Each call gets exactly one
 * `outcome_unknown` event, the approval one `approval.executed`
 * `outcome_unknown`, A one `replica.lapsed`, and nothing stays open.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, recorded, startTestGateway, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { api, createRun, killAll, ORDERS_ENV, refundPolicy, spawnGateway, waitFor } from './processes.js';

let pg: TestPostgres | undefined;
afterAll(() => {
  killAll();
  pg?.stop();
});

describe.runIf(postgresAvailable() || process.env.CI === 'true')('two replicas restarting at once', () => {
  it('reconcile a killed replica’s calls and approval exactly once', async () => {
    pg = await startPostgres();
    const dir = tempDir('bulkhead-together-');
    const policy = refundPolicy(dir, `{ postgres: { url: ${JSON.stringify(pg.url)} } }`);
    const a = await spawnGateway(dir, policy, ORDERS_ENV).ready;
    const { token, run_id } = await createRun(a.url, a.adminToken, 'agent');
    const agent = await connectAgent(a.url, token);
    const refund = agent
      .callTool({ name: 'orders__slow_echo', arguments: { ms: 60_000, text: 'refund once' } })
      .catch(() => 'cut');
    const pending = await waitFor(async () => {
      const { body } = await api<{ approvals: { id: string; run_hash: string }[] }>(
        a.url,
        ORDERS_ENV.ALICE,
        '/api/approvals?state=pending',
      );
      return body.approvals[0];
    });
    await api(a.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
      method: 'POST',
      body: { args_hash: pending.run_hash },
    });
    const plain = agent
      .callTool({ name: 'orders__slow_echo', arguments: { ms: 60_000, text: 'plain' } })
      .catch(() => 'cut');
    await waitFor(() => recorded(join(dir, 'received.jsonl')).length === 2, 30_000, 'both calls received');
    a.child.kill('SIGKILL');
    await a.exited;
    await agent.close().catch(() => undefined);
    await Promise.all([refund, plain]);

    const [b, c] = await Promise.all([
      startTestGateway(policy, { dir, env: ORDERS_ENV }),
      startTestGateway(policy, { dir, env: ORDERS_ENV }),
    ]);
    try {
      const store = b.gateway.store;
      await waitFor(async () => (await store.intents.list({ runId: run_id })).length === 0, 15_000);
      await waitFor(async () => (await store.approvals.get(pending.id))?.state === 'outcome_unknown', 15_000);
      // Both keep reconciling for a few heartbeats: still once.
      await new Promise((r) => setTimeout(r, 2_500));
      const calls = await store.events.list({ runId: run_id, kind: 'tools/call', code: 'outcome_unknown' });
      expect(calls.map((e) => (e.data.arguments as { text: string }).text).sort()).toEqual([
        'plain',
        'refund once',
      ]);
      expect(await store.events.count({ kind: 'approval.executed', code: 'outcome_unknown' })).toBe(1);
      expect(await store.events.count({ kind: 'replica.lapsed' })).toBe(1);
    } finally {
      await Promise.all([b.close(), c.close()]);
    }
  }, 180_000);
});
