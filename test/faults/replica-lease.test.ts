/**
 * Replicas own their work (issue 16, point 2), on a real PostgreSQL with a
 * real second replica: replica A (a real gateway process) executes an
 * approved irreversible call on a slow upstream tool, plus an ungated call;
 * replica B, started meanwhile, leaves that work alone while A lives. Once A
 * is killed with SIGKILL, B marks the approval and both calls
 * `outcome_unknown` within seconds, and the agent's identical retry opens an
 * approval that tells the approver the earlier call may already have run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, startTestGateway, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { api, createRun, killAll, ORDERS_ENV, refundPolicy, spawnGateway, waitFor } from './processes.js';

let pg: TestPostgres | undefined;
afterAll(() => {
  killAll();
  pg?.stop();
});

interface PendingView {
  id: string;
  run_hash: string;
  why: string;
  identical: { id: string; state: string }[];
}

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'replica leases on PostgreSQL',
  { timeout: 240_000 },
  () => {
    it("never marks a live replica's execution, and marks a killed one's outcome_unknown within seconds", async () => {
      pg = await startPostgres();
      const dir = tempDir('bulkhead-lease-');
      // Only refunds are held; the other slow calls run at once (in-flight work without an approval).
      const policy = refundPolicy(dir, `{ postgres: { url: ${JSON.stringify(pg.url)} } }`);
      const a = await spawnGateway(dir, policy, ORDERS_ENV).ready;
      const { token, run_id } = await createRun(a.url, a.adminToken, 'agent');
      const agent = await connectAgent(a.url, token);
      const args = { ms: 60_000, text: 'refund once' };
      const call = agent.callTool({ name: 'orders__slow_echo', arguments: args }).catch(() => 'cut');
      const pending = await waitFor(async () => {
        const { body } = await api<{ approvals: PendingView[] }>(
          a.url,
          ORDERS_ENV.ALICE,
          '/api/approvals?state=pending',
        );
        return body.approvals[0];
      });
      const approved = await api(a.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      });
      expect(approved.status).toBe(200);
      const plain = agent
        .callTool({ name: 'orders__slow_echo', arguments: { ms: 60_000, text: 'in flight' } })
        .catch(() => 'cut');

      const b = await startTestGateway(policy, { dir, env: ORDERS_ENV });
      try {
        const store = b.gateway.store;
        await waitFor(async () => (await store.approvals.get(pending.id))?.state === 'executing');
        await waitFor(async () => (await store.intents.list({ runId: run_id })).length === 2);
        // B started while A executes, and beats several times: A's lease is live, so its work is A's.
        await new Promise((r) => setTimeout(r, 3 * b.gateway.lease.heartbeatMs + 500));
        expect((await store.approvals.get(pending.id))?.state).toBe('executing');
        const open = await store.intents.list({ runId: run_id });
        expect(open).toHaveLength(2);
        expect(open.every((i) => i.owner !== store.replica)).toBe(true);
        expect(await store.events.count({ code: 'outcome_unknown' })).toBe(0);

        a.child.kill('SIGKILL');
        const killedAt = Date.now();
        await a.exited;
        await waitFor(
          async () => (await store.approvals.get(pending.id))?.state === 'outcome_unknown',
          15_000,
          'approval marked outcome_unknown',
        );
        await waitFor(
          async () => (await store.intents.list({ runId: run_id })).length === 0,
          15_000,
          'intents closed',
        );
        // Within seconds: B's own heartbeat found A gone, no restart of A was needed.
        expect(Date.now() - killedAt).toBeLessThan(15_000);
        const unknownCalls = await store.events.list({
          runId: run_id,
          kind: 'tools/call',
          code: 'outcome_unknown',
        });
        expect(unknownCalls).toHaveLength(2);
        expect(unknownCalls.map((e) => e.data.approvalId)).toContain(pending.id);
        expect(unknownCalls.map((e) => (e.data.arguments as { text?: string }).text).sort()).toEqual([
          'in flight',
          'refund once',
        ]);
        const executed = await store.events.list({ kind: 'approval.executed', code: 'outcome_unknown' });
        expect(executed.map((e) => e.data.approvalId)).toEqual([pending.id]);
        // The agent's answers were cut with A; closing its client ends the requests it still awaits.
        await agent.close().catch(() => undefined);
        expect(await Promise.all([call, plain])).toEqual(['cut', 'cut']);

        // The agent retries on B: its approver is told the same call may already have run.
        const retry = await connectAgent(b.gateway.url, token);
        const again = retry.callTool({ name: 'orders__slow_echo', arguments: args }).catch(() => 'cut');
        const fresh = await waitFor(async () => {
          const { body } = await api<{ approvals: PendingView[] }>(
            b.gateway.url,
            ORDERS_ENV.ALICE,
            '/api/approvals?state=pending',
          );
          return body.approvals[0];
        });
        expect(fresh.id).not.toBe(pending.id);
        expect(fresh.why).toContain(`${pending.id} may already have run (outcome unknown)`);
        expect(fresh.identical).toContainEqual(
          expect.objectContaining({ id: pending.id, state: 'outcome_unknown' }),
        );
        const denied = await api(b.gateway.url, ORDERS_ENV.ALICE, `/api/approvals/${fresh.id}/deny`, {
          method: 'POST',
          body: { reason: 'checked the upstream: it ran' },
        });
        expect(denied.status).toBe(200);
        await again;
        await retry.close();
      } finally {
        await b.close();
      }
    });
  },
);
