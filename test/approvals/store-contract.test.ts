/**
 * The approval store contract, against the SQLite file store and a real
 * PostgreSQL server: every check-and-set is one transaction or one
 * conditional UPDATE, so racing writers — two gateways, two approvers — get
 * exactly one winner on either store.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewApproval, Vote } from '../../src/approvals/approval.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import { openSqliteStore } from '../../src/store/sqlite/index.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/harness.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(() => pg?.stop());

let seq = 0;
function fresh(over: Partial<NewApproval> = {}): NewApproval {
  seq++;
  const id = `apr_c${seq}_${Math.random().toString(36).slice(2)}`;
  return {
    id,
    runId: `run_${id}`,
    tool: 'orders__refund_order',
    toolClass: 'irreversible',
    arguments: { amount: 1 },
    argsHash: 'hash_a',
    why: 'test',
    quorum: 1,
    approvers: ['approver'],
    createdAt: Date.now(),
    expiresAt: Date.now() + 60_000,
    ...over,
  };
}
const vote = (operator: string, decision: Vote['decision'] = 'approve'): Vote => ({
  operator,
  decision,
  reason: `${operator} says ${decision}`,
  at: Date.now(),
});

const kinds: [string, (dir: string) => Promise<Store>, (dir: string) => Promise<Store>][] = [
  [
    'sqlite',
    async (dir) => openSqliteStore(join(dir, 'store.db')),
    async (dir) => openSqliteStore(join(dir, 'store.db')),
  ],
  ['postgres', async () => openPostgresStore(pg.url), async () => openPostgresStore(pg.url)],
];

for (const [name, openOne, openTwo] of kinds) {
  describe(`${name} approval store`, () => {
    let one: Store;
    let two: Store;
    beforeAll(async () => {
      const dir = tempDir();
      one = await openOne(dir);
      two = await openTwo(dir);
    });
    afterAll(async () => {
      await one?.close();
      await two?.close();
    });

    it('round-trips an approval with its arguments, approvers and empty votes', async () => {
      const a = fresh({ arguments: { nested: { list: [1, 'x'] } } });
      await one.approvals.create(a);
      expect(await two.approvals.get(a.id)).toMatchObject({
        id: a.id,
        state: 'pending',
        arguments: { nested: { list: [1, 'x'] } },
        approvers: ['approver'],
        votes: [],
        decidedAt: null,
        editedArguments: null,
      });
    });

    it('lets one of two approvers racing through two gateways decide, and refuses the other', async () => {
      const a = fresh();
      await one.approvals.create(a);
      const outcomes = await Promise.all([
        one.approvals.vote(a.id, vote('alice')),
        two.approvals.vote(a.id, vote('bob')),
      ]);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(outcomes.find((o) => !o.ok)).toEqual({ ok: false, code: 'not_pending' });
      expect((await one.approvals.get(a.id))?.votes).toHaveLength(1);
    });

    it('counts a quorum approver once and decides on the second distinct one', async () => {
      const a = fresh({ quorum: 2 });
      await one.approvals.create(a);
      expect((await one.approvals.vote(a.id, vote('alice'))).ok).toBe(true);
      expect(await two.approvals.vote(a.id, vote('alice'))).toEqual({ ok: false, code: 'already_voted' });
      expect(await two.approvals.vote(a.id, vote('bob'))).toMatchObject({
        ok: true,
        approval: { state: 'approved', reason: 'bob says approve' },
      });
    });

    it('refuses an edit once another approver has voted', async () => {
      const a = fresh({ quorum: 2 });
      await one.approvals.create(a);
      await one.approvals.vote(a.id, vote('alice'));
      expect(await two.approvals.vote(a.id, vote('bob'), { arguments: { amount: 9 } })).toEqual({
        ok: false,
        code: 'edit_after_votes',
      });
    });

    it('keeps the first approver edit', async () => {
      const a = fresh();
      await one.approvals.create(a);
      await one.approvals.vote(a.id, vote('alice'), { arguments: { amount: 2 } });
      expect((await two.approvals.get(a.id))?.editedArguments).toEqual({ amount: 2 });
    });

    it('claims an approval once, from either gateway, and only for its run, tool and hash', async () => {
      const a = fresh();
      await one.approvals.create(a);
      await one.approvals.vote(a.id, vote('alice'));
      const bound = { runId: a.runId, tool: a.tool, argsHash: a.argsHash };
      const claims = await Promise.all([
        one.approvals.transition(a.id, ['approved'], 'executing', bound),
        two.approvals.transition(a.id, ['approved'], 'executing', bound),
      ]);
      expect(claims.filter(Boolean)).toHaveLength(1);
    });

    it('refuses a claim for another run, tool or argument hash', async () => {
      const a = fresh();
      await one.approvals.create(a);
      await one.approvals.vote(a.id, vote('alice'));
      const bound = { runId: a.runId, tool: a.tool, argsHash: a.argsHash };
      for (const where of [
        { ...bound, runId: 'run_other' },
        { ...bound, tool: 'orders__delete_customer' },
        { ...bound, argsHash: 'hash_b' },
      ])
        expect(await two.approvals.transition(a.id, ['approved'], 'executing', where)).toBeUndefined();
      expect((await one.approvals.get(a.id))?.state).toBe('approved');
    });

    it('finds a reusable approval only while approved and unclaimed', async () => {
      const a = fresh();
      await one.approvals.create(a);
      expect(await two.approvals.findReusable(a.runId, a.tool, a.argsHash, 0)).toBeUndefined();
      await one.approvals.vote(a.id, vote('alice'));
      expect((await two.approvals.findReusable(a.runId, a.tool, a.argsHash, 0))?.id).toBe(a.id);
      await one.approvals.transition(a.id, ['approved'], 'executing');
      expect(await two.approvals.findReusable(a.runId, a.tool, a.argsHash, 0)).toBeUndefined();
    });

    it('lists by state and run', async () => {
      const a = fresh();
      await one.approvals.create(a);
      expect((await two.approvals.list({ state: 'pending', runId: a.runId })).map((x) => x.id)).toEqual([
        a.id,
      ]);
      expect(await two.approvals.list({ state: 'denied', runId: a.runId })).toEqual([]);
    });

    it('marks executing approvals outcome_unknown at recovery', async () => {
      const a = fresh();
      await one.approvals.create(a);
      await one.approvals.vote(a.id, vote('alice'));
      await one.approvals.transition(a.id, ['approved'], 'executing');
      expect((await two.approvals.orphanedExecuting()).map((x) => x.id)).toContain(a.id);
      const event = {
        kind: 'approval.executed' as const,
        code: 'outcome_unknown',
        data: { approvalId: a.id },
      };
      expect(await two.events.appendMarking(event, a.id)).toBeDefined();
      expect(await one.events.appendMarking(event, a.id)).toBeUndefined();
      expect((await one.approvals.get(a.id))?.state).toBe('outcome_unknown');
    });
  });
}
