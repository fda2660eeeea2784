import type Database from 'better-sqlite3';
import type {
  Approval,
  ApprovalState,
  ApprovalStore,
  NewApproval,
  Vote,
  VoteOutcome,
} from '../../approvals/approval.js';
import { approvalStatus } from '../../approvals/approval.js';
import { tally } from '../../approvals/tally.js';
import type { Migration } from './migrate.js';

export const approvalMigrations: Migration[] = [
  {
    id: 'approvals/1',
    sql: `
      CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        tool_class TEXT NOT NULL,
        arguments TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        edited_arguments TEXT,
        state TEXT NOT NULL DEFAULT 'pending',
        why TEXT NOT NULL,
        quorum INTEGER NOT NULL,
        approvers TEXT NOT NULL,
        votes TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        decided_at INTEGER,
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

interface Row {
  id: string;
  run_id: string;
  tool: string;
  tool_class: string;
  arguments: string;
  args_hash: string;
  edited_arguments: string | null;
  state: ApprovalState;
  why: string;
  quorum: number;
  approvers: string;
  votes: string;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  reason: string | null;
}

function toApproval(row: Row): Approval {
  return {
    id: row.id,
    runId: row.run_id,
    tool: row.tool,
    toolClass: row.tool_class,
    arguments: JSON.parse(row.arguments) as Record<string, unknown>,
    argsHash: row.args_hash,
    editedArguments: row.edited_arguments
      ? (JSON.parse(row.edited_arguments) as Record<string, unknown>)
      : null,
    ...approvalStatus(row.state, row.decided_at, row.state === 'timed_out' ? row.expires_at : row.created_at),
    why: row.why,
    quorum: row.quorum,
    approvers: JSON.parse(row.approvers) as string[],
    votes: JSON.parse(row.votes) as Vote[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    reason: row.reason,
  };
}

/**
 * One vote, synchronously, as a better-sqlite3 transaction function: called inside another
 * transaction it is a savepoint of it, so the events store records the vote with its event.
 */
type VoteFn = (id: string, v: Vote, edited: Record<string, unknown> | undefined, now: number) => VoteOutcome;

export function sqliteVoter(db: Database.Database): Database.Transaction<VoteFn> {
  const byId = db.prepare('SELECT * FROM approvals WHERE id = ?');
  const get = (id: string) => {
    const row = byId.get(id) as Row | undefined;
    return row && toApproval(row);
  };
  const write = db.prepare(
    `UPDATE approvals SET votes = ?, state = ?, decided_at = ?, reason = ?, edited_arguments = ?
     WHERE id = ? AND state = 'pending'`,
  );
  // IMMEDIATE: the read and the write hold the write lock together, so two gateways on one
  // file cannot both count a vote against the same pending row.
  const vote = db.transaction(
    (id: string, v: Vote, edited: Record<string, unknown> | undefined, now: number): VoteOutcome => {
      const result = tally(get(id), v, edited, now);
      if (!result.ok) return result;
      write.run(
        JSON.stringify(result.votes),
        result.state,
        result.decidedAt,
        result.reason,
        result.editedArguments ? JSON.stringify(result.editedArguments) : null,
        id,
      );
      return { ok: true, approval: get(id) as Approval };
    },
  );
  return vote;
}

export function sqliteApprovals(db: Database.Database, replica: string): ApprovalStore {
  const byId = db.prepare('SELECT * FROM approvals WHERE id = ?');
  const get = (id: string) => {
    const row = byId.get(id) as Row | undefined;
    return row && toApproval(row);
  };
  const vote = sqliteVoter(db);
  return {
    async create(a: NewApproval) {
      db.prepare(
        `INSERT INTO approvals (id, run_id, tool, tool_class, arguments, args_hash, why, quorum, approvers, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
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
      );
      return get(a.id) as Approval;
    },
    async get(id) {
      return get(id);
    },
    async list(filter = {}) {
      const parts: string[] = [];
      const params: unknown[] = [];
      if (filter.state) {
        parts.push('state = ?');
        params.push(filter.state);
      }
      if (filter.runId) {
        parts.push('run_id = ?');
        params.push(filter.runId);
      }
      const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
      const rows = db
        .prepare(
          `SELECT * FROM approvals ${where} ORDER BY ${filter.order === 'expiring' ? 'expires_at ASC' : 'created_at DESC'} LIMIT ?`,
        )
        .all(...params, filter.limit ?? 200) as Row[];
      return rows.map(toApproval);
    },
    async vote(id, v, edited, now = Date.now()) {
      return vote.immediate(id, v, edited?.arguments, now);
    },
    async transition(id, from, to, where = {}, at = Date.now()) {
      const row = db
        .prepare(
          `UPDATE approvals SET state = ?, decided_at = COALESCE(decided_at, ?),
             owner = CASE WHEN state = 'approved' THEN ? ELSE owner END
           WHERE id = ? AND state IN (${from.map(() => '?').join(',')})
             AND (? IS NULL OR run_id = ?) AND (? IS NULL OR tool = ?) AND (? IS NULL OR args_hash = ?)
             AND (? <> 'executing' OR NOT EXISTS (
               SELECT 1 FROM runs WHERE runs.id = approvals.run_id AND runs.state IN ('killed', 'expired')))
           RETURNING *`,
        )
        .get(
          to,
          at,
          to === 'executing' ? replica : null,
          id,
          ...from,
          where.runId ?? null,
          where.runId ?? null,
          where.tool ?? null,
          where.tool ?? null,
          where.argsHash ?? null,
          where.argsHash ?? null,
          to,
        ) as Row | undefined;
      return row && toApproval(row);
    },
    async findReusable(runId, tool, argsHash, since) {
      const row = db
        .prepare(
          `SELECT * FROM approvals WHERE run_id = ? AND tool = ? AND args_hash = ? AND state = 'approved'
             AND decided_at >= ? ORDER BY decided_at DESC LIMIT 1`,
        )
        .get(runId, tool, argsHash, since) as Row | undefined;
      return row && toApproval(row);
    },
    async orphanedExecuting() {
      const rows = db
        .prepare(`SELECT * FROM approvals
           WHERE state = 'executing' AND (owner IS NULL OR owner NOT IN (SELECT id FROM replicas))`)
        .all() as Row[];
      return rows.map(toApproval);
    },
  };
}
