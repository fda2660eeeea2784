/**
 * A vote made with the approval as its caller read it (`VoteRequest.seen`): on PostgreSQL it is
 * one statement (the vote, its audit event and the NOTIFY to other replicas: one round trip
 * instead of BEGIN, a locking read, the update, the event and COMMIT), on either store its
 * outcome is the one a vote without the read gets, however stale the read, and each writer's
 * hash chain advances exactly once per event written.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Approval, NewApproval, Vote } from '../../src/approvals/approval.js';
import type { NewEvent } from '../../src/events/event.js';
import { verifyLog } from '../../src/events/verify.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { CHANNEL } from '../../src/store/postgres/signals.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { approvalServices } from '../helpers/approvals.js';
import { tempDir } from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterAll(() => server?.stop());

let seq = 0;
function fresh(quorum: number): NewApproval {
  seq++;
  const id = `apr_v${seq}_${Math.random().toString(36).slice(2)}`;
  return {
    id,
    runId: `run_${id}`,
    tool: 'orders__refund_order',
    toolClass: 'irreversible',
    arguments: { amount: 1 },
    argsHash: 'hash_a',
    why: 'test',
    quorum,
    approvers: ['approver'],
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
  };
}
const ballot = (operator: string, decision: Vote['decision'] = 'approve'): Vote => ({
  operator,
  decision,
  reason: `${operator} says ${decision}`,
  at: Date.now(),
});
const eventFor = (a: Approval): NewEvent => ({
  kind: 'approval.decided',
  runId: a.runId,
  tool: a.tool,
  code: a.state === 'pending' ? 'vote' : a.state,
  actor: 'operator:test',
  data: { approvalId: a.id, state: a.state, votes: a.votes.length },
});
const voteAs = (store: Store, id: string, operator: string, seen?: Approval) =>
  store.events.appendVote({ id, vote: ballot(operator), now: Date.now(), seen }, eventFor);

const kinds: [string, (dir: string) => Promise<Store>][] = [
  ['sqlite', async (dir) => openSqliteStore(join(dir, 'store.db'))],
  ['postgres', async () => openPostgresStore(server.url)],
];

for (const [name, open] of kinds) {
  describe(`${name}: a vote with the approval as read`, () => {
    let one: Store;
    let two: Store;
    beforeAll(async () => {
      const dir = tempDir();
      one = await open(dir);
      two = await open(dir);
    });
    afterAll(async () => {
      await one?.close();
      await two?.close();
    });

    it('gets the outcome a vote without the read gets, however stale the read', async () => {
      const a = fresh(3);
      await one.approvals.create(a);
      const read = (await one.approvals.get(a.id)) as Approval;
      expect((await voteAs(one, a.id, 'alice', read)).outcome).toMatchObject({
        ok: true,
        approval: { state: 'pending', votes: [{ operator: 'alice' }] },
      });
      // The read predates alice's vote: it must not let her count twice.
      expect((await voteAs(one, a.id, 'alice', read)).outcome).toEqual({ ok: false, code: 'already_voted' });
      expect((await voteAs(two, a.id, 'bob', read)).outcome).toMatchObject({
        ok: true,
        approval: { state: 'pending', votes: [{ operator: 'alice' }, { operator: 'bob' }] },
      });
      const decided = await voteAs(one, a.id, 'carol', read);
      expect(decided.outcome).toMatchObject({ ok: true, approval: { state: 'approved' } });
      expect(decided.event).toMatchObject({ kind: 'approval.decided', code: 'approved' });
      // Decided once: a read from when it was pending cannot decide it again.
      expect((await voteAs(two, a.id, 'dave', read)).outcome).toEqual({ ok: false, code: 'not_pending' });
      expect((await one.approvals.get(a.id))?.votes.map((v) => v.operator)).toEqual([
        'alice',
        'bob',
        'carol',
      ]);
      expect(await one.events.count({ kind: 'approval.decided', runId: a.runId })).toBe(3);
    });

    it('counts two operators voting at once on two replicas from the same read once each', async () => {
      for (let round = 0; round < 5; round++) {
        const a = fresh(2);
        await one.approvals.create(a);
        const read = (await one.approvals.get(a.id)) as Approval;
        const [x, y] = await Promise.all([voteAs(one, a.id, 'alice', read), voteAs(two, a.id, 'bob', read)]);
        const states = [x.outcome, y.outcome].map((o) => (o.ok ? o.approval.state : o.code)).sort();
        expect(states).toEqual(['approved', 'pending']);
        const stored = await one.approvals.get(a.id);
        expect(stored?.state).toBe('approved');
        expect(stored?.votes.map((v) => v.operator).sort()).toEqual(['alice', 'bob']);
        expect(await one.events.count({ kind: 'approval.decided', runId: a.runId })).toBe(2);
      }
      // Whichever path each vote took, each writer's head moved once per event it wrote.
      await one.events.append({ kind: 'audit.checkpoint', data: {} });
      await two.events.append({ kind: 'audit.checkpoint', data: {} });
      const report = await verifyLog(one.events);
      expect(report.findings).toEqual([]);
      expect(report.ok).toBe(true);
    });
  });
}

describe('postgres: the vote is one round trip', () => {
  let store: Awaited<ReturnType<typeof openPostgresStore>>;
  let listener: pg.Client;
  const heard: string[] = [];
  beforeAll(async () => {
    store = await openPostgresStore(server.url, { listen: false });
    listener = new pg.Client({ connectionString: server.url });
    await listener.connect();
    listener.on('notification', (m) => heard.push(m.payload ?? ''));
    await listener.query(`LISTEN ${CHANNEL}`);
  });
  afterAll(async () => {
    await listener?.end();
    await store?.close();
  });

  /** The queries every pg client sends while `work` runs (the pool's, and any other). */
  async function queriesDuring<T>(work: () => Promise<T>): Promise<{ result: T; sent: string[] }> {
    const sent: string[] = [];
    const original = pg.Client.prototype.query;
    const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
      this: pg.Client,
      ...args: unknown[]
    ) {
      const first = args[0];
      sent.push(typeof first === 'string' ? first : String((first as { text?: string }).text));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original);
    try {
      return { result: await work(), sent };
    } finally {
      spy.mockRestore();
    }
  }

  const until = async (check: () => boolean) => {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('sends one statement holding the vote, its event and the NOTIFY, delivered with the decision', async () => {
    const a = fresh(1);
    await store.approvals.create(a);
    const read = (await store.approvals.get(a.id)) as Approval;
    const { result, sent } = await queriesDuring(() => voteAs(store, a.id, 'alice', read));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/UPDATE approvals[\s\S]*INSERT INTO events[\s\S]*pg_notify/);
    expect(result.outcome).toMatchObject({ ok: true, announced: true, approval: { state: 'approved' } });
    await until(() => heard.includes(`approval:${a.id}:approved`));
    expect(heard).toContain(`approval:${a.id}:approved`);
    // What the statement wrote is what the chain says it wrote.
    expect(await verifyLog(store.events)).toMatchObject({ ok: true, findings: [] });
  });

  it('votes under a lock when the read is stale, announcing nothing itself', async () => {
    const a = fresh(2);
    await store.approvals.create(a);
    const read = (await store.approvals.get(a.id)) as Approval;
    await voteAs(store, a.id, 'alice', read);
    await until(() => heard.includes(`approval:${a.id}:pending`));
    heard.length = 0;
    const { result, sent } = await queriesDuring(() => voteAs(store, a.id, 'bob', read));
    // The one statement moved nothing, then BEGIN, the locking read, the update, the event, COMMIT.
    expect(sent).toHaveLength(6);
    expect(result.outcome).toMatchObject({ ok: true, approval: { state: 'approved' } });
    expect(result.outcome.ok && result.outcome.announced).toBeFalsy();
    // The failed statement's NOTIFY was never sent (it had no row); the caller publishes instead.
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual([]);
    expect(await verifyLog(store.events)).toMatchObject({ ok: true, findings: [] });
  });

  it('decides through the approval service in that one statement, the signal sent once', async () => {
    const { service } = approvalServices(store);
    const a = fresh(1);
    await store.approvals.create(a);
    const read = (await store.approvals.get(a.id)) as Approval;
    heard.length = 0;
    const { result, sent } = await queriesDuring(() =>
      service.decide(a.id, ballot('alice'), undefined, read),
    );
    expect(result).toMatchObject({ ok: true, approval: { state: 'approved' } });
    expect(sent).toHaveLength(1);
    await until(() => heard.length > 0);
    await new Promise((r) => setTimeout(r, 200));
    // Announced by the vote's commit, not published again by the service.
    expect(heard).toEqual([`approval:${a.id}:approved`]);
  });
});
