/**
 * A replica that is only paused (SIGSTOP, then SIGCONT) past its lease
 * (issue 16, point 2), on a real PostgreSQL with a real second replica.
 * Replica A claims an approved irreversible call and is stopped while the
 * call's intent is being written (a test transaction holds the intents table
 * so the insert is in flight at the stop). Replica B finds A's lease lapsed
 * and marks the approval and the call `outcome_unknown`; from then on the
 * action belongs to the humans B told. When A continues it must not forward
 * the call it no longer owns, and must record truthfully that it did not
 * (the approval ends `failed` with code `lease_lost`, never `executed`).
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, recorded, startTestGateway, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { api, createRun, killAll, ORDERS_ENV, refundPolicy, spawnGateway, waitFor } from './processes.js';

let server: TestPostgres | undefined;
afterAll(() => {
  killAll();
  server?.stop();
});

function policyFor(url: string, dir: string): string {
  return refundPolicy(dir, `{ postgres: { url: ${JSON.stringify(url)} } }`);
}

/** Waits until a gateway's intent insert is blocked on `locker`'s table lock. */
async function insertBlocked(locker: pg.Client): Promise<void> {
  await waitFor(async () => {
    const { rows } = await locker.query(
      `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'intents' AND NOT l.granted`,
    );
    return rows.length > 0;
  }, 20_000);
}

interface PendingView {
  id: string;
  run_hash: string;
}

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'a replica paused past its lease',
  { timeout: 180_000 },
  () => {
    it('does not run, once it continues, an approved call another replica marked outcome_unknown', async () => {
      server ??= await startPostgres();
      const dir = tempDir('bulkhead-pause-');
      const policy = policyFor(server.url, dir);
      const a = await spawnGateway(dir, policy, ORDERS_ENV).ready;
      const b = await startTestGateway(policy, {
        dir,
        env: ORDERS_ENV,
        gateway: { lease: { heartbeatMs: 250, leaseMs: 3_000 } },
      });
      const locker = new pg.Client({ connectionString: server.url });
      await locker.connect();
      try {
        const { token, run_id } = await createRun(a.url, a.adminToken, 'agent');
        const agent = await connectAgent(a.url, token);
        const args = { ms: 50, text: 'refund once' };
        const call = agent.callTool({ name: 'orders__slow_echo', arguments: args }).catch(() => 'cut');
        const pending = await waitFor(async () => {
          const { body } = await api<{ approvals: PendingView[] }>(
            a.url,
            ORDERS_ENV.ALICE,
            '/api/approvals?state=pending',
          );
          return body.approvals[0];
        });
        // The intent insert will wait on this lock: A is stopped with it in flight.
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE intents IN EXCLUSIVE MODE');
        const approved = await api(a.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
          method: 'POST',
          body: { args_hash: pending.run_hash },
        });
        expect(approved.status).toBe(200);
        await insertBlocked(locker);
        a.child.kill('SIGSTOP');
        await locker.query('COMMIT');
        const store = b.gateway.store;
        await waitFor(
          async () => (await store.approvals.get(pending.id))?.state === 'outcome_unknown',
          20_000,
          'B marks the approval outcome_unknown',
        );
        await waitFor(async () => (await store.intents.list({ runId: run_id })).length === 0, 10_000);

        a.child.kill('SIGCONT');
        // A continues: whatever it does with the call is decided within a few of its heartbeats.
        await waitFor(
          async () => (await store.approvals.get(pending.id))?.state !== 'outcome_unknown',
          15_000,
          'A records what became of the call',
        ).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 2_000));
        const received = recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'slow_echo');
        expect(received, 'the upstream saw a call another replica had marked outcome_unknown').toEqual([]);
        const final = await store.approvals.get(pending.id);
        expect(final?.state).toBe('failed');
        const executed = await store.events.list({ kind: 'approval.executed' });
        expect(executed.map((e) => e.code).sort()).toEqual(['failed', 'outcome_unknown']);
        expect(executed.find((e) => e.code === 'failed')?.data.code).toBe('lease_lost');
        const calls = await store.events.list({ runId: run_id, kind: 'tools/call' });
        expect(calls.map((e) => e.code).sort()).toEqual(['lease_lost', 'outcome_unknown']);
        expect(calls.find((e) => e.code === 'lease_lost')?.data.lateOutcome).toBe(true);
        await agent.close().catch(() => undefined);
        await call;
      } finally {
        await locker.end().catch(() => undefined);
        await b.close();
      }
    });

    it('does not forward an ungated call whose intent another replica closed while it was stopped', async () => {
      server ??= await startPostgres();
      const dir = tempDir('bulkhead-pause-plain-');
      const policy = policyFor(server.url, dir);
      const a = await spawnGateway(dir, policy, ORDERS_ENV).ready;
      const b = await startTestGateway(policy, {
        dir,
        env: ORDERS_ENV,
        gateway: { lease: { heartbeatMs: 250, leaseMs: 3_000 } },
      });
      const locker = new pg.Client({ connectionString: server.url });
      await locker.connect();
      try {
        const { token, run_id } = await createRun(a.url, a.adminToken, 'agent');
        const agent = await connectAgent(a.url, token);
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE intents IN EXCLUSIVE MODE');
        const call = agent
          .callTool({ name: 'orders__slow_echo', arguments: { ms: 50, text: 'plain' } })
          .catch(() => 'cut');
        await insertBlocked(locker);
        a.child.kill('SIGSTOP');
        const stoppedAt = Date.now();
        await locker.query('COMMIT');
        const store = b.gateway.store;
        await waitFor(
          async () => (await store.events.count({ runId: run_id, code: 'outcome_unknown' })) === 1,
          20_000,
          'B closes the intent as outcome_unknown',
        );
        // Stopped longer than A's own lease (5 s): A knows on waking that its work may be taken.
        await new Promise((r) => setTimeout(r, Math.max(0, 6_000 - (Date.now() - stoppedAt))));
        a.child.kill('SIGCONT');
        const answer = await call;
        expect(JSON.stringify(answer)).toContain('lease_lost');
        expect(recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'slow_echo')).toEqual([]);
        const calls = await store.events.list({ runId: run_id, kind: 'tools/call' });
        expect(calls.map((e) => e.code).sort()).toEqual(['lease_lost', 'outcome_unknown']);
        // A works again once its next heartbeat took the lease back.
        await waitFor(async () => {
          const r = await agent.callTool({ name: 'orders__slow_echo', arguments: { ms: 1, text: 'after' } });
          return !JSON.stringify(r).includes('lease_lost');
        }, 15_000);
        await agent.close();
      } finally {
        await locker.end().catch(() => undefined);
        await b.close();
      }
    });
  },
);
