/**
 * Reconciliation's own events survive a crash (issue 16): a replica that
 * reconciles work a dead replica left (here at start-up, after kill -9 of the
 * gateway that was executing an approved call, or streaming an LLM answer)
 * closes it and writes its `outcome_unknown` event. Killed with SIGKILL right
 * after that step (a test fault point, inert unless armed by its environment
 * variable), the next replica must find the work closed and exactly one
 * event: never the close without its event (lost for good, since nobody
 * closes it again), never the event twice. The same for retiring the dead
 * replica's lease, an operator's vote and an executed approval's settlement.
 * On SQLite and on PostgreSQL.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/fake-anthropic.js';
import { tempDir } from '../helpers/harness.js';
import { REAL_KEY } from '../helpers/llm-harness.js';
import {
  api,
  approvalState,
  approvedCall,
  createRun,
  faultStores,
  type GatewayProcess,
  killAll,
  llmStreamInFlight,
  ORDERS_ENV,
  refundPolicy,
  spawnGateway,
  waitFor,
} from './processes.js';

const STORES = faultStores();
let fake: FakeAnthropic | undefined;
// A replica a failed test left running would reconcile the next test's dead one before its B could.
afterEach(killAll);
afterAll(async () => {
  await killAll();
  await fake?.close();
  STORES.stop();
});

const ENV = { ...ORDERS_ENV, ANTHROPIC_API_KEY: REAL_KEY };

/** One crash scenario's folder and policy; `start` spawns a gateway on them, armed at `fault` if given. */
async function scenario(prefix: string, store: () => Promise<string>) {
  fake ??= await startFakeAnthropic();
  const dir = tempDir(prefix);
  const yaml = refundPolicy(dir, await store(), fake.url);
  let n = 0;
  const spawn = (fault?: string) =>
    spawnGateway(dir, yaml, fault ? { ...ENV, BULKHEAD_TEST_FAULT_POINT: fault } : ENV, `g${n++}.yaml`);
  return {
    start: (fault?: string) => spawn(fault).ready,
    /** A gateway that must die at `fault` before it serves (its start-up reconciliation reaches it). */
    async crashAt(fault: string): Promise<void> {
      const g = spawn(fault);
      g.ready.catch(() => undefined);
      expect(await g.exited).toBe('SIGKILL');
    },
  };
}

/** The codes of the `kind` events whose data field `field` is `value`, oldest last. */
async function codesOf(g: GatewayProcess, kind: string, field: string, value: string) {
  const { body } = await api<{ events: { code?: string; data: Record<string, unknown> }[] }>(
    g.url,
    g.adminToken,
    `/api/events?kind=${kind}&limit=100`,
  );
  return body.events.filter((e) => e.data[field] === value).map((e) => e.code);
}

async function kill(g: GatewayProcess): Promise<void> {
  g.child.kill('SIGKILL');
  await g.exited;
}

describe.each(STORES.cases)('reconciliation killed mid-way on $name', ({ available, store }) => {
  it.runIf(available)(
    'leaves the orphaned execution marked outcome_unknown with exactly one event',
    async () => {
      const s = await scenario('bulkhead-reconcile-crash-', store);
      const a = await s.start();
      const approval = await approvedCall(a, 'refund 7', 60_000);
      await waitFor(async () => (await approvalState(a, approval.id)) === 'executing');
      await kill(a);
      await approval.ended();

      // B reconciles A's execution at start-up and is killed right after marking it.
      await s.crashAt('approval-marked-unknown');

      const c = await s.start();
      expect(await approvalState(c, approval.id)).toBe('outcome_unknown');
      expect(await codesOf(c, 'approval.executed', 'approvalId', approval.id)).toEqual(['outcome_unknown']);
      await kill(c);
    },
    180_000,
  );

  it.runIf(available)(
    "retires a dead replica's lease with exactly one replica.lapsed event",
    async () => {
      const s = await scenario('bulkhead-retire-crash-', store);
      const a = await s.start();
      const { body: health } = await api<{ replica: { id: string } }>(a.url, a.adminToken, '/api/health');
      await kill(a);

      // B retires A at start-up (its pid is gone) and is killed right after.
      await s.crashAt('replica-retired');

      const c = await s.start();
      expect(await codesOf(c, 'replica.lapsed', 'replica', health.replica.id)).toEqual(['process_gone']);
      await kill(c);
    },
    180_000,
  );

  it.runIf(available).each([
    { what: 'a vote', fault: 'approval-voted', state: 'approved', kind: 'approval.decided' },
    { what: 'an executed call', fault: 'approval-finished', state: 'executed', kind: 'approval.executed' },
  ])(
    '$what committed just before a crash keeps its approval $state with exactly one $kind event',
    async ({ fault, state, kind }) => {
      const s = await scenario('bulkhead-approval-crash-', store);
      // Armed from the start; the point is reached only once the vote, or the execution's
      // settlement, is committed with its event.
      const a = await s.start(fault);
      const approval = await approvedCall(a, 'refund 9', 10);
      expect(await a.exited).toBe('SIGKILL');
      await approval.ended();

      const b = await s.start();
      expect(await approvalState(b, approval.id)).toBe(state);
      expect(await codesOf(b, kind, 'approvalId', approval.id)).toEqual([state]);
      await kill(b);
    },
    180_000,
  );

  it.runIf(available)(
    "settles a dead replica's LLM reservation with exactly one outcome_unknown llm.request event",
    async () => {
      const s = await scenario('bulkhead-reservation-crash-', store);
      const a = await s.start();
      const { run_id, token } = await createRun(a.url, a.adminToken, 'agent');
      (fake as FakeAnthropic).delayMs = 1_000;
      const { finished } = await llmStreamInFlight(a.url, token);
      await kill(a);
      expect(await finished).toBe('cut');

      // B settles A's reservation at start-up and is killed right after.
      await s.crashAt('reservation-settled');

      const c = await s.start();
      const { body: view } = await api<{ run: { usage: { dimension: string; used: number }[] } }>(
        c.url,
        c.adminToken,
        `/api/runs/${run_id}`,
      );
      // Settled at what it reserved (max_tokens): the real usage was lost with A.
      expect(view.run.usage.find((u) => u.dimension === 'output_tokens')?.used).toBe(100);
      const { body: events } = await api<{ events: { code?: string; actor?: string }[] }>(
        c.url,
        c.adminToken,
        `/api/events?run=${run_id}&kind=llm.request&limit=100`,
      );
      expect(events.events.map((e) => [e.code, e.actor])).toEqual([['outcome_unknown', 'system']]);
      await kill(c);
    },
    180_000,
  );
});
