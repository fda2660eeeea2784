/**
 * Intent before effect for the LLM proxy across replicas (issue 16, points 1
 * and 2), on a real PostgreSQL: replica A (a real gateway process) streams an
 * answer from the LLM API and is killed with SIGKILL mid-stream while two
 * other replicas live on. A surviving replica must settle A's token
 * reservation and write the `llm.request` event with code `outcome_unknown`
 * within seconds (not only when some replica restarts, 15 minutes later),
 * exactly once although both survivors reconcile at the same moments. A
 * replica starting while another's stream is in flight must leave that
 * reservation alone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { startTestGateway, tempDir } from '../helpers/harness.js';
import { REAL_KEY } from '../helpers/llm-harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { createRun, killAll, llmSection, llmStreamInFlight, spawnGateway, waitFor } from './processes.js';

let pg: TestPostgres | undefined;
let fake: FakeAnthropic | undefined;
afterAll(async () => {
  killAll();
  await fake?.close();
  pg?.stop();
});

function policy(pgUrl: string, llmUrl: string): string {
  return `
version: 1
store: { postgres: { url: ${JSON.stringify(pgUrl)} } }
upstreams: {}
${llmSection(llmUrl)}profiles:
  free: {}
`;
}

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'an LLM stream cut by kill -9 on one of three replicas',
  { timeout: 180_000 },
  () => {
    it('is settled once, with one outcome_unknown llm.request, by a live replica within seconds', async () => {
      pg = await startPostgres();
      fake = await startFakeAnthropic();
      const dir = tempDir('bulkhead-llm-crash-');
      const yaml = policy(pg.url, fake.url);
      const env = { ANTHROPIC_API_KEY: REAL_KEY };
      const a = await spawnGateway(dir, yaml, env).ready;
      const { run_id, token } = await createRun(a.url, a.adminToken, 'free');
      fake.delayMs = 1_000;
      const { finished } = await llmStreamInFlight(a.url, token);

      // Two replicas start while A's stream is in flight: A is alive, its reservation is A's.
      const lease = { heartbeatMs: 200, leaseMs: 1_500 };
      const b = await startTestGateway(yaml, { dir, env, gateway: { lease } });
      const c = await startTestGateway(yaml, { dir, env, gateway: { lease } });
      try {
        const store = b.gateway.store;
        await new Promise((r) => setTimeout(r, 1_000));
        expect(await store.events.count({ runId: run_id, kind: 'llm.request' })).toBe(0);
        expect((await store.tokens.usage(run_id)).requests).toBe(0);

        a.child.kill('SIGKILL');
        const killedAt = Date.now();
        await a.exited;
        expect(await finished).toBe('cut');
        await waitFor(
          async () => (await store.tokens.usage(run_id)).requests === 1,
          15_000,
          'reservation settled by a live replica',
        );
        expect(Date.now() - killedAt).toBeLessThan(15_000);
        // Both survivors keep reconciling: still exactly one settlement and one event.
        await new Promise((r) => setTimeout(r, 1_000));
        const usage = await store.tokens.usage(run_id);
        expect(usage).toMatchObject({ requests: 1, output: 100 });
        const events = await store.events.list({ runId: run_id, kind: 'llm.request' });
        expect(events).toEqual([expect.objectContaining({ code: 'outcome_unknown', actor: 'system' })]);
        expect(await store.tokens.orphans(Date.now())).toEqual([]);
      } finally {
        await c.close();
        await b.close();
      }
    });
  },
);

describe('a second gateway started on the same SQLite file mid-stream', () => {
  it("leaves the live gateway's reservation alone; the stream settles at what it used", async () => {
    fake ??= await startFakeAnthropic();
    const dir = tempDir('bulkhead-llm-second-');
    const yaml = policy('', fake.url).replace(/store: .*/, 'store: { sqlite: ./bulkhead.db }');
    const env = { ANTHROPIC_API_KEY: REAL_KEY };
    const a = await spawnGateway(dir, yaml, env).ready;
    const { run_id, token } = await createRun(a.url, a.adminToken, 'free');
    fake.delayMs = 400;
    const { finished } = await llmStreamInFlight(a.url, token);
    const b = await startTestGateway(yaml, { dir, env, gateway: { lease: { heartbeatMs: 200 } } });
    try {
      const message = await finished;
      if (message === 'cut') throw new Error('the live gateway cut its own stream');
      expect(message.usage.output_tokens).toBeLessThan(100);
      const events = await waitFor(async () => {
        const list = await b.gateway.store.events.list({ runId: run_id, kind: 'llm.request' });
        return list.length ? list : undefined;
      });
      // A's own record, at what the stream used: B, starting meanwhile, settled nothing of A's.
      expect(events).toHaveLength(1);
      expect(events[0]?.code).not.toBe('outcome_unknown');
      expect(await b.gateway.store.tokens.usage(run_id)).toMatchObject({
        requests: 1,
        output: message.usage.output_tokens,
      });
    } finally {
      await b.close();
      a.child.kill('SIGKILL');
    }
  }, 120_000);
});
