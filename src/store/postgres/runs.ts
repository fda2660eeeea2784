import type { Pool } from 'pg';
import {
  type DataRead,
  NOTHING_READ,
  type Run,
  type RunState,
  type ValueFingerprint,
} from '../../runs/run.js';
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
  {
    // Data classes (issue 13): which private/secret sources a run read, and fingerprints
    // (never values) of what it received from them.
    id: 'runs/data-classes-1',
    sql: `
      ALTER TABLE runs ADD COLUMN data_read JSONB NOT NULL DEFAULT '{}';
      CREATE TABLE run_fingerprints (
        run_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        PRIMARY KEY (run_id, fingerprint)
      );`,
  },
  {
    // The launcher holding the run's jail, so a run whose launcher died unreported is killed.
    id: 'runs/launcher-1',
    sql: 'ALTER TABLE runs ADD COLUMN launcher TEXT',
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
  launcher: string | null;
  taint_untrusted: boolean;
  taint_sources: string[];
  data_read: Partial<DataRead>;
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
    launcher: row.launcher,
    taint: { untrusted: row.taint_untrusted, sources: row.taint_sources },
    read: { ...NOTHING_READ, ...row.data_read },
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
        `INSERT INTO runs (id, profile, token_hash, created_at, expires_at, label, launcher)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [
          run.id,
          run.profile,
          run.tokenHash,
          run.createdAt,
          run.expiresAt,
          run.label ?? null,
          run.launcher ?? null,
        ],
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
    // One statement: concurrent reads on two replicas each append their source once.
    markRead: (id, dataClass, source) =>
      one(
        `UPDATE runs SET data_read = jsonb_set(data_read, ARRAY[$2::text],
           CASE WHEN COALESCE(data_read -> $2::text, '[]'::jsonb) ? $3 THEN data_read -> $2::text
                ELSE COALESCE(data_read -> $2::text, '[]'::jsonb) || to_jsonb($3::text) END)
         WHERE id = $1 RETURNING *`,
        [id, dataClass, source],
      ),
    async addFingerprints(id, values, cap) {
      if (values.length === 0) return;
      // The cap is approximate across replicas (two inserts may each see room): it bounds growth, not a budget.
      await pool.query(
        `INSERT INTO run_fingerprints (run_id, fingerprint, source, kind)
         SELECT $1, v.fingerprint, v.source, v.kind
         FROM jsonb_to_recordset($2::jsonb) AS v(fingerprint text, source text, kind text)
         LIMIT GREATEST(0, $3 - (SELECT COUNT(*) FROM run_fingerprints WHERE run_id = $1))
         ON CONFLICT DO NOTHING`,
        [id, JSON.stringify(values), cap],
      );
    },
    async fingerprints(id) {
      const { rows } = await pool.query<ValueFingerprint>(
        'SELECT fingerprint, source, kind FROM run_fingerprints WHERE run_id = $1',
        [id],
      );
      return rows;
    },
  };
}
