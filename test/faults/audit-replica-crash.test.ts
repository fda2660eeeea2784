/**
 * The audit trail of two replicas writing at once on one PostgreSQL, one of
 * them killed with SIGKILL in the middle of a burst of quick calls (events
 * being committed as it dies): every call whose answer reached the agent has
 * its event ("durable before the answer leaves"), and both writers' chains
 * verify, by the verifier and by the start-up check of a replica started
 * afterwards against the anchor in the dead replica's home.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../src/events/verify.js';
import { bulkhead } from '../helpers/cli.js';
import { connectAgent, startTestGateway, tempDir, text } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { createRun, killAll, ORDERS_ENV, refundPolicy, spawnGateway, waitFor } from './processes.js';

let pg: TestPostgres | undefined;
afterAll(async () => {
  await killAll();
  pg?.stop();
});

/** Quick calls in `lanes` parallel loops until `stop`, adding to `answered` each text whose answer arrived. */
async function burst(url: string, token: string, tag: string, answered: string[], stop: () => boolean) {
  const lanes = 4;
  const agent = await connectAgent(url, token);
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = 0; !stop(); i++) {
        const sent = `${tag}-${lane}-${i}`;
        try {
          const result = await agent.callTool({
            name: 'orders__slow_echo',
            arguments: { ms: 0, text: sent },
          });
          if (text(result).includes(sent)) answered.push(sent);
        } catch {
          return; // the replica died under this lane
        }
      }
    }),
  );
  await agent.close().catch(() => undefined);
}

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'two replicas writing the audit log at once, one killed with SIGKILL mid-burst',
  () => {
    it('keep an event for every answered call and a chain that verifies', async () => {
      pg = await startPostgres();
      const dir = tempDir('bulkhead-audit-crash-');
      const policy = refundPolicy(dir, `{ postgres: { url: ${JSON.stringify(pg.url)} } }`);
      const a = await spawnGateway(dir, policy, ORDERS_ENV, 'a.yaml').ready;
      const b = await spawnGateway(dir, policy, ORDERS_ENV, 'b.yaml').ready;
      const runA = await createRun(a.url, a.adminToken, 'agent');
      const runB = await createRun(b.url, b.adminToken, 'agent');
      let stopping = false;
      const answeredA: string[] = [];
      const answeredB: string[] = [];
      const bursts = Promise.all([
        burst(a.url, runA.token, 'a', answeredA, () => stopping),
        burst(b.url, runB.token, 'b', answeredB, () => stopping),
      ]);
      // Mid-burst: both have answered a good number of calls, and keep committing.
      await waitFor(() => answeredA.length >= 100 && answeredB.length >= 100, 60_000, 'calls under way');
      a.child.kill('SIGKILL');
      await a.exited;
      await new Promise((r) => setTimeout(r, 500));
      stopping = true;
      await bursts;

      // The dead replica's own home holds its anchor: the log must match it.
      const verified = await bulkhead([
        'audit',
        'verify',
        '--policy',
        join(dir, 'a.yaml'),
        '--home',
        join(dir, 'home-a.yaml'),
      ]);
      expect(verified.stdout + verified.stderr).not.toMatch(/mismatch|deleted|edited|broken/i);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain('anchor');
      const after = await startTestGateway(policy, { dir, env: ORDERS_ENV });
      try {
        const events = await after.gateway.store.events.list({ kind: 'tools/call', limit: 100_000 });
        const logged = new Set(events.map((e) => (e.data.arguments as { text?: string } | undefined)?.text));
        const missing = [...answeredA, ...answeredB].filter((t) => !logged.has(t));
        expect(answeredA.length).toBeGreaterThan(0);
        expect(missing).toEqual([]);
        const report = await verifyLog(after.gateway.store.events);
        expect(report.findings).toEqual([]);
        expect(after.gateway.audit.report?.ok).toBe(true);
      } finally {
        await after.close();
      }
    }, 180_000);
  },
);
