/**
 * The store connection lost between "approved" and the upstream call: a
 * real gateway claims an approved irreversible call (`executing`), then its
 * intent insert, the last write before the upstream sees the call, has its
 * PostgreSQL backend terminated. The call is refused unsent, so its approval
 * must say so (`failed`, as for any call refused before it was sent), not
 * stay `executing` for good under a live replica that nobody reconciles, and
 * the upstream never sees it.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, recorded, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import {
  api,
  approvalState,
  createRun,
  killAll,
  ORDERS_ENV,
  pendingApproval,
  refundPolicy,
  spawnGateway,
  waitFor,
} from './processes.js';

let server: TestPostgres | undefined;
afterAll(async () => {
  await killAll();
  server?.stop();
});

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'an approved call whose intent write loses its store connection',
  () => {
    it('is not sent, and its approval is settled failed rather than left executing', async () => {
      server = await startPostgres();
      const dir = tempDir('bulkhead-intent-lost-');
      const g = await spawnGateway(
        dir,
        refundPolicy(dir, `{ postgres: { url: ${JSON.stringify(server.url)} } }`),
        ORDERS_ENV,
      ).ready;
      const locker = new pg.Client({ connectionString: server.url });
      await locker.connect();
      try {
        const { token } = await createRun(g.url, g.adminToken, 'agent');
        const agent = await connectAgent(g.url, token);
        const call = agent
          .callTool({ name: 'orders__slow_echo', arguments: { ms: 0, text: 'refund lost' } })
          .catch((err: unknown) => err);
        const pending = await pendingApproval(g.url);
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE intents IN EXCLUSIVE MODE');
        await api(g.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
          method: 'POST',
          body: { args_hash: pending.run_hash },
        });
        // The claim is committed; the intent insert waits on the lock. Its connection drops.
        const blocked = await waitFor(async () => {
          const { rows } = await locker.query<{ pid: number }>(
            `SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = 'intents' AND NOT l.granted`,
          );
          return rows[0]?.pid;
        });
        await locker.query('SELECT pg_terminate_backend($1)', [blocked]);
        await locker.query('COMMIT');
        await call;
        const settled = await waitFor(
          async () => {
            const state = await approvalState(g, pending.id);
            return state === 'executing' ? undefined : state;
          },
          10_000,
          'the approval settled',
        ).catch(() => 'executing');
        expect(settled).toBe('failed');
        expect(recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'slow_echo')).toEqual([]);
        await agent.close().catch(() => undefined);
      } finally {
        await locker.end().catch(() => undefined);
      }
    }, 120_000);
  },
);
