import type Database from 'better-sqlite3';
import type { Approval, ApprovalState, ApprovalStore, NewApproval, Vote } from '../../approvals/approval.js';
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
    state: row.state,
    why: row.why,
    quorum: row.quorum,
    approvers: JSON.parse(row.approvers) as string[],
    votes: JSON.parse(row.votes) as Vote[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
    reason: row.reason,
  };
}

export function sqliteApprovals(db: Database.Database): ApprovalStore {
  const byId = db.prepare('SELECT * FROM approvals WHERE id = ?');
  const get = (id: string) => {
    const row = byId.get(id) as Row | undefined;
    return row && toApproval(row);
  };
  const vote = db.transaction(
    (id: string, v: Vote, edited: Record<string, unknown> | undefined, now: number) => {
      const current = get(id);
      if (!current) return { ok: false as const, code: 'not_found' as const };
      if (current.state !== 'pending') return { ok: false as const, code: 'not_pending' as const };
      if (current.expiresAt <= now) return { ok: false as const, code: 'expired' as const };
      // An approver counts once, whatever they send twice.
      if (current.votes.some((x) => x.operator === v.operator))
        return { ok: false as const, code: 'already_voted' as const };
      const votes = [...current.votes, v];
      const approvals = votes.filter((x) => x.decision === 'approve').length;
      const state: ApprovalState =
        v.decision === 'deny' ? 'denied' : approvals >= current.quorum ? 'approved' : 'pending';
      db.prepare(
        `UPDATE approvals SET votes = ?, state = ?, decided_at = ?, reason = COALESCE(?, reason),
         edited_arguments = COALESCE(?, edited_arguments) WHERE id = ? AND state = 'pending'`,
      ).run(
        JSON.stringify(votes),
        state,
        state === 'pending' ? null : now,
        v.reason,
        edited ? JSON.stringify(edited) : null,
        id,
      );
      return { ok: true as const, approval: get(id) as Approval };
    },
  );
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
        .prepare(`SELECT * FROM approvals ${where} ORDER BY created_at DESC LIMIT ?`)
        .all(...params, filter.limit ?? 200) as Row[];
      return rows.map(toApproval);
    },
    async vote(id, v, edited, now = Date.now()) {
      return vote.immediate(id, v, edited?.arguments, now);
    },
    async transition(id, from, to, where = {}) {
      const row = db
        .prepare(
          `UPDATE approvals SET state = ?
           WHERE id = ? AND state IN (${from.map(() => '?').join(',')})
             AND (? IS NULL OR run_id = ?) AND (? IS NULL OR tool = ?) AND (? IS NULL OR args_hash = ?)
           RETURNING *`,
        )
        .get(
          to,
          id,
          ...from,
          where.runId ?? null,
          where.runId ?? null,
          where.tool ?? null,
          where.tool ?? null,
          where.argsHash ?? null,
          where.argsHash ?? null,
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
    async recoverExecuting() {
      const rows = db
        .prepare("UPDATE approvals SET state = 'outcome_unknown' WHERE state = 'executing' RETURNING *")
        .all() as Row[];
      return rows.map(toApproval);
    },
  };
}
