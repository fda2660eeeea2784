/**
 * Counting one vote: the rule every store applies inside its transaction, so
 * SQLite and PostgreSQL decide alike. Pure: the store reads the approval,
 * calls `tally`, and writes the result only if the row is still pending.
 *
 * - An operator counts once, whatever they send twice (a quorum of two cannot
 *   be met by one person clicking twice).
 * - One denial decides: an irreversible call needs every voter's consent.
 * - An approval names the arguments the approver saw (`seenHash`); if what would run changed
 *   since, the vote is refused rather than counted for arguments nobody looked at.
 * - Edited arguments may only come with the first approving vote. Otherwise
 *   the last approver of a quorum could swap in arguments the earlier
 *   approvers never saw, and the quorum would be one person.
 */
import { type Approval, type ApprovalState, runHash, type Vote, type VoteRefusal } from './approval.js';

export type Tally =
  | { ok: false; code: VoteRefusal }
  | {
      ok: true;
      state: ApprovalState;
      votes: Vote[];
      decidedAt: number | null;
      editedArguments: Record<string, unknown> | null;
      reason: string | null;
    };

export function tally(
  current: Approval | undefined,
  vote: Vote,
  edited: Record<string, unknown> | undefined,
  now: number,
): Tally {
  if (!current) return { ok: false, code: 'not_found' };
  if (current.state !== 'pending') return { ok: false, code: 'not_pending' };
  if (current.expiresAt <= now) return { ok: false, code: 'expired' };
  if (current.votes.some((v) => v.operator === vote.operator)) return { ok: false, code: 'already_voted' };
  if (vote.decision === 'approve' && vote.seenHash !== undefined && vote.seenHash !== runHash(current))
    return { ok: false, code: 'arguments_changed' };
  if (edited && (vote.decision !== 'approve' || current.votes.length > 0))
    return { ok: false, code: 'edit_after_votes' };
  const votes = [...current.votes, vote];
  const approving = votes.filter((v) => v.decision === 'approve').length;
  const state: ApprovalState =
    vote.decision === 'deny' ? 'denied' : approving >= current.quorum ? 'approved' : 'pending';
  return {
    ok: true,
    state,
    votes,
    decidedAt: state === 'pending' ? null : now,
    editedArguments: edited ?? current.editedArguments,
    reason: vote.reason ?? current.reason,
  };
}
