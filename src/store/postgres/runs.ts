import type { Pool } from 'pg';
import type { Run, RunState } from '../../runs/run.js';
import type { NewRun, RunStore } from '../store.js';
import type { PgMigration } from './migrate.js';

export const pgRunMigrations: PgMigration[] = [
  {
    id: 'runs/1',
    sql: `
      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        profile TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'active',
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        ended_at BIGINT,
        end_reason TEXT,
        exit_code INTEGER,
        label TEXT,
        taint_untrusted BOOLEAN NOT NULL DEFAULT FALSE,
        taint_sources JSONB NOT NULL DEFAULT '[]'
      );
      CREATE INDEX runs_state ON runs (state, created_at);`,
  },
];

interface RunRow {
  id: string;
  profile: string;
  state: RunState;
  token_hash: string;
  created_at: string;
  expires_at: string;
  ended_at: string | null;
  end_reason: string | null;
  exit_code: number | null;
  label: string | null;
  taint_untrusted: boolean;
  taint_sources: string[];
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    profile: row.profile,
    state: row.state,
    tokenHash: row.token_hash,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    endReason: row.end_reason,
    exitCode: row.exit_code,
    label: row.label,
    taint: { untrusted: row.taint_untrusted, sources: row.taint_sources },
  };
}

export function pgRuns(pool: Pool): RunStore {
  const one = async (sql: string, params: unknown[]) => {
    const { rows } = await pool.query<RunRow>(sql, params);
    return rows[0] && toRun(rows[0]);
  };
  return {
    async create(run: NewRun) {
      return (await one(
        `INSERT INTO runs (id, profile, token_hash, created_at, expires_at, label)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [run.id, run.profile, run.tokenHash, run.createdAt, run.expiresAt, run.label ?? null],
      )) as Run;
    },
    get: (id) => one('SELECT * FROM runs WHERE id = $1', [id]),
    byTokenHash: (hash) => one('SELECT * FROM runs WHERE token_hash = $1', [hash]),
    async list(filter = {}) {
      const limit = filter.limit ?? 500;
      const { rows } = filter.state
        ? await pool.query<RunRow>('SELECT * FROM runs WHERE state = $1 ORDER BY created_at DESC LIMIT $2', [
            filter.state,
            limit,
          ])
        : await pool.query<RunRow>('SELECT * FROM runs ORDER BY created_at DESC LIMIT $1', [limit]);
      return rows.map(toRun);
    },
    // One conditional UPDATE: of two replicas ending the same run, exactly one gets the row back.
    end: (id, state, reason, exitCode = null) =>
      one(
        `UPDATE runs SET state = $1, end_reason = $2, exit_code = $3, ended_at = $4
         WHERE id = $5 AND state = 'active' RETURNING *`,
        [state, reason, exitCode, Date.now(), id],
      ),
    taint: (id, source) =>
      one(
        `UPDATE runs SET taint_untrusted = TRUE,
           taint_sources = CASE WHEN taint_sources ? $2 THEN taint_sources ELSE taint_sources || to_jsonb($2::text) END
         WHERE id = $1 RETURNING *`,
        [id, source],
      ),
  };
}
