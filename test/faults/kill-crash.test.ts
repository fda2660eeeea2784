/**
 * A kill whose replica dies before it tells anyone. Replica A commits the
 * run's end and is killed with SIGKILL at once (test fault point `run-ended`):
 * it neither withdraws the run's approvals nor signals replica B, which polls
 * only every 10 minutes. An irreversible call of that run is held on B
 * waiting for approval; an operator then approves it on B. The run is
 * killed, so the call must not reach the upstream and the agent is told the
 * run ended. On SQLite and on PostgreSQL.
 */
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { denialCode, recorded, type TestGateway, tempDir } from '../helpers/harness.js';
import {
  api,
  faultStores,
  killAll,
  killerAndDeaf,
  ORDERS_ENV,
  pendingApproval,
  refundPolicy,
} from './processes.js';

const STORES = faultStores();
let b: TestGateway | undefined;
afterEach(async () => {
  await killAll();
  await b?.close();
  b = undefined;
});
afterAll(() => STORES.stop());

describe.each(STORES.cases)(
  'a run killed on a replica that dies before telling anyone, on $name',
  ({ available, store }) => {
    it.runIf(available)(
      'cannot run a held irreversible call approved afterwards on the other replica',
      async () => {
        const dir = tempDir('bulkhead-kill-crash-');
        const yaml = refundPolicy(dir, await store());
        const { killer: a, deaf } = await killerAndDeaf(yaml, dir);
        const replica = deaf;
        b = replica;
        const agent = await replica.agent('agent');
        const call = agent.client
          .callTool({ name: 'orders__slow_echo', arguments: { ms: 0, text: 'refund after kill' } })
          .catch((err: unknown) => err);
        const pending = await pendingApproval(replica.gateway.url, agent.runId);

        await api(a.url, a.adminToken, `/api/runs/${agent.runId}/kill`, { method: 'POST', body: {} }).catch(
          () => 'cut',
        );
        expect(await a.exited).toBe('SIGKILL');
        expect((await replica.gateway.store.runs.get(agent.runId))?.state).toBe('killed');

        await api(replica.gateway.url, ORDERS_ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
          method: 'POST',
          body: { args_hash: pending.run_hash },
        });
        const answer = await call;
        const received = recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'slow_echo');
        expect(received).toEqual([]);
        expect(denialCode(answer)).toBe('run_not_active');
        // Withdrawn, as the dead replica would have: nothing of the killed run stays open.
        expect((await replica.gateway.store.approvals.get(pending.id))?.state).toBe('withdrawn');
      },
      120_000,
    );
  },
);
