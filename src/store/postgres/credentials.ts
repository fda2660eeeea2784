import type { Pool } from 'pg';
import type { CredentialKind, CredentialStore, RunCredential } from '../../runs/credentials.js';
import type { PgMigration } from './migrate.js';

export const pgCredentialMigrations: PgMigration[] = [
  {
    id: 'credentials/1',
    sql: `
      CREATE TABLE run_credentials (
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        run_id TEXT,
        client_id TEXT,
        expires_at BIGINT NOT NULL,
        consumed_at BIGINT,
        data JSONB NOT NULL DEFAULT '{}',
        PRIMARY KEY (kind, key)
      );
      CREATE INDEX run_credentials_run ON run_credentials (run_id);
      CREATE INDEX run_credentials_expiry ON run_credentials (expires_at);`,
  },
];

interface Row {
  key: string;
  kind: CredentialKind;
  run_id: string | null;
  client_id: string | null;
  expires_at: string | number;
  data: Record<string, string>;
}

const toCredential = (row: Row | undefined): RunCredential | undefined =>
  row && {
    key: row.key,
    kind: row.kind,
    runId: row.run_id,
    clientId: row.client_id,
    expiresAt: Number(row.expires_at),
    data: row.data,
  };

export function pgCredentials(pool: Pool): CredentialStore {
  return {
    async put(c) {
      await pool.query(
        'INSERT INTO run_credentials (key, kind, run_id, client_id, expires_at, data) VALUES ($1, $2, $3, $4, $5, $6)',
        [c.key, c.kind, c.runId, c.clientId, c.expiresAt, JSON.stringify(c.data)],
      );
    },
    async find(key, kind, now) {
      const { rows } = await pool.query<Row>(
        'SELECT * FROM run_credentials WHERE kind = $1 AND key = $2 AND consumed_at IS NULL AND expires_at > $3',
        [kind, key, now],
      );
      return toCredential(rows[0]);
    },
    async take(key, kind, now) {
      // One conditional UPDATE: two replicas redeeming the same code cannot both win.
      const { rows } = await pool.query<Row>(
        `UPDATE run_credentials SET consumed_at = $3
         WHERE kind = $1 AND key = $2 AND consumed_at IS NULL AND expires_at > $3 RETURNING *`,
        [kind, key, now],
      );
      return toCredential(rows[0]);
    },
    async revokeRun(runId, now) {
      await pool.query(
        "UPDATE run_credentials SET consumed_at = $2 WHERE run_id = $1 AND consumed_at IS NULL AND kind IN ('grant', 'code', 'refresh')",
        [runId, now],
      );
    },
    async prune(before) {
      const { rowCount } = await pool.query('DELETE FROM run_credentials WHERE expires_at < $1', [before]);
      return rowCount ?? 0;
    },
  };
}
