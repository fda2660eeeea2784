/**
 * Reconciliation's own events survive a crash (issue 16): a replica that
 * reconciles work a dead replica left (here at start-up, after kill -9 of the
 * gateway that was executing an approved call) marks the approval
 * `outcome_unknown` and writes its `approval.executed` event. Killed with
 * SIGKILL right after that step (a test fault point, inert unless armed by
 * its environment variable), the next replica must find the mark and exactly
 * one event: never the mark without its event (lost for good, since nobody
 * marks it again), never the event twice. The same for retiring the dead
 * replica's lease and its `replica.lapsed` event. On SQLite and on PostgreSQL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { api, createRun, killAll, ORDERS_ENV, ordersUpstream, spawnGateway, waitFor } from './processes.js';

let pg: TestPostgres | undefined;
afterAll(() => {
  killAll();
  pg?.stop();
});

function policy(dir: string, store: string): string {
  return `
version: 1
store: ${store}
upstreams:
  orders:
${ordersUpstream(dir)}
    call_timeout: 5m
tools:
  orders:
    slow_echo:
      class: irreversible
      approval: { when: [{ arg: text, matches: '^refund' }], approvers: [approver] }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
profiles:
  agent:
    tools: [orders__slow_echo]
`;
}

const STORES = [
  { name: 'SQLite', available: true, store: async () => '{ sqlite: ./bulkhead.db }' },
  {
    name: 'PostgreSQL',
    available: postgresAvailable() || process.env.CI === 'true',
    store: async () => {
      pg ??= await startPostgres();
      return `{ postgres: { url: ${JSON.stringify(pg.url)} } }`;
    },
  },
];

describe.each(STORES)('reconciliation killed mid-way on $name', ({ available, store }) => {
  it.runIf(available)(
    'leaves the orphaned execution marked outcome_unknown with exactly one event',
    async () => {
      const dir = tempDir('bulkhead-reconcile-crash-');
      const yaml = policy(dir, await store());
      const a = await spawnGateway(dir, yaml, ORDERS_ENV, 'a.yaml').ready;
      const { token } = await createRun(a.url, a.adminToken, 'agent');
      const agent = await connectAgent(a.url, token);
      const call = agent
        .callTool({ name: 'orders__slow_echo', arguments: { ms: 60_000, text: 'refund 7' } }, undefined, {
          timeout: 300_000,
        })
        .catch(() => 'cut');
      const pending = await waitFor(async () => {
        const { body } = await api<{ approvals: { id: string; run_hash: string }[] }>(
          a.url,
          ORDERS_ENV.ALICE,
          '/api/approvals?state=pending',
        );
        return body.approvals[0];
      }, 30_000);
      const approved = await api(a.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      });
      expect(approved.status).toBe(200);
      await waitFor(async () => {
        const { body } = await api<{ approval: { state: string } }>(
          a.url,
          ORDERS_ENV.ALICE,
          `/api/approvals/${pending.id}`,
        );
        return body.approval.state === 'executing';
      });
      a.child.kill('SIGKILL');
      await a.exited;
      await agent.close().catch(() => undefined);
      await call;

      // B reconciles A's execution at start-up and is killed right after marking it.
      const b = spawnGateway(
        dir,
        yaml,
        { ...ORDERS_ENV, BULKHEAD_TEST_FAULT_POINT: 'approval-marked-unknown' },
        'b.yaml',
      );
      b.ready.catch(() => undefined);
      expect(await b.exited).toBe('SIGKILL');

      const c = await spawnGateway(dir, yaml, ORDERS_ENV, 'c.yaml').ready;
      const { body } = await api<{ approval: { state: string } }>(
        c.url,
        ORDERS_ENV.ALICE,
        `/api/approvals/${pending.id}`,
      );
      expect(body.approval.state).toBe('outcome_unknown');
      const { body: events } = await api<{ events: { code?: string; data: { approvalId?: string } }[] }>(
        c.url,
        c.adminToken,
        '/api/events?kind=approval.executed&limit=100',
      );
      expect(events.events.filter((e) => e.data.approvalId === pending.id).map((e) => e.code)).toEqual([
        'outcome_unknown',
      ]);
      // A live replica left running would reconcile the next test's dead one before its B could.
      c.child.kill('SIGKILL');
      await c.exited;
    },
    180_000,
  );

  it.runIf(available)(
    "retires a dead replica's lease with exactly one replica.lapsed event",
    async () => {
      const dir = tempDir('bulkhead-retire-crash-');
      const yaml = policy(dir, await store());
      const a = await spawnGateway(dir, yaml, ORDERS_ENV, 'a.yaml').ready;
      const { body: health } = await api<{ replica: { id: string } }>(a.url, a.adminToken, '/api/health');
      const dead = health.replica.id;
      a.child.kill('SIGKILL');
      await a.exited;

      // B retires A at start-up (its pid is gone) and is killed right after.
      const b = spawnGateway(
        dir,
        yaml,
        { ...ORDERS_ENV, BULKHEAD_TEST_FAULT_POINT: 'replica-retired' },
        'b.yaml',
      );
      b.ready.catch(() => undefined);
      expect(await b.exited).toBe('SIGKILL');

      const c = await spawnGateway(dir, yaml, ORDERS_ENV, 'c.yaml').ready;
      const { body: events } = await api<{ events: { code?: string; data: { replica?: string } }[] }>(
        c.url,
        c.adminToken,
        '/api/events?kind=replica.lapsed&limit=100',
      );
      expect(events.events.filter((e) => e.data.replica === dead).map((e) => e.code)).toEqual([
        'process_gone',
      ]);
      c.child.kill('SIGKILL');
      await c.exited;
    },
    180_000,
  );

  it.runIf(available)(
    'an approval decided just before a crash keeps its decision and exactly one approval.decided event',
    async () => {
      const dir = tempDir('bulkhead-vote-crash-');
      const yaml = policy(dir, await store());
      // Armed from the start; the point is reached only once a vote is committed.
      const a = await spawnGateway(
        dir,
        yaml,
        { ...ORDERS_ENV, BULKHEAD_TEST_FAULT_POINT: 'approval-voted' },
        'a.yaml',
      ).ready;
      const { token } = await createRun(a.url, a.adminToken, 'agent');
      const agent = await connectAgent(a.url, token);
      const call = agent
        .callTool({ name: 'orders__slow_echo', arguments: { ms: 10, text: 'refund 9' } })
        .catch(() => 'cut');
      const pending = await waitFor(async () => {
        const { body } = await api<{ approvals: { id: string; run_hash: string }[] }>(
          a.url,
          ORDERS_ENV.ALICE,
          '/api/approvals?state=pending',
        );
        return body.approvals[0];
      }, 30_000);
      await api(a.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      }).catch(() => 'cut');
      expect(await a.exited).toBe('SIGKILL');
      await agent.close().catch(() => undefined);
      await call;

      const b = await spawnGateway(dir, yaml, ORDERS_ENV, 'b.yaml').ready;
      const { body } = await api<{ approval: { state: string } }>(
        b.url,
        ORDERS_ENV.ALICE,
        `/api/approvals/${pending.id}`,
      );
      expect(body.approval.state).toBe('approved');
      const { body: events } = await api<{ events: { code?: string; data: { approvalId?: string } }[] }>(
        b.url,
        b.adminToken,
        '/api/events?kind=approval.decided&limit=100',
      );
      expect(events.events.filter((e) => e.data.approvalId === pending.id).map((e) => e.code)).toEqual([
        'approved',
      ]);
      b.child.kill('SIGKILL');
      await b.exited;
    },
    180_000,
  );

  it.runIf(available)(
    'an approved call settled just before a crash keeps its approval.executed event, once',
    async () => {
      const dir = tempDir('bulkhead-finish-crash-');
      const yaml = policy(dir, await store());
      const a = await spawnGateway(
        dir,
        yaml,
        { ...ORDERS_ENV, BULKHEAD_TEST_FAULT_POINT: 'approval-finished' },
        'a.yaml',
      ).ready;
      const { token } = await createRun(a.url, a.adminToken, 'agent');
      const agent = await connectAgent(a.url, token);
      const call = agent
        .callTool({ name: 'orders__slow_echo', arguments: { ms: 10, text: 'refund 11' } })
        .catch(() => 'cut');
      const pending = await waitFor(async () => {
        const { body } = await api<{ approvals: { id: string; run_hash: string }[] }>(
          a.url,
          ORDERS_ENV.ALICE,
          '/api/approvals?state=pending',
        );
        return body.approvals[0];
      }, 30_000);
      await api(a.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      });
      expect(await a.exited).toBe('SIGKILL');
      await agent.close().catch(() => undefined);
      await call;

      const b = await spawnGateway(dir, yaml, ORDERS_ENV, 'b.yaml').ready;
      const { body } = await api<{ approval: { state: string } }>(
        b.url,
        ORDERS_ENV.ALICE,
        `/api/approvals/${pending.id}`,
      );
      expect(body.approval.state).toBe('executed');
      const { body: events } = await api<{ events: { code?: string; data: { approvalId?: string } }[] }>(
        b.url,
        b.adminToken,
        '/api/events?kind=approval.executed&limit=100',
      );
      expect(events.events.filter((e) => e.data.approvalId === pending.id).map((e) => e.code)).toEqual([
        'executed',
      ]);
      b.child.kill('SIGKILL');
      await b.exited;
    },
    180_000,
  );
});
