/**
 * The SQLite approval store's check-and-sets: each is one transaction or one
 * conditional UPDATE, so of two racing writers exactly one wins — also when
 * they are two connections (two gateways) on one file.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewApproval, Vote } from '../../approvals/approval.js';
import { openSqliteStore, type SqliteStore } from './index.js';

const opened: SqliteStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function open(file = join(mkdtempSync(join(tmpdir(), 'bulkhead-apst-')), 'b.db')): SqliteStore {
  const store = openSqliteStore(file);
  opened.push(store);
  return store;
}

let n = 0;
function fresh(over: Partial<NewApproval> = {}): NewApproval {
  n++;
  return {
    id: `apr_t${n}`,
    runId: 'run_a',
    tool: 'orders__refund_order',
    toolClass: 'irreversible',
    arguments: { amount: 1 },
    argsHash: 'hash_a',
    why: 'test',
    quorum: 1,
    approvers: ['approver'],
    createdAt: 1_000,
    expiresAt: 100_000,
    ...over,
  };
}
const yes = (operator: string): Vote => ({ operator, decision: 'approve', reason: null, at: 2_000 });
const BOUND = { runId: 'run_a', tool: 'orders__refund_order', argsHash: 'hash_a' };

describe('sqliteApprovals', () => {
  it('claims an approved approval once: the second claim gets nothing', async () => {
    const store = open();
    const a = await store.approvals.create(fresh());
    await store.approvals.vote(a.id, yes('alice'), undefined, 2_000);
    const first = await store.approvals.transition(a.id, ['approved'], 'executing', BOUND);
    const second = await store.approvals.transition(a.id, ['approved'], 'executing', BOUND);
    expect(first?.state).toBe('executing');
    expect(second).toBeUndefined();
  });

  it('claims only for the run, tool and argument hash it was approved for', async () => {
    const store = open();
    const a = await store.approvals.create(fresh());
    await store.approvals.vote(a.id, yes('alice'), undefined, 2_000);
    for (const where of [
      { ...BOUND, runId: 'run_b' },
      { ...BOUND, tool: 'orders__delete_customer' },
      { ...BOUND, argsHash: 'hash_b' },
    ])
      expect(await store.approvals.transition(a.id, ['approved'], 'executing', where)).toBeUndefined();
    expect((await store.approvals.get(a.id))?.state).toBe('approved');
  });

  it('counts one vote per approval when two gateways on one file vote at once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bulkhead-apst-')), 'b.db');
    const one = open(file);
    const two = open(file);
    const a = await one.approvals.create(fresh({ quorum: 1 }));
    const outcomes = await Promise.all([
      one.approvals.vote(a.id, yes('alice'), undefined, 2_000),
      two.approvals.vote(a.id, yes('bob'), undefined, 2_000),
    ]);
    expect(outcomes.map((o) => o.ok).sort()).toEqual([false, true]);
    expect((await one.approvals.get(a.id))?.votes).toHaveLength(1);
  });

  it('records a quorum vote without deciding, then decides on the second distinct approver', async () => {
    const store = open();
    const a = await store.approvals.create(fresh({ quorum: 2 }));
    expect(await store.approvals.vote(a.id, yes('alice'), undefined, 2_000)).toMatchObject({
      ok: true,
      approval: { state: 'pending', decidedAt: null },
    });
    expect(await store.approvals.vote(a.id, yes('alice'), undefined, 2_001)).toEqual({
      ok: false,
      code: 'already_voted',
    });
    expect(await store.approvals.vote(a.id, yes('bob'), undefined, 2_002)).toMatchObject({
      ok: true,
      approval: { state: 'approved', decidedAt: 2_002 },
    });
  });

  it('finds a reusable approval only when approved, unclaimed and decided since the given time', async () => {
    const store = open();
    const a = await store.approvals.create(fresh());
    expect(await store.approvals.findReusable('run_a', BOUND.tool, 'hash_a', 0)).toBeUndefined();
    await store.approvals.vote(a.id, yes('alice'), undefined, 2_000);
    expect((await store.approvals.findReusable('run_a', BOUND.tool, 'hash_a', 1_999))?.id).toBe(a.id);
    expect(await store.approvals.findReusable('run_a', BOUND.tool, 'hash_a', 2_001)).toBeUndefined();
    await store.approvals.transition(a.id, ['approved'], 'executing', BOUND);
    expect(await store.approvals.findReusable('run_a', BOUND.tool, 'hash_a', 0)).toBeUndefined();
  });

  it('lists executing approvals without a lease as orphaned, marks one with its event, and nothing else', async () => {
    const store = open();
    const running = await store.approvals.create(fresh());
    const waiting = await store.approvals.create(fresh());
    await store.approvals.vote(running.id, yes('alice'), undefined, 2_000);
    await store.approvals.transition(running.id, ['approved'], 'executing', BOUND);
    expect((await store.approvals.orphanedExecuting()).map((a) => a.id)).toEqual([running.id]);
    const event = {
      kind: 'approval.executed' as const,
      code: 'outcome_unknown',
      data: { approvalId: running.id },
    };
    expect(await store.events.appendMarking(event, running.id)).toBeDefined();
    expect((await store.approvals.get(running.id))?.state).toBe('outcome_unknown');
    // Marked once: a second reconciler writes nothing.
    expect(await store.events.appendMarking(event, running.id)).toBeUndefined();
    expect(await store.events.count({ kind: 'approval.executed' })).toBe(1);
    expect((await store.approvals.get(waiting.id))?.state).toBe('pending');
  });

  it('keeps an approval and its votes across a reopen of the file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'bulkhead-apst-')), 'b.db');
    const before = openSqliteStore(file);
    const a = await before.approvals.create(fresh({ quorum: 2 }));
    await before.approvals.vote(a.id, yes('alice'), undefined, 2_000);
    await before.close();
    const after = open(file);
    expect(await after.approvals.get(a.id)).toMatchObject({
      state: 'pending',
      votes: [{ operator: 'alice' }],
    });
  });
});
