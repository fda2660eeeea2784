import type { Pool, PoolClient } from 'pg';
import {
  type Approval,
  type ApprovalState,
  type ApprovalStore,
  approvalStatus,
  type NewApproval,
  type Vote,
  type VoteOutcome,
} from '../../approvals/approval.js';
import { tally } from '../../approvals/tally.js';
import type { PgMigration } from './migrate.js';

export const pgApprovalMigrations: PgMigration[] = [
  {
    id: 'approvals/1',
    sql: `
      CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        tool_class TEXT NOT NULL,
        arguments JSONB NOT NULL,
        args_hash TEXT NOT NULL,
        edited_arguments JSONB,
        state TEXT NOT NULL DEFAULT 'pending',
        why TEXT NOT NULL,
        quorum INTEGER NOT NULL,
        approvers JSONB NOT NULL,
        votes JSONB NOT NULL DEFAULT '[]',
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        decided_at BIGINT,
        reason TEXT
      );
      CREATE INDEX approvals_state ON approvals (state, created_at);
      CREATE INDEX approvals_reuse ON approvals (run_id, tool, args_hash, state);`,
  },
  {
    // The replica that claimed an executing approval: only its death makes the outcome unknown.
    id: 'approvals/2',
    sql: 'ALTER TABLE approvals ADD COLUMN owner TEXT',
  },
];

export interface ApprovalRow {
  id: string;
  run_id: string;
  tool: string;
  tool_class: string;
  arguments: Record<string, unknown>;
  args_hash: string;
  edited_arguments: Record<string, unknown> | null;
  state: ApprovalState;
  why: string;
  quorum: number;
  approvers: string[];
  votes: Vote[];
  created_at: string;
  expires_at: string;
  decided_at: string | null;
  reason: string | null;
}

export function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    runId: row.run_id,
    tool: row.tool,
    toolClass: row.tool_class,
    arguments: row.arguments,
    argsHash: row.args_hash,
    editedArguments: row.edited_arguments,
    ...approvalStatus(
      row.state,
      row.decided_at === null ? null : Number(row.decided_at),
      Number(row.state === 'timed_out' ? row.expires_at : row.created_at),
    ),
    why: row.why,
    quorum: row.quorum,
    approvers: row.approvers,
    votes: row.votes,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    reason: row.reason,
  };
}

/**
 * One vote inside the caller's transaction on `client`: the row is locked, `tally` applied and
 * written. The events store runs it with the vote's event in the same transaction.
 */
export async function pgVoteIn(
  client: PoolClient,
  id: string,
  v: Vote,
  edited: Record<string, unknown> | undefined,
  now: number,
): Promise<VoteOutcome> {
  const { rows } = await client.query<ApprovalRow>('SELECT * FROM approvals WHERE id = $1 FOR UPDATE', [id]);
  const result = tally(rows[0] && toApproval(rows[0]), v, edited, now);
  if (!result.ok) return result;
  const updated = await client.query<ApprovalRow>(
    `UPDATE approvals SET votes = $1, state = $2, decided_at = $3, reason = $4, edited_arguments = $5::jsonb
     WHERE id = $6 AND state = 'pending' RETURNING *`,
    [
      JSON.stringify(result.votes),
      result.state,
      result.decidedAt,
      result.reason,
      result.editedArguments ? JSON.stringify(result.editedArguments) : null,
      id,
    ],
  );
  return { ok: true as const, approval: toApproval(updated.rows[0] as ApprovalRow) };
}

/**
 * A vote predicted from the approval as the caller read it (`seen`): `tally` applied to that
 * read, and the CTE `moved` writing the result only if the row is still as read (pending, the
 * same votes and edit, not expired), returning the row. Votes only grow while pending and an
 * edit only comes with the first, so a row still matching is the one the prediction was made
 * on; one that changed (a vote landed since, on this replica or another) moves nothing, and the
 * caller votes again under a lock. Undefined when the read predicts a refusal: the locked vote
 * then decides the refusal on the current row. Parameters from `$${from}`.
 */
