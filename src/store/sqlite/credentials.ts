import type Database from 'better-sqlite3';
import type { CredentialKind, CredentialStore, RunCredential } from '../../runs/credentials.js';
import type { Migration } from './migrate.js';

export const credentialMigrations: Migration[] = [
  {
    id: 'credentials/1',
    sql: `
      CREATE TABLE run_credentials (
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        run_id TEXT,
        client_id TEXT,
        expires_at INTEGER NOT NULL,
        consumed_at INTEGER,
        data TEXT NOT NULL DEFAULT '{}',
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
  expires_at: number;
  data: string;
}

const toCredential = (row: Row | undefined): RunCredential | undefined =>
  row && {
    key: row.key,
    kind: row.kind,
    runId: row.run_id,
    clientId: row.client_id,
    expiresAt: row.expires_at,
    data: JSON.parse(row.data) as Record<string, string>,
  };

export function sqliteCredentials(db: Database.Database): CredentialStore {
  const insert = db.prepare(
    'INSERT INTO run_credentials (key, kind, run_id, client_id, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const select = db.prepare(
    'SELECT * FROM run_credentials WHERE kind = ? AND key = ? AND consumed_at IS NULL AND expires_at > ?',
  );
  const consume = db.prepare(
    `UPDATE run_credentials SET consumed_at = ?
     WHERE kind = ? AND key = ? AND consumed_at IS NULL AND expires_at > ? RETURNING *`,
  );
  const consumeRun = db.prepare(
    "UPDATE run_credentials SET consumed_at = ? WHERE run_id = ? AND consumed_at IS NULL AND kind IN ('grant', 'code', 'refresh')",
  );
  const prune = db.prepare('DELETE FROM run_credentials WHERE expires_at < ?');
  return {
    async put(c) {
      insert.run(c.key, c.kind, c.runId, c.clientId, c.expiresAt, JSON.stringify(c.data));
    },
    async find(key, kind, now) {
      return toCredential(select.get(kind, key, now) as Row | undefined);
    },
    async take(key, kind, now) {
      return toCredential(consume.get(now, kind, key, now) as Row | undefined);
    },
    async revokeRun(runId, now) {
      consumeRun.run(now, runId);
    },
    async prune(before) {
      return prune.run(before).changes;
    },
  };
}
