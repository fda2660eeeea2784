/**
 * Approvals under faults (issue 16): an operator approving while another
 * process holds the SQLite write lock; two operators approving the same
 * approval at once on two replicas of one PostgreSQL; a replica whose clock
 * is an hour off. Nothing may run twice, no decision may be lost silently,
 * and times that replicas compare (approval deadlines, leases) must come
 * from the store's clock, not each replica's own.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { connectAgent, denialCode, ROOT, recorded, tempDir } from '../helpers/harness.js';
import { postgresAvailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import {
  api,
  createRun,
  type GatewayProcess,
  killAll,
  ORDERS_ENV,
  ordersUpstream,
  spawnGateway,
  waitFor,
} from './processes.js';

let pg: TestPostgres | undefined;
afterAll(() => {
  killAll();
  pg?.stop();
});

const ENV = { ...ORDERS_ENV, BOB: 'bho_bob-fault-token-0002' };

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
      approval: { when: [{ arg: text, matches: '^refund' }], approvers: [approver], timeout: 10m }
operators:
  alice: { token: { secret: ALICE }, roles: [approver] }
  bob: { token: { secret: BOB }, roles: [approver] }
profiles:
  agent:
    tools: [orders__slow_echo]
`;
}

interface PendingView {
  id: string;
  run_hash: string;
  state: string;
}

async function pendingOn(gw: GatewayProcess): Promise<PendingView> {
  return waitFor(async () => {
    const { body } = await api<{ approvals: PendingView[] }>(
      gw.url,
      ENV.ALICE,
      '/api/approvals?state=pending',
    );
    return body.approvals[0];
  }, 30_000);
}

const refunds = (dir: string) =>
  recorded(join(dir, 'received.jsonl')).filter(
    (r) => (r.arguments as { text?: string }).text?.startsWith('refund') === true,
  );

/** A real second process that takes the SQLite write lock of `file` and keeps it `ms`. */
async function holdLock(file: string, ms: number): Promise<{ released: Promise<void>; kill(): void }> {
  const holder = spawn(
    process.execPath,
    [
      '-e',
      `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(file)});
       db.exec('BEGIN IMMEDIATE'); db.prepare("INSERT INTO replicas VALUES ('holder', 'x', 1, 0, 0)").run();
       console.log('locked'); setTimeout(() => { db.exec('ROLLBACK'); process.exit(0); }, ${ms});`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  holder.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const released = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
  await waitFor(() => out.includes('locked'), 10_000, 'lock taken');
  return { released, kill: () => holder.kill('SIGKILL') };
}

async function callUntilDone(agent: Client, args: { ms: number; text: string }): Promise<unknown> {
  return agent.callTool({ name: 'orders__slow_echo', arguments: args }, undefined, { timeout: 120_000 });
}

describe('an operator approving while another process holds the SQLite write lock', () => {
  it('is answered store_unavailable within seconds; the call waits on, runs once when approved again', async () => {
    const dir = tempDir('bulkhead-approve-lock-');
    const gw = await spawnGateway(dir, policy(dir, '{ sqlite: ./bulkhead.db }'), ENV).ready;
    const { token } = await createRun(gw.url, gw.adminToken, 'agent');
    const agent = await connectAgent(gw.url, token);
    const args = { ms: 10, text: 'refund 42' };
    const call = callUntilDone(agent, args);
    const pending = await pendingOn(gw);

    const lock = await holdLock(join(dir, 'bulkhead.db'), 6_000);
    const started = Date.now();
    const refused = await api<{ error?: { code?: string } }>(
      gw.url,
      ENV.ALICE,
      `/api/approvals/${pending.id}/approve`,
      { method: 'POST', body: { args_hash: pending.run_hash } },
    );
    const took = Date.now() - started;
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toContain('store_unavailable');
    expect(took).toBeLessThan(5_000);
    await lock.released;

    // The refusal was not a silent loss: the approval is still pending, with no decision recorded.
    const { body: view } = await api<{ approval: PendingView }>(
      gw.url,
      ENV.ALICE,
      `/api/approvals/${pending.id}`,
    );
    expect(view.approval.state).toBe('pending');
    expect(refunds(dir)).toHaveLength(0);

    // The held call outlived the lock (a store stall is not the approver's answer) and runs once.
    const approved = await api(gw.url, ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
      method: 'POST',
      body: { args_hash: pending.run_hash },
    });
    expect(approved.status).toBe(200);
    const result = await call;
    expect(denialCode(result)).toBeUndefined();
    expect(refunds(dir)).toHaveLength(1);
    const events = await api<{ events: { kind: string; code?: string; data: { approvalId?: string } }[] }>(
      gw.url,
      gw.adminToken,
      `/api/events?kind=approval.decided`,
    );
    expect(events.body.events.filter((e) => e.data.approvalId === pending.id).map((e) => e.code)).toEqual([
      'approved',
    ]);
    await agent.close();
  }, 120_000);
});

describe.runIf(postgresAvailable() || process.env.CI === 'true')(
  'approvals across replicas on PostgreSQL',
  { timeout: 240_000 },
  () => {
    it('two operators approving at once on two replicas: one decides, the other is told, the call runs once', async () => {
      pg ??= await startPostgres();
      const dir = tempDir('bulkhead-approve-race-');
      const yaml = policy(dir, `{ postgres: { url: ${JSON.stringify(pg.url)} } }`);
      const a = await spawnGateway(dir, yaml, ENV, 'a.yaml').ready;
      const b = await spawnGateway(dir, yaml, ENV, 'b.yaml').ready;
      for (let round = 0; round < 5; round++) {
        const { token } = await createRun(a.url, a.adminToken, 'agent');
        const agent = await connectAgent(a.url, token);
        const before = refunds(dir).length;
        const call = callUntilDone(agent, { ms: 10, text: `refund race ${round}` });
        const pending = await pendingOn(a);
        const [fromA, fromB] = await Promise.all([
          api(a.url, ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
            method: 'POST',
            body: { args_hash: pending.run_hash },
          }),
          api(b.url, ENV.BOB, `/api/approvals/${pending.id}/approve`, {
            method: 'POST',
            body: { args_hash: pending.run_hash },
          }),
        ]);
        expect([fromA.status, fromB.status].sort()).toEqual([200, 409]);
        const loser = fromA.status === 409 ? fromA : fromB;
        expect(JSON.stringify(loser.body)).toContain('already been decided');
        expect(denialCode(await call)).toBeUndefined();
        expect(refunds(dir).length - before).toBe(1);
        const { body } = await api<{ approval: { state: string; votes: unknown[] } }>(
          b.url,
          ENV.BOB,
          `/api/approvals/${pending.id}`,
        );
        expect(body.approval.state).toBe('executed');
        expect(body.approval.votes).toHaveLength(1);
        await agent.close();
      }
    });

    it('a replica whose clock is an hour off decides by the store clock: deadlines and leases hold', async () => {
      pg ??= await startPostgres();
      const dir = tempDir('bulkhead-approve-skew-');
      // The skew is the process's whole idea of the time (Date.now and new Date()), as a bad NTP would make it.
      const skew = join(dir, 'skew.cjs');
      writeFileSync(
        skew,
        `const Real = Date; const off = Number(process.env.FAULT_CLOCK_SKEW_MS);
         class Skewed extends Real { constructor(...a) { if (a.length === 0) super(Real.now() + off); else super(...a); }
           static now() { return Real.now() + off; } }
         globalThis.Date = Skewed;`,
      );
      const yaml = policy(dir, `{ postgres: { url: ${JSON.stringify(pg.url)} } }`);
      const skewed = (ms: number) => ({
        ...ENV,
        FAULT_CLOCK_SKEW_MS: String(ms),
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${skew}`.trim(),
      });
      const a = await spawnGateway(dir, yaml, ENV, 'a.yaml').ready;
      const ahead = await spawnGateway(dir, yaml, skewed(3_600_000), 'ahead.yaml').ready;
      const { token } = await createRun(a.url, a.adminToken, 'agent');
      const agent = await connectAgent(a.url, token);
      const call = callUntilDone(agent, { ms: 60_000, text: 'refund skew' });
      const pending = await pendingOn(a);

      // An approval A made with a 10 minute deadline is not "expired" to a replica an hour ahead.
      const approved = await api(ahead.url, ENV.ALICE, `/api/approvals/${pending.id}/approve`, {
        method: 'POST',
        body: { args_hash: pending.run_hash },
      });
      expect(approved.status).toBe(200);
      await waitFor(() => refunds(dir).length === 1, 30_000, 'the approved call reached the upstream');

      // A replica an hour ahead does not take A's live lease for a lapsed one.
      await new Promise((r) => setTimeout(r, 4_000));
      const { body: mid } = await api<{ approval: { state: string } }>(
        a.url,
        ENV.ALICE,
        `/api/approvals/${pending.id}`,
      );
      expect(mid.approval.state).toBe('executing');

      // A replica an hour behind still sees a killed A's lease lapse within seconds.
      const behind = await spawnGateway(dir, yaml, skewed(-3_600_000), 'behind.yaml').ready;
      ahead.child.kill('SIGKILL');
      a.child.kill('SIGKILL');
      await Promise.all([a.exited, ahead.exited]);
      await agent.close().catch(() => undefined);
      await call.catch(() => undefined);
      const killedAt = Date.now();
      await waitFor(
        async () => {
          const { body } = await api<{ approval: { state: string } }>(
            behind.url,
            ENV.ALICE,
            `/api/approvals/${pending.id}`,
          );
          return body.approval.state === 'outcome_unknown';
        },
        20_000,
        'the killed replica reconciled by the one behind',
      );
      expect(Date.now() - killedAt).toBeLessThan(15_000);
      expect(refunds(dir)).toHaveLength(1);
    });
  },
);
