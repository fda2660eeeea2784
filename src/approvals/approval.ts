/**
 * An approval: a held call waiting for a human, bound to the run, the tool
 * and the SHA-256 of the exact canonical arguments. It is decided once and
 * executes at most once.
 *
 *   pending ──approve (quorum)──▶ approved ──claim──▶ executing ──▶ executed | failed
 *      │                                                   └─ crash ─▶ outcome_unknown
 *      ├──deny──▶ denied      ├──timeout──▶ timed_out      └──cancel──▶ withdrawn
 */

import { canonicalHash } from '../util/canonical.js';

export const APPROVAL_STATES = [
  'pending',
  'approved',
  'denied',
  'timed_out',
  'withdrawn',
  'executing',
  'executed',
  'failed',
  'outcome_unknown',
] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

export interface Vote {
  operator: string;
  decision: 'approve' | 'deny';
  reason: string | null;
  at: number;
  /**
   * For an approval: `runHash` of the approval as the approver saw it. The vote is refused if
   * what would run changed since (another approver's edit), so nobody approves unseen arguments.
   */
  seenHash?: string;
}

interface ApprovalFields {
  id: string;
  runId: string;
  /** Exposed tool name. */
  tool: string;
  toolClass: string;
  arguments: Record<string, unknown>;
  argsHash: string;
  /** Arguments an approver edited; they are what executes. */
  editedArguments: Record<string, unknown> | null;
  /** Why the call was held (the rule, or a flow rule's reason). */
  why: string;
  quorum: number;
  approvers: string[];
  votes: Vote[];
  createdAt: number;
  expiresAt: number;
  /** The deciding reason (a denial's reason, or the last approver's). */
  reason: string | null;
}

/** Decided once: only a pending approval has no decision time; every other state has one. */
export type ApprovalStatus =
  | { state: 'pending'; decidedAt: null }
  | { state: Exclude<ApprovalState, 'pending'>; decidedAt: number };

export type Approval = ApprovalFields & ApprovalStatus;

export type NewApproval = Omit<ApprovalFields, 'votes' | 'reason' | 'editedArguments'>;

/**
 * The status of a stored row. A decided row without a time (written before
 * decision times were kept for timeouts and withdrawals) reads as decided at
 * its deadline or creation.
 */
export function approvalStatus(
  state: ApprovalState,
  decidedAt: number | null,
  fallback: number,
): ApprovalStatus {
  return state === 'pending' ? { state, decidedAt: null } : { state, decidedAt: decidedAt ?? fallback };
}

/** SHA-256 of the canonical arguments that run if this approval is approved: the edit, else the original. */
export function runHash(a: Pick<Approval, 'argsHash' | 'editedArguments'>): string {
  return a.editedArguments ? canonicalHash(a.editedArguments) : a.argsHash;
}

/** Why a vote was not counted. */
export type VoteRefusal =
  | 'not_found'
  | 'not_pending'
  | 'already_voted'
  | 'expired'
  | 'edit_after_votes'
  /** The edit carries a value the scrubber would change, so it cannot be stored as it must run. */
  | 'edit_not_storable'
  /** The approver saw other arguments than the ones that would now run (`seenHash` differs). */
  | 'arguments_changed';

export type VoteOutcome =
  | {
      ok: true;
      approval: Approval;
      /**
       * The store already signalled other replicas in the vote's own transaction (PostgreSQL's
       * pg_notify, delivered at its commit), so the decider need not publish the signal again.
       */
      announced?: true;
    }
  | { ok: false; code: VoteRefusal };

export interface ApprovalStore {
  create(approval: NewApproval): Promise<Approval>;
  get(id: string): Promise<Approval | undefined>;
  /**
   * Newest first by default; `expiring` puts the deadline closest first, so a
   * long queue never hides the approvals about to time out.
   */
  list(filter?: {
    state?: ApprovalState;
    runId?: string;
    limit?: number;
    order?: 'newest' | 'expiring';
  }): Promise<Approval[]>;
  /**
   * Records one operator's vote; decides the approval when quorum or a denial is reached.
   * Atomic: reads, applies `tally`, and writes in one transaction.
   */
  vote(
    id: string,
    vote: Vote,
    edited?: { arguments: Record<string, unknown> } | undefined,
    now?: number,
  ): Promise<VoteOutcome>;
  /**
   * Moves an approval from one of `from` to `to`, only if it also matches
   * `where` (run, tool, hash). Returns the approval when this call moved it:
   * of two racing callers exactly one wins. A claim (to `executing`) also
   * needs its run not killed or expired, read in the same statement: a kill
   * committed before it, even by a replica that died before withdrawing the
   * run's approvals or telling anyone, leaves nothing to claim (an exhausted
   * run's held calls were within its budget and may still run).
   */
  transition(
    id: string,
    from: readonly ApprovalState[],
    to: ApprovalState,
    where?: { runId?: string; tool?: string; argsHash?: string },
    /** Decision time, kept only if the approval had none (leaving pending). */
    at?: number,
  ): Promise<Approval | undefined>;
  /** An approved, unclaimed approval for exactly this call, decided after `since`. */
  findReusable(runId: string, tool: string, argsHash: string, since: number): Promise<Approval | undefined>;
  /**
   * Executing approvals whose claiming replica holds no lease (it died, or the row predates
   * leases). Read only: each is marked `outcome_unknown` in one transaction with its event
   * (`EventStore.appendMarking`). A live replica's executions are never listed.
   */
  orphanedExecuting(): Promise<Approval[]>;
}