export function pgPredictedVote(
  seen: Approval,
  v: Vote,
  edited: Record<string, unknown> | undefined,
  now: number,
  from: number,
): { approval: Approval; ctes: string; params: unknown[] } | undefined {
  const result = tally(seen, v, edited, now);
  if (!result.ok) return undefined;
  const p = (i: number) => `$${from + i}`;
  return {
    approval: {
      ...seen,
      ...approvalStatus(result.state, result.decidedAt, seen.createdAt),
      votes: result.votes,
      editedArguments: result.editedArguments,
      reason: result.reason,
    },
    ctes: `moved AS (
      UPDATE approvals SET votes = ${p(1)}::jsonb, state = ${p(2)}, decided_at = ${p(3)}::bigint,
          reason = ${p(4)}, edited_arguments = ${p(5)}::jsonb
        WHERE id = ${p(0)} AND state = 'pending' AND votes = ${p(6)}::jsonb
          AND edited_arguments IS NOT DISTINCT FROM ${p(7)}::jsonb AND expires_at > ${p(8)}::bigint
        RETURNING *)`,
    params: [
      seen.id,
      JSON.stringify(result.votes),
      result.state,
      result.decidedAt,
      result.reason,
      result.editedArguments ? JSON.stringify(result.editedArguments) : null,
      JSON.stringify(seen.votes),
      seen.editedArguments ? JSON.stringify(seen.editedArguments) : null,
      now,
    ],
  };
}

export function pgApprovals(pool: Pool, replica: string): ApprovalStore {
  const one = async (sql: string, params: unknown[]) => {
    const { rows } = await pool.query<ApprovalRow>(sql, params);
    return rows[0] && toApproval(rows[0]);
  };
  return {
    async create(a: NewApproval) {
      return (await one(
        `INSERT INTO approvals (id, run_id, tool, tool_class, arguments, args_hash, why, quorum, approvers, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [
          a.id,
          a.runId,
          a.tool,
          a.toolClass,
          JSON.stringify(a.arguments),
          a.argsHash,
          a.why,
          a.quorum,
          JSON.stringify(a.approvers),
          a.createdAt,
          a.expiresAt,
        ],
      )) as Approval;
    },
    get: (id) => one('SELECT * FROM approvals WHERE id = $1', [id]),
    async list(filter = {}) {
      const { rows } = await pool.query<ApprovalRow>(
        `SELECT * FROM approvals WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR run_id = $2)
         ORDER BY ${filter.order === 'expiring' ? 'expires_at ASC' : 'created_at DESC'} LIMIT $3`,
        [filter.state ?? null, filter.runId ?? null, filter.limit ?? 200],
      );
      return rows.map(toApproval);
    },
    async vote(id, v, edited, now = Date.now()) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const outcome = await pgVoteIn(client, id, v, edited?.arguments, now);
        await client.query(outcome.ok ? 'COMMIT' : 'ROLLBACK');
        return outcome;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    transition: (id, from, to, where = {}, at = Date.now()) =>
      one(
        `UPDATE approvals SET state = $1, decided_at = COALESCE(decided_at, $7),
             owner = CASE WHEN state = 'approved' THEN $8 ELSE owner END
           WHERE id = $2 AND state = ANY($3::text[])
           AND ($4::text IS NULL OR run_id = $4) AND ($5::text IS NULL OR tool = $5) AND ($6::text IS NULL OR args_hash = $6)
           AND ($1 <> 'executing' OR COALESCE(
             (SELECT state FROM runs WHERE runs.id = approvals.run_id FOR SHARE), '') NOT IN ('killed', 'expired'))
         RETURNING *`,
        [
          to,
          id,
          [...from],
          where.runId ?? null,
          where.tool ?? null,
          where.argsHash ?? null,
          at,
          to === 'executing' ? replica : null,
        ],
      ),
    findReusable: (runId, tool, argsHash, since) =>
      one(
        `SELECT * FROM approvals WHERE run_id = $1 AND tool = $2 AND args_hash = $3 AND state = 'approved'
           AND decided_at >= $4 ORDER BY decided_at DESC LIMIT 1`,
        [runId, tool, argsHash, since],
      ),
    async orphanedExecuting() {
      const { rows } = await pool.query<ApprovalRow>(
        `SELECT * FROM approvals
         WHERE state = 'executing' AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas))`,
      );
      return rows.map(toApproval);
    },
  };
}
