/**
 * Replica leases, open intents and dashboard sessions on PostgreSQL. Lease
 * times are the server's clock, so replicas with skewed clocks agree on who lapsed.
 */
import type { Pool } from 'pg';
import type { Intent, IntentStore, ReplicaStore, SessionStore, StoredSession } from '../store.js';
import type { PgMigration } from './migrate.js';

const NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export const pgReplicaMigrations: PgMigration[] = [
  {
    id: 'replicas/1',
    sql: `
      CREATE TABLE replicas (
        id TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        heartbeat_at BIGINT NOT NULL
      );
      CREATE TABLE intents (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        run_id TEXT NOT NULL,
        tool TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        arguments JSONB NOT NULL,
        approval_id TEXT,
        started_at BIGINT NOT NULL
      );
      CREATE INDEX intents_owner ON intents (owner);
      CREATE INDEX intents_run ON intents (run_id, tool, args_hash);`,
  },
  {
    id: 'sessions/1',
    sql: `
      CREATE TABLE dashboard_sessions (
        hash TEXT PRIMARY KEY,
        operator TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
      );
      CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);`,
  },
];

interface ReplicaDbRow {
  id: string;
  node: string;
  pid: number;
  started_at: string;
  heartbeat_at: string;
}

interface IntentRow {
  id: string;
  owner: string;
  run_id: string;
  tool: string;
  args_hash: string;
  arguments: unknown;
  approval_id: string | null;
  started_at: string;
}

function toIntent(row: IntentRow): Intent {
  return {
    id: row.id,
    owner: row.owner,
    runId: row.run_id,
    tool: row.tool,
    argsHash: row.args_hash,
    arguments: row.arguments,
    approvalId: row.approval_id,
    startedAt: Number(row.started_at),
  };
}

export function pgReplicas(pool: Pool): ReplicaStore {
  return {
    async register(r) {
      await pool.query(
        `INSERT INTO replicas (id, node, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, ${NOW_MS}, ${NOW_MS})
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
        [r.id, r.node, r.pid],
      );
    },
    async heartbeat(id) {
      const result = await pool.query(`UPDATE replicas SET heartbeat_at = ${NOW_MS} WHERE id = $1`, [id]);
      return (result.rowCount ?? 0) > 0;
    },
    async list() {
      const [{ rows }, clock] = await Promise.all([
        pool.query<ReplicaDbRow>('SELECT * FROM replicas ORDER BY started_at'),
        pool.query<{ now: string }>(`SELECT ${NOW_MS} AS now`),
      ]);
      return {
        now: Number(clock.rows[0]?.now ?? Date.now()),
        replicas: rows.map((row) => ({
          id: row.id,
          node: row.node,
          pid: Number(row.pid),
          startedAt: Number(row.started_at),
          heartbeatAt: Number(row.heartbeat_at),
        })),
      };
    },
    async retire(id, staleBefore) {
      const result =
        staleBefore === undefined
          ? await pool.query('DELETE FROM replicas WHERE id = $1', [id])
          : await pool.query('DELETE FROM replicas WHERE id = $1 AND heartbeat_at < $2', [id, staleBefore]);
      return (result.rowCount ?? 0) > 0;
    },
  };
}

export function pgIntents(pool: Pool): IntentStore {
  return {
    async open(i) {
      // FOR SHARE: a kill committing at this moment is waited for, then seen.
      const { rowCount } = await pool.query(
        `INSERT INTO intents (id, owner, run_id, tool, args_hash, arguments, approval_id, started_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8
         WHERE COALESCE((SELECT state FROM runs WHERE id = $3 FOR SHARE), '') NOT IN ('killed', 'expired')`,
        [
          i.id,
          i.owner,
          i.runId,
          i.tool,
          i.argsHash,
          JSON.stringify(i.arguments ?? null),
          i.approvalId,
          i.startedAt,
        ],
      );
      return rowCount === 1;
    },
    async orphans(limit = 1_000) {
      // One statement, one snapshot: an owner registered after it began has no intents in it.
      const { rows } = await pool.query<IntentRow>(
        'SELECT * FROM intents WHERE owner NOT IN (SELECT id FROM replicas) ORDER BY started_at LIMIT $1',
        [limit],
      );
      return rows.map(toIntent);
    },
    async list(filter = {}) {
      const { rows } = await pool.query<IntentRow>(
        `SELECT * FROM intents WHERE ($1::text IS NULL OR run_id = $1) AND ($2::text IS NULL OR owner = $2)
         ORDER BY started_at LIMIT 1000`,
        [filter.runId ?? null, filter.owner ?? null],
      );
      return rows.map(toIntent);
    },
  };
}

interface SessionRow {
  hash: string;
  operator: string;
  csrf: string;
  created_at: string;
  last_seen: string;
  expires_at: string;
}

export function pgSessions(pool: Pool): SessionStore {
  return {
    async put(s) {
      await pool.query('DELETE FROM dashboard_sessions WHERE expires_at < $1', [Date.now()]);
      await pool.query(
        `INSERT INTO dashboard_sessions (hash, operator, csrf, created_at, last_seen, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hash) DO UPDATE SET last_seen = excluded.last_seen`,
        [s.hash, s.operator, s.csrf, s.createdAt, s.lastSeen, s.expiresAt],
      );
    },
    async get(hash): Promise<StoredSession | undefined> {
      const { rows } = await pool.query<SessionRow>('SELECT * FROM dashboard_sessions WHERE hash = $1', [
        hash,
      ]);
      const row = rows[0];
      return row
        ? {
            hash: row.hash,
            operator: row.operator,
            csrf: row.csrf,
            createdAt: Number(row.created_at),
            lastSeen: Number(row.last_seen),
            expiresAt: Number(row.expires_at),
          }
        : undefined;
    },
    async touch(hash, lastSeen) {
      await pool.query('UPDATE dashboard_sessions SET last_seen = GREATEST(last_seen, $2) WHERE hash = $1', [
        hash,
        lastSeen,
      ]);
    },
    async delete(hash) {
      await pool.query('DELETE FROM dashboard_sessions WHERE hash = $1', [hash]);
    },
  };
}
