/**
 * A kill that lands while a plain call on another replica is between its
 * run check and its intent write (held there by a lock on the intents
 * table), committed by a replica that dies before telling anyone (test
 * fault point `run-ended`). Once the lock goes, that call must not reach the
 * upstream: the run was killed before its intent, the durable commitment to
 * forward it, was written.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { denialCode, recorded, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { api, killAll, killerAndDeaf, refundPolicy, waitFor } from './processes.js';

let server: TestPostgres | undefined;
afterAll(async () => {
  await killAll();
  server?.stop();
});

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'a plain call racing a kill on another replica',
  () => {
    it('is not forwarded when the kill commits before its intent', async () => {
      server = await startPostgres();
      const dir = tempDir('bulkhead-kill-race-');
      const yaml = refundPolicy(dir, `{ postgres: { url: ${JSON.stringify(server.url)} } }`);
      const { killer: a, deaf } = await killerAndDeaf(yaml, dir);
      const b = deaf;
      const locker = new pg.Client({ connectionString: server.url });
      await locker.connect();
      try {
        const agent = await b.agent('agent');
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE intents IN EXCLUSIVE MODE');
        const call = agent.client
          .callTool({ name: 'orders__slow_echo', arguments: { ms: 0, text: 'plain after kill' } })
          .catch((err: unknown) => err);
        await waitFor(async () => {
          const { rows } = await locker.query(
            `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'intents' AND NOT l.granted`,
          );
          return rows.length > 0;
        });
        await api(a.url, a.adminToken, `/api/runs/${agent.runId}/kill`, { method: 'POST', body: {} }).catch(
          () => 'cut',
        );
        expect(await a.exited).toBe('SIGKILL');
        await locker.query('COMMIT');
        const answer = await call;
        const received = recorded(join(dir, 'received.jsonl')).filter((r) => r.tool === 'slow_echo');
        expect(received).toEqual([]);
        expect(denialCode(answer)).toBe('run_not_active');
      } finally {
        await locker.end().catch(() => undefined);
        await b.close();
      }
    }, 120_000);
  },
);
