import { describe, expect, it } from 'vitest';
import type { Approval, Vote } from './approval.js';
import { tally } from './tally.js';

const base: Approval = {
  id: 'apr_1',
  runId: 'run_1',
  tool: 'orders__refund_order',
  toolClass: 'irreversible',
  arguments: { amount: 5 },
  argsHash: 'h',
  editedArguments: null,
  state: 'pending',
  why: 'test',
  quorum: 2,
  approvers: ['approver'],
  votes: [],
  createdAt: 0,
  expiresAt: 1_000,
  decidedAt: null,
  reason: null,
};
const vote = (operator: string, decision: Vote['decision'] = 'approve'): Vote => ({
  operator,
  decision,
  reason: null,
  at: 10,
});

describe('tally', () => {
  it('stays pending until a quorum of distinct approvers is reached', () => {
    const first = tally(base, vote('alice'), undefined, 10);
    expect(first).toMatchObject({ ok: true, state: 'pending', decidedAt: null });
    const after = { ...base, votes: first.ok ? first.votes : [] };
    expect(tally(after, vote('bob'), undefined, 20)).toMatchObject({
      ok: true,
      state: 'approved',
      decidedAt: 20,
    });
  });

  it('counts the same operator once', () => {
    expect(tally({ ...base, votes: [vote('alice')] }, vote('alice'), undefined, 10)).toEqual({
      ok: false,
      code: 'already_voted',
    });
  });

  it('lets one denial decide, even after approving votes', () => {
    expect(tally({ ...base, votes: [vote('alice')] }, vote('bob', 'deny'), undefined, 10)).toMatchObject({
      ok: true,
      state: 'denied',
    });
  });

  it('refuses an edit after another approver voted, so a quorum cannot be bypassed by swapping arguments', () => {
    expect(tally({ ...base, votes: [vote('alice')] }, vote('bob'), { amount: 9_999 }, 10)).toEqual({
      ok: false,
      code: 'edit_after_votes',
    });
  });

  it('keeps the first approver edit for the later approvers to approve', () => {
    const first = tally(base, vote('alice'), { amount: 3 }, 10);
    expect(first).toMatchObject({ ok: true, editedArguments: { amount: 3 } });
    const after = { ...base, votes: first.ok ? first.votes : [], editedArguments: { amount: 3 } };
    expect(tally(after, vote('bob'), undefined, 20)).toMatchObject({
      state: 'approved',
      editedArguments: { amount: 3 },
    });
  });

  it('refuses a vote after the deadline, on a decided approval, or on none', () => {
    expect(tally(base, vote('alice'), undefined, 1_000)).toEqual({ ok: false, code: 'expired' });
    expect(tally({ ...base, state: 'denied', decidedAt: 5 }, vote('alice'), undefined, 10)).toEqual({
      ok: false,
      code: 'not_pending',
    });
    expect(tally(undefined, vote('alice'), undefined, 10)).toEqual({ ok: false, code: 'not_found' });
  });
});
